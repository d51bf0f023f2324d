/**
 * Section 11: what the rate limiter costs warm throughput (docs/adr/0011-tenants.md; target ≤ 3 %).
 * One platform, two functions with the same handler and the same limits, except that one has a
 * rate limit (`limits.rate`) far above what the load reaches, so every call is admitted after a
 * check of its token bucket and none is refused. Measured side by side on the same server, the
 * runs interleaved (off, on, off, on …) so drift of a shared machine hits both alike:
 * - embedded: the platform with its SQLite store; the bucket is in the process (MemoryLimiter);
 * - production: the platform against a real redis-server and FerretDB (started like the tests
 *   do); the bucket is in Redis, taken in leases of up to 64 calls (docs/adr/0022-limiter-leases.md).
 * The figure is on ÷ off requests per second (each side's mean over its runs); the median of the
 * rounds' on ÷ off is printed next to it.
 */
import { readFile } from 'node:fs/promises';
import type { BenchOptions } from './args.js';
import { tempDir } from './functions.js';
import { HELLO_FIXTURE, PLATFORM_MAIN, PYTHON } from './paths.js';
import { childEnv, freePort, httpGet, startServer, type RunningServer } from './servers.js';
import { median } from './stats.js';
import { runWrk, wrkProblems, type WrkResult } from './wrk.js';

export type LimiterMode = 'embedded' | 'production';

export interface LimiterRun {
  function: 'off' | 'on';
  round: number;
  wrk: WrkResult;
  problems: string[];
}

export interface LimiterModeResult {
  mode: LimiterMode;
  runs: LimiterRun[];
  /** Mean requests per second of the counted runs of each side. */
  offRps: number;
  onRps: number;
  /** on ÷ off. */
  ratio: number;
  /** The median of each round's on ÷ off (rounds with both sides counted): robust to a run hit by a neighbour's load. */
  medianRoundRatio: number;
}

export interface LimiterResult {
  /** The rate limit of the limited function: far above the load, so nothing is refused. */
  rate: string;
  modes: LimiterModeResult[];
  failures: { mode: LimiterMode; message: string }[];
}

const RATE = '1000000/s';
const FUNCTIONS = { off: 'hello', on: 'hello-limited' } as const;

async function api(server: RunningServer, token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const answer = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The platform (embedded, or production against `urls`) with both functions deployed. */
async function platform(opts: BenchOptions, urls: { redis: string; mongo: string } | null): Promise<RunningServer> {
  const setting = opts.gatewaySettings[0]!;
  const state = await tempDir('platform');
  const port = await freePort();
  const ours: Record<string, string> = {
    FP_PORT: String(port), FP_STATE_DIR: state.path, FP_POOL_SIZE: String(Math.max(3, setting.maxInstances * 2)), FP_PYTHON: PYTHON,
    ...(urls !== null ? { FP_STORE: 'production', FP_REDIS_URL: urls.redis, FP_MONGO_URL: urls.mongo, FP_MONGO_DB: 'bench-limiter' } : {}),
  };
  const env = childEnv(ours);
  // The bench's environment may carry FP_* settings of its own; only ours count.
  for (const key of Object.keys(env)) if (key.startsWith('FP_') && !(key in ours)) delete env[key];
  const server = await startServer({ name: `platform (${urls === null ? 'embedded' : 'production'})`, command: process.execPath, args: [PLATFORM_MAIN], env, port, readyPath: '/api/v1/functions' });
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    await state.remove();
  };
  try {
    const token = /admin token: (\S+)/.exec(server.output())?.[1];
    if (token === undefined) throw new Error(`the platform printed no admin token:\n${server.output()}`);
    const main = (await readFile(HELLO_FIXTURE)).toString('base64');
    const limits = { maxInstances: setting.maxInstances, concurrency: setting.concurrency, maxQueue: 10_000 };
    for (const [side, name] of Object.entries(FUNCTIONS)) {
      await api(server, token, 'POST', '/functions', { name, limits: side === 'on' ? { ...limits, rate: RATE } : limits });
      await api(server, token, 'POST', `/functions/${name}/versions`, { files: [{ path: 'main.py', contentBase64: main }] });
      await api(server, token, 'POST', `/functions/${name}/deploy`, {});
      const reply = await httpGet(port, `/fn/${name}/`, 30_000);
      if (reply.status !== 200) throw new Error(`GET /fn/${name}/ answered ${reply.status} ${reply.body}`);
    }
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function measureMode(opts: BenchOptions, mode: LimiterMode, urls: { redis: string; mongo: string } | null, rounds: number): Promise<LimiterModeResult> {
  const server = await platform(opts, urls);
  try {
    const url = (side: 'off' | 'on'): string => `http://127.0.0.1:${server.port}/fn/${FUNCTIONS[side]}/`;
    const load = { connections: opts.connections, threads: opts.threads };
    // Both warmed (instances started, JIT settled) before anything is measured.
    for (const side of ['off', 'on'] as const) await runWrk({ url: url(side), ...load, durationS: opts.warmupS });
    const runs: LimiterRun[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const side of round % 2 === 1 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const wrk = await runWrk({ url: url(side), ...load, durationS: opts.durationS });
        const problems = wrkProblems(wrk);
        runs.push({ function: side, round, wrk, problems });
        console.error(`  ${mode.padEnd(10)} limiter ${side.padEnd(3)} round ${round}  ${wrk.requestsPerSec.toFixed(0).padStart(8)} req/s${problems.length ? `  [does not count: ${problems.join('; ')}]` : ''}`);
      }
    }
    const mean = (side: 'off' | 'on'): number => {
      const counted = runs.filter((r) => r.function === side && r.problems.length === 0);
      if (counted.length === 0) throw new Error(`${mode}: no run of the ${side} side counted`);
      return counted.reduce((sum, r) => sum + r.wrk.requestsPerSec, 0) / counted.length;
    };
    const offRps = mean('off');
    const onRps = mean('on');
    const roundRatios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const [off, on] = (['off', 'on'] as const).map((side) => runs.find((r) => r.round === round && r.function === side && r.problems.length === 0));
      if (off !== undefined && on !== undefined) roundRatios.push(on.wrk.requestsPerSec / off.wrk.requestsPerSec);
    }
    return { mode, runs, offRps, onRps, ratio: onRps / offRps, medianRoundRatio: median(roundRatios) };
  } finally {
    await server.stop();
  }
}

export async function limiter(opts: BenchOptions): Promise<LimiterResult> {
  // Interleaved pairs: two in a quick run, four otherwise (each side runs `rounds` times).
  const rounds = opts.quick ? 2 : 4;
  const result: LimiterResult = { rate: RATE, modes: [], failures: [] };
  if (opts.limiterModes.includes('embedded')) {
    try {
      result.modes.push(await measureMode(opts, 'embedded', null, rounds));
    } catch (err) {
      result.failures.push({ mode: 'embedded', message: (err as Error).message });
    }
  }
  if (!opts.limiterModes.includes('production')) return result;
  const { startFerret, startRedis } = await import('../test/helpers/servers.js');
  try {
    const started = await Promise.allSettled([startRedis(), startFerret()]);
    try {
      const [redis, ferret] = started.map((s) => {
        if (s.status === 'rejected') throw s.reason;
        return s.value;
      });
      result.modes.push(await measureMode(opts, 'production', { redis: redis!.url, mongo: ferret!.url }, rounds));
    } finally {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.destroy() : undefined)));
    }
  } catch (err) {
    result.failures.push({ mode: 'production', message: (err as Error).message });
  }
  if (result.modes.length === 0 && result.failures.length > 0) throw new Error(result.failures.map((f) => `${f.mode}: ${f.message}`).join('; '));
  return result;
}
