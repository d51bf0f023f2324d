/**
 * Section 4: what recording into Redis + MongoDB costs warm throughput. The same hello function
 * with the same limits, under the same wrk load, served twice:
 * - recording off: directory mode (dist/platform/main.js --functions DIR; run records only go to
 *   an in-memory ring, the same hot path otherwise);
 * - recording on: the platform in production mode (dist/platform/main.js, FP_STORE=production)
 *   against a real redis-server and FerretDB (started like the tests do), every run written to
 *   MongoDB and its sample to Redis.
 * Target: recording costs ≤ 10 % of throughput (on ÷ off ≥ 0.90).
 */
import { readFile } from 'node:fs/promises';
import type { BenchOptions } from './args.js';
import { tempDir } from './functions.js';
import { gatewayWithHello, measure, withServer, type Load, type LoadRun } from './load.js';
import { HELLO_FIXTURE, PLATFORM_MAIN, PYTHON } from './paths.js';
import { childEnv, freePort, startServer, type RunningServer } from './servers.js';

export interface RecordingResult {
  off: LoadRun;
  on: LoadRun;
  /** on ÷ off requests per second. */
  ratio: number;
  /** Invocations Redis counted for `hello` after the run (warm-up and measured run: it should equal every request made). */
  recordedInvocations: number;
}

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

/** The platform in production mode with `hello` deployed (the gateway's limits, same handler). */
async function productionPlatform(opts: BenchOptions, redisUrl: string, mongoUrl: string): Promise<RunningServer & { token: string }> {
  const setting = opts.gatewaySettings[0]!;
  const state = await tempDir('platform');
  const port = await freePort();
  const env = childEnv({
    FP_STORE: 'production', FP_REDIS_URL: redisUrl, FP_MONGO_URL: mongoUrl, FP_MONGO_DB: 'bench',
    FP_PORT: String(port), FP_STATE_DIR: state.path, FP_POOL_SIZE: String(Math.max(3, setting.maxInstances)), FP_PYTHON: PYTHON,
  });
  for (const key of Object.keys(env)) if (key.startsWith('FP_') && !['FP_STORE', 'FP_REDIS_URL', 'FP_MONGO_URL', 'FP_MONGO_DB', 'FP_PORT', 'FP_STATE_DIR', 'FP_POOL_SIZE', 'FP_PYTHON'].includes(key)) delete env[key];
  const server = await startServer({ name: 'platform (production)', command: process.execPath, args: [PLATFORM_MAIN], env, port, readyPath: '/api/v1/functions' });
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    await state.remove();
  };
  try {
    const token = /admin token: (\S+)/.exec(server.output())?.[1];
    if (token === undefined) throw new Error(`the platform printed no admin token:\n${server.output()}`);
    await api(server, token, 'POST', '/functions', { name: 'hello', limits: { maxInstances: setting.maxInstances, concurrency: setting.concurrency, maxQueue: 10_000 } });
    const main = await readFile(HELLO_FIXTURE);
    await api(server, token, 'POST', '/functions/hello/versions', { files: [{ path: 'main.py', contentBase64: main.toString('base64') }] });
    await api(server, token, 'POST', '/functions/hello/deploy', {});
    return Object.assign(server, { token });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

export async function recording(opts: BenchOptions): Promise<RecordingResult> {
  // The test helpers start and stop the real servers (and kill them if the bench is interrupted).
  const { startFerret, startRedis } = await import('../test/helpers/servers.js');
  const load: Load = { connections: opts.connections, threads: opts.threads, durationS: opts.durationS, warmupS: opts.warmupS };
  const setting = opts.gatewaySettings[0]!;
  const off = await withServer(() => gatewayWithHello(setting, opts.verbose), (s) => measure('recording off (directory mode)', s, load, 1));
  const [redis, ferret] = await Promise.all([startRedis(), startFerret()]);
  try {
    let recordedInvocations = 0;
    const on = await withServer(
      () => productionPlatform(opts, redis.url, ferret.url),
      async (s) => {
        const run = await measure('recording on (Redis+Mongo)', s, load, 1);
        const token = (s as RunningServer & { token: string }).token;
        // A sanity check that recording really happened: Redis's count after the buffers drained.
        await new Promise((r) => setTimeout(r, 1000));
        const usage = (await api(s, token, 'GET', '/functions/hello/usage?window=1h')) as { totals: { invocations: number } };
        recordedInvocations = usage.totals.invocations;
        return run;
      },
    );
    return { off, on, ratio: on.wrk.requestsPerSec / off.wrk.requestsPerSec, recordedInvocations };
  } finally {
    await Promise.all([redis.destroy(), ferret.destroy()]);
  }
}
