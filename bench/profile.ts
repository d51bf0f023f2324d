/**
 * CPU profile of the platform under load (issue 11, "How to know where time goes"): the embedded
 * platform with `hello` (recording on), `node --cpu-prof`, wrk for `--duration` seconds, then a
 * summary of the profile by self time (functions and files). Not a section of the bench: run by
 * hand, `node dist/bench/profile.js [seconds] [connections] [setting] [embedded|production|directory]`;
 * the .cpuprofile is kept in a temporary folder (printed) for Chrome DevTools or speedscope.
 * `production` starts a redis-server and FerretDB (as the tests do) and profiles the platform on
 * them; `directory` profiles directory mode (section 4's "recording off"). Each line gives the
 * share of all samples and the µs per request served (warm-up included), so two modes' profiles
 * can be compared line by line. Then what recording costs (bench/attribution.ts): its samples
 * during the measured run as a share of the platform's CPU per request, plus the store servers'.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attribute, recordingShare, type CpuProfile } from './attribution.js';
import { gatewayWithHello, HELLO_PATH } from './load.js';
import { platformWithHello, type StoreMode } from './platform.js';
import { processCpuUs, treeCpuUs } from './proc-cpu.js';
import { runWrk } from './wrk.js';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

const seconds = Number(process.argv[2] ?? '8');
const connections = Number(process.argv[3] ?? '64');
const [maxInstances, concurrency] = (process.argv[4] ?? '2x1').split('x').map(Number) as [number, number];
const kind = process.argv[5] ?? 'embedded';
if (!['embedded', 'production', 'directory'].includes(kind)) throw new Error(`unknown mode ${kind}: embedded, production or directory`);
const dir = await mkdtemp(join(tmpdir(), 'fp-profile-'));
const { startFerret, startRedis } = await import('../test/helpers/servers.js');
const stores = kind === 'production' ? await Promise.all([startRedis(), startFerret()]) : null;
const mode: StoreMode = stores === null ? { store: 'embedded' } : { store: 'production', redisUrl: stores[0].url, mongoUrl: stores[1].url };
const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
const setting = { maxInstances, concurrency };
const server = kind === 'directory' ? await gatewayWithHello(setting, false, nodeArgs) : await platformWithHello(mode, setting, { nodeArgs });
let rps = 0;
let requests = 0;
let measuredRequests = 0;
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const cpu = (): { node: number; tree: number; stores: number } => ({
  node: processCpuUs(server.pid), tree: treeCpuUs(server.pid), stores: (stores ?? []).reduce((sum, s) => sum + treeCpuUs(s.pid), 0),
});
let window = { from: 0, to: 0 };
let before = { node: 0, tree: 0, stores: 0 };
let after = before;
try {
  const url = `http://127.0.0.1:${server.port}${HELLO_PATH}`;
  requests += (await runWrk({ url, connections, threads: Math.min(2, connections), durationS: 2 })).requests;
  before = cpu();
  window = { from: nowUs(), to: 0 };
  const measured = await runWrk({ url, connections, threads: Math.min(2, connections), durationS: seconds });
  window.to = nowUs();
  after = cpu();
  rps = measured.requestsPerSec;
  measuredRequests = measured.requests;
  requests += measured.requests;
} finally {
  await server.stop();
  await Promise.all(stores?.map((s) => s.destroy()) ?? []);
}
const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
if (file === undefined) throw new Error(`no profile written in ${dir}`);
const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile & CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fns = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of self) {
  const f = byId.get(id)!.callFrame;
  const where = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/') || '(native)';
  const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
  const fileKey = where.startsWith('node_modules/') ? where.split('/').slice(0, 2).join('/') : where;
  files.set(fileKey, (files.get(fileKey) ?? 0) + us);
}
const top = (m: Map<string, number>, n: number): string =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / Math.max(1, requests)).toFixed(2).padStart(7)} µs/req  ${k}`).join('\n');
console.log(`${kind}: ${rps.toFixed(0)} req/s during the profile, ${requests} requests in all; ${(total / 1e6).toFixed(1)} s of samples; profile: ${join(dir, file)}`);
console.log(`by function (self time):\n${top(fns, 45)}`);
console.log(`by file (self time):\n${top(files, 20)}`);

const perReq = (us: number): number => us / Math.max(1, measuredRequests);
const attributed = attribute(profile, window.from, window.to, measuredRequests);
const node = perReq(after.node - before.node);
const tree = perReq(after.tree - before.tree);
const storesUs = perReq(after.stores - before.stores);
const share = recordingShare(attributed, node, tree, storesUs);
console.log(`recording during the measured run (${measuredRequests} requests; CPU per request: platform process ${node.toFixed(1)} µs, with its runtimes ${tree.toFixed(1)} µs` +
  `${stores === null ? '' : `, redis-server + FerretDB ${storesUs.toFixed(1)} µs`}):`);
for (const [group, us] of [...attributed.groups].sort((a, b) => b[1] - a[1])) {
  console.log(`  ${group.padEnd(24)} ${us.toFixed(2).padStart(6)} µs/req of samples (${((us / attributed.busyUs) * 100).toFixed(1)} % of the platform process's busy samples, ${attributed.busyUs.toFixed(1)} µs/req)`);
}
console.log(`  recording ≈ ${share.recordingUs.toFixed(1)} µs of ${share.totalUs.toFixed(1)} µs per request: ${(share.share * 100).toFixed(1)} % (target ≤ 10 %)`);
