/**
 * CPU profile of the platform under load (issue 11, "How to know where time goes"): the embedded
 * platform with `hello` (recording on), `node --cpu-prof`, wrk for `--duration` seconds, then a
 * summary of the profile by self time (functions and files). Not a section of the bench: run by
 * hand, `node dist/bench/profile.js [seconds] [connections] [setting] [embedded|production]`; the
 * .cpuprofile is kept in a temporary folder (printed) for Chrome DevTools or speedscope.
 * `production` starts a redis-server and FerretDB (as the tests do) and profiles the platform on them.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELLO_PATH } from './load.js';
import { platformWithHello, type StoreMode } from './platform.js';
import { runWrk } from './wrk.js';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

const seconds = Number(process.argv[2] ?? '8');
const connections = Number(process.argv[3] ?? '64');
const [maxInstances, concurrency] = (process.argv[4] ?? '2x1').split('x').map(Number) as [number, number];
const production = process.argv[5] === 'production';
const dir = await mkdtemp(join(tmpdir(), 'fp-profile-'));
const { startFerret, startRedis } = await import('../test/helpers/servers.js');
const stores = production ? await Promise.all([startRedis(), startFerret()]) : null;
const mode: StoreMode = stores === null ? { store: 'embedded' } : { store: 'production', redisUrl: stores[0].url, mongoUrl: stores[1].url };
const server = await platformWithHello(mode, { maxInstances, concurrency }, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
let rps = 0;
try {
  const url = `http://127.0.0.1:${server.port}${HELLO_PATH}`;
  await runWrk({ url, connections, threads: Math.min(2, connections), durationS: 2 });
  rps = (await runWrk({ url, connections, threads: Math.min(2, connections), durationS: seconds })).requestsPerSec;
} finally {
  await server.stop();
  await Promise.all(stores?.map((s) => s.destroy()) ?? []);
}
const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
if (file === undefined) throw new Error(`no profile written in ${dir}`);
const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile;
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
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${k}`).join('\n');
console.log(`${rps.toFixed(0)} req/s during the profile; ${(total / 1e6).toFixed(1)} s of samples; profile: ${join(dir, file)}`);
console.log(`by function (self time):\n${top(fns, 45)}`);
console.log(`by file (self time):\n${top(files, 20)}`);
