/**
 * What the platform's garbage collector does under load (issue 11): the embedded platform with
 * `hello` (recording on) under `node --trace-gc-nvp`, wrk at 64 connections, then for the last
 * scavenges the share of the bytes allocated that was promoted to the old generation and the pause
 * per scavenge. Request objects should die young: a share above a few percent means something
 * long-lived holds them through two scavenges (a churning Map did: poolmgr/call-table.ts). Not a
 * section of the bench: run by hand, `node dist/bench/gc-promotion.js [connections] [seconds] [setting]`.
 */
import { HELLO_PATH } from './load.js';
import { platformWithHello } from './platform.js';
import { runWrk } from './wrk.js';

const connections = Number(process.argv[2] ?? '64');
const seconds = Number(process.argv[3] ?? '4');
const [maxInstances, concurrency] = (process.argv[4] ?? '2x1').split('x').map(Number) as [number, number];
const server = await platformWithHello({ store: 'embedded' }, { maxInstances, concurrency }, { nodeArgs: ['--trace-gc-nvp'] });
try {
  const url = `http://127.0.0.1:${server.port}${HELLO_PATH}`;
  await runWrk({ url, connections, threads: Math.min(2, connections), durationS: 2 });
  const measured = await runWrk({ url, connections, threads: Math.min(2, connections), durationS: seconds });
  // The last scavenges, all under load (the platform's output keeps its lines; warm-up ones come first).
  const scavenges = server.output().split('\n').filter((line) => line.includes('gc=s ')).slice(-10);
  const field = (line: string, key: string): number => Number(new RegExp(`\\b${key}=([\\d.]+)`).exec(line)?.[1] ?? NaN);
  let allocated = 0;
  let promoted = 0;
  let pauseMs = 0;
  for (const line of scavenges) {
    allocated += field(line, 'allocated');
    promoted += field(line, 'promoted');
    pauseMs += field(line, 'pause');
  }
  console.log(`${measured.requestsPerSec.toFixed(0)} req/s under --trace-gc-nvp; last ${scavenges.length} scavenges: `
    + `promoted ${(promoted / allocated * 100).toFixed(1)} % of the bytes allocated, ${(pauseMs / Math.max(1, scavenges.length)).toFixed(1)} ms a scavenge`);
} finally {
  await server.stop();
}
