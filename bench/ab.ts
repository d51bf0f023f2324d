/**
 * Before and after, side by side (issue 11): the embedded platform (recording on) of two builds,
 * `hello` under the same wrk load, rounds interleaved A, B, A, B… so noise lands on both; prints
 * each run and the median of each side, and B ÷ A, for requests/s and for the CPU time the
 * platform and its runtimes spent per request (bench/proc-cpu.ts: steadier on a shared machine). Not a section of the bench: run by hand,
 *   node dist/bench/ab.js <other checkout> [rounds] [seconds] [setting] [connections] [A env] [B env] [embedded|production]
 * where the other checkout is built (its dist/platform/main.js and runtime/ are used) and "B" is
 * this one (`.` for this one on both sides); the env arguments add FP_* settings to one side,
 * `K=V,K=V` (e.g. FP_RUN_SAMPLE_ONE_IN=1; `-` for none). Copy a build aside first to compare with a change of your own.
 * `production` runs both sides in production mode against one redis-server and FerretDB (started
 * as the tests do, co-located), each platform with its own database and prefix, and adds the
 * servers' CPU to each request's.
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { HELLO_PATH } from './load.js';
import { platformWithHello, type StoreMode } from './platform.js';
import { PLATFORM_MAIN } from './paths.js';
import { descendants, processCpuUs, processSwitches, treeCpuUs } from './proc-cpu.js';
import { runWrk, wrkProblems } from './wrk.js';

const other = process.argv[2];
if (!other) {
  console.error('usage: node dist/bench/ab.js <other checkout> [rounds] [seconds] [setting] [connections]');
  process.exit(2);
}
const rounds = Number(process.argv[3] ?? '3');
const seconds = Number(process.argv[4] ?? '5');
const [maxInstances, concurrency] = (process.argv[5] ?? '2x1').split('x').map(Number) as [number, number];
const connections = Number(process.argv[6] ?? '64');
const envOf = (text: string | undefined): Record<string, string> =>
  Object.fromEntries((text ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const envs = { A: envOf(process.argv[7]), B: envOf(process.argv[8]) };
const production = process.argv[9] === 'production';
const { startFerret, startRedis } = await import('../test/helpers/servers.js');
const stores = production ? await Promise.all([startRedis(), startFerret()]) : null;
const mode: StoreMode = stores === null ? { store: 'embedded' } : { store: 'production', redisUrl: stores[0].url, mongoUrl: stores[1].url };
const storesCpuUs = (): number => (stores === null ? 0 : processCpuUs(stores[0].pid) + processCpuUs(stores[1].pid));
const sides = { A: join(resolve(other), 'dist', 'platform', 'main.js'), B: PLATFORM_MAIN };
const results: Record<'A' | 'B', number[]> = { A: [], B: [] };
const cpu: Record<'A' | 'B', number[]> = { A: [], B: [] };
/** The platform process alone (its Node), per request; and context switches per request of it and of its runtimes. */
const nodeCpu: Record<'A' | 'B', number[]> = { A: [], B: [] };
const switches: Record<'A' | 'B', { node: number[]; runtimes: number[] }> = { A: { node: [], runtimes: [] }, B: { node: [], runtimes: [] } };
/** Voluntary + involuntary switches of the platform process, and of all its descendants together. */
const switchesOf = (pid: number): { node: number; runtimes: number } => {
  const own = processSwitches(pid);
  let runtimes = 0;
  for (const child of descendants(pid)) {
    const s = processSwitches(child);
    runtimes += s.voluntary + s.involuntary;
  }
  return { node: own.voluntary + own.involuntary, runtimes };
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
try {
  for (let round = 1; round <= rounds; round++) {
    for (const side of ['A', 'B'] as const) {
      const server = await platformWithHello(mode, { maxInstances, concurrency }, { main: sides[side], env: envs[side] });
      try {
        const url = `http://127.0.0.1:${server.port}${HELLO_PATH}`;
        await runWrk({ url, connections, threads: connections > 1 ? 2 : 1, durationS: 1 });
        const before = treeCpuUs(server.pid) + storesCpuUs();
        const nodeBefore = processCpuUs(server.pid);
        const switchesBefore = switchesOf(server.pid);
        const wrk = await runWrk({ url, connections, threads: connections > 1 ? 2 : 1, durationS: seconds });
        const n = Math.max(1, wrk.requests);
        const perRequest = (treeCpuUs(server.pid) + storesCpuUs() - before) / n;
        const nodePerRequest = (processCpuUs(server.pid) - nodeBefore) / n;
        const switchesAfter = switchesOf(server.pid);
        nodeCpu[side].push(nodePerRequest);
        switches[side].node.push((switchesAfter.node - switchesBefore.node) / n);
        switches[side].runtimes.push((switchesAfter.runtimes - switchesBefore.runtimes) / n);
        const problems = wrkProblems(wrk);
        results[side].push(wrk.requestsPerSec);
        cpu[side].push(perRequest);
        console.log(`round ${round} ${side}: ${wrk.requestsPerSec.toFixed(0)} req/s  p50 ${wrk.p50Us.toFixed(0)} µs  p99 ${wrk.p99Us.toFixed(0)} µs  CPU ${perRequest.toFixed(1)} µs/request (platform + runtimes${production ? ' + Redis + FerretDB' : ''}; Node ${nodePerRequest.toFixed(1)})  switches/request Node ${switches[side].node.at(-1)!.toFixed(2)} runtimes ${switches[side].runtimes.at(-1)!.toFixed(2)}  load ${loadavg()[0]!.toFixed(1)}${problems.length ? `  [${problems.join('; ')}]` : ''}`);
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  await Promise.all(stores?.map((s) => s.destroy()) ?? []);
}
const a = median(results.A);
const b = median(results.B);
console.log(`median A ${a.toFixed(0)} req/s, B ${b.toFixed(0)} req/s: B ÷ A = ${(b / a).toFixed(3)}`);
console.log(`median CPU per request A ${median(cpu.A).toFixed(1)} µs, B ${median(cpu.B).toFixed(1)} µs: B ÷ A = ${(median(cpu.B) / median(cpu.A)).toFixed(3)}`);
console.log(`median CPU per request of the platform process alone (Node) A ${median(nodeCpu.A).toFixed(1)} µs, B ${median(nodeCpu.B).toFixed(1)} µs: B ÷ A = ${(median(nodeCpu.B) / median(nodeCpu.A)).toFixed(3)}`);
console.log(`median context switches per request (voluntary + involuntary), Node / runtimes: A ${median(switches.A.node).toFixed(2)} / ${median(switches.A.runtimes).toFixed(2)}, B ${median(switches.B.node).toFixed(2)} / ${median(switches.B.runtimes).toFixed(2)}`);
