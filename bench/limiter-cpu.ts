/**
 * The production limiter's CPU per admitted call (docs/adr/0022-limiter-leases.md), without the
 * rest of the platform: a RedisLimiter on a real redis-server admits calls of a function with a
 * high rate limit (nothing refused), and the CPU time of this process and of `redis-server` is
 * divided by the calls. Less noisy than section 11's throughput ratio on a shared machine: CPU
 * time, not wall time, and no runtimes. `--compare DIR` (another checkout, built) runs its
 * limiter in the same rounds, interleaved; `none` is the loop alone (a limiter that admits).
 *
 *   npx tsc -p . && node dist/bench/limiter-cpu.js [--calls 100000] [--rounds 5] [--compare DIR]
 *
 * Calls arrive as requests do at a server: a few per event-loop turn (`--per-turn`, default 4),
 * admitted concurrently (the old one-script-per-call limiter pipelines those of one turn).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AdmissionLimiter, Bucket } from '../controlplane/limits/index.js';
import { openRedis } from '../controlplane/store/production/redis-client.js';
import { startRedis } from '../test/helpers/servers.js';
import { percentile } from './stats.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const calls = Number(arg('calls', '100000'));
const rounds = Number(arg('rounds', '5'));
const perTurn = Number(arg('per-turn', '4'));
const compare = arg('compare', '');

type Limiter = Pick<AdmissionLimiter, 'admit' | 'close'>;
type Open = (url: string, prefix: string) => Promise<Limiter>;

/** A checkout's limiter, opened the way platform/adapters.ts opens it. */
async function limiterOf(root: string): Promise<Open> {
  const dist = (path: string): string => pathToFileURL(resolve(root, 'dist', path)).href;
  const limits = (await import(dist('controlplane/limits/index.js'))) as typeof import('../controlplane/limits/index.js');
  const client = (await import(dist('controlplane/store/production/redis-client.js'))) as typeof import('../controlplane/store/production/redis-client.js');
  return async (url, prefix) => new limits.RedisLimiter({ client: await client.openRedis(url, undefined, { ...limits.LIMITER_CLIENT_OPTIONS }), ownsClient: true, prefix });
}

const sides = new Map<string, Open>([['this', await limiterOf(resolve(import.meta.dirname, '..', '..'))]]);
if (compare !== '') sides.set(`compare (${compare})`, await limiterOf(compare));
sides.set('none', async () => ({ admit: () => ({ ok: true }), close: async () => {} }));

const redis = await startRedis();
const info = await openRedis(redis.url);
const redisPid = /process_id:(\d+)/.exec(await info.info('server'))![1]!;
info.disconnect();
/** redis-server's CPU time in µs (utime + stime of /proc/PID/stat, 100 ticks a second). */
const redisCpuUs = (): number => {
  const fields = readFileSync(`/proc/${redisPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
const bucket: Bucket = { fn: 'hot', requests: 1_000_000, periodMs: 1000, burst: 1_000_000 };

async function once(name: string, open: Open, round: number): Promise<{ nodeUs: number; redisUs: number; admitted: number }> {
  const limiter = await open(redis.url, `bench${round}${name.length}`);
  await limiter.admit('ws', bucket, null);
  const cpu = process.cpuUsage();
  const redisBefore = redisCpuUs();
  let admitted = 0;
  for (let i = 0; i < calls; i += perTurn) {
    // The calls of one turn are admitted concurrently, as a server's requests are.
    const verdicts = Array.from({ length: Math.min(perTurn, calls - i) }, () => limiter.admit('ws', bucket, null));
    for (const v of verdicts) if ((v instanceof Promise ? await v : v).ok) admitted++;
    await new Promise((r) => setImmediate(r));
  }
  const used = process.cpuUsage(cpu);
  const redisUs = redisCpuUs() - redisBefore;
  await limiter.close();
  return { nodeUs: (used.user + used.system) / calls, redisUs: redisUs / calls, admitted };
}

const results = new Map<string, { nodeUs: number[]; redisUs: number[] }>([...sides.keys()].map((k) => [k, { nodeUs: [], redisUs: [] }]));
try {
  for (let round = 1; round <= rounds; round++) {
    const order = [...sides];
    if (round % 2 === 0) order.reverse();
    for (const [name, open] of order) {
      const r = await once(name, open, round);
      if (r.admitted !== calls) throw new Error(`${name}: admitted ${r.admitted} of ${calls}`);
      results.get(name)!.nodeUs.push(r.nodeUs);
      results.get(name)!.redisUs.push(r.redisUs);
    }
  }
} finally {
  await redis.destroy();
}
console.log(`limiter CPU per admitted call (rate 1000000/s, ${calls} calls, ${perTurn} a turn; medians of ${rounds} interleaved rounds):`);
for (const [name, r] of results) {
  const node = percentile(r.nodeUs, 50);
  const server = percentile(r.redisUs, 50);
  console.log(`  ${name.padEnd(40)} limiter process ${node.toFixed(2).padStart(7)} µs   redis-server ${server.toFixed(2).padStart(6)} µs   sum ${(node + server).toFixed(2).padStart(7)} µs`);
}
