/**
 * What an idle platform costs: the CPU its process tree (gateway, pool, zygotes) and, in
 * production mode, redis-server and FerretDB spend per second with `hello` deployed and no calls,
 * measured from `/proc` over `seconds` after a 3 s settle. Not a section of the bench: run by hand,
 *   node dist/bench/idle-cpu.js [embedded|production] [seconds] [--profile]
 * `--profile` runs the platform with `node --cpu-prof` (the profiler's own sampling then adds to
 * the figure) and prints where the .cpuprofile is.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformWithHello, type StoreMode } from './platform.js';
import { treeCpuUs } from './proc-cpu.js';
import { sleep } from './servers.js';

const kind = process.argv[2] ?? 'embedded';
if (kind !== 'embedded' && kind !== 'production') throw new Error(`unknown mode ${kind}: embedded or production`);
const seconds = Number(process.argv[3] ?? '20');
const profile = process.argv.includes('--profile');
const dir = await mkdtemp(join(tmpdir(), 'fp-idle-'));
const { startFerret, startRedis } = await import('../test/helpers/servers.js');
const stores = kind === 'production' ? await Promise.all([startRedis(), startFerret()]) : null;
const mode: StoreMode = stores === null ? { store: 'embedded' } : { store: 'production', redisUrl: stores[0].url, mongoUrl: stores[1].url };
const server = await platformWithHello(mode, { maxInstances: 1, concurrency: 1 }, { nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [] });
const sample = (): { platform: number; stores: number } => ({
  platform: treeCpuUs(server.pid), stores: (stores ?? []).reduce((sum, s) => sum + treeCpuUs(s.pid), 0),
});
let before = sample();
let after = before;
try {
  await sleep(3000);
  before = sample();
  await sleep(seconds * 1000);
  after = sample();
} finally {
  await server.stop();
  await Promise.all(stores?.map((s) => s.destroy()) ?? []);
}
const perSecond = (us: number): string => (us / seconds / 1000).toFixed(1);
console.log(`${kind}, idle for ${seconds} s: the platform's processes ${perSecond(after.platform - before.platform)} ms of CPU a second` +
  `${stores === null ? '' : `, redis-server + FerretDB ${perSecond(after.stores - before.stores)} ms`}`);
if (profile) console.log(`profile: ${join(dir, (await readdir(dir)).find((f) => f.endsWith('.cpuprofile')) ?? '(none written)')}`);
