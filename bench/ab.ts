/**
 * Before and after, side by side (issue 11): the embedded platform (recording on) of two builds,
 * `hello` under the same wrk load, rounds interleaved A, B, A, B… so noise lands on both; prints
 * each run and the median of each side, and B ÷ A. Not a section of the bench: run by hand,
 *   node dist/bench/ab.js <other checkout> [rounds] [seconds] [setting] [connections]
 * where the other checkout is built (its dist/platform/main.js and runtime/ are used) and "B" is
 * this one. Copy a build aside first to compare with a change of your own.
 */
import { join, resolve } from 'node:path';
import { HELLO_PATH } from './load.js';
import { platformWithHello } from './platform.js';
import { PLATFORM_MAIN } from './paths.js';
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
const sides = { A: join(resolve(other), 'dist', 'platform', 'main.js'), B: PLATFORM_MAIN };
const results: Record<'A' | 'B', number[]> = { A: [], B: [] };
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
for (let round = 1; round <= rounds; round++) {
  for (const side of ['A', 'B'] as const) {
    const server = await platformWithHello({ store: 'embedded' }, { maxInstances, concurrency }, { main: sides[side] });
    try {
      const url = `http://127.0.0.1:${server.port}${HELLO_PATH}`;
      await runWrk({ url, connections, threads: connections > 1 ? 2 : 1, durationS: 1 });
      const wrk = await runWrk({ url, connections, threads: connections > 1 ? 2 : 1, durationS: seconds });
      const problems = wrkProblems(wrk);
      results[side].push(wrk.requestsPerSec);
      console.log(`round ${round} ${side}: ${wrk.requestsPerSec.toFixed(0)} req/s  p50 ${wrk.p50Us.toFixed(0)} µs  p99 ${wrk.p99Us.toFixed(0)} µs${problems.length ? `  [${problems.join('; ')}]` : ''}`);
    } finally {
      await server.stop();
    }
  }
}
const a = median(results.A);
const b = median(results.B);
console.log(`median A ${a.toFixed(0)} req/s, B ${b.toFixed(0)} req/s: B ÷ A = ${(b / a).toFixed(3)}`);
