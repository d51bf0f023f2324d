/**
 * Sections 1 and 2: warm throughput under load and added latency at one connection.
 * Each server runs alone: started, checked (one GET must return {"ok":true} with 200), warmed up
 * with wrk for a few seconds (not measured), measured, stopped.
 */
import type { BenchOptions, GatewaySetting } from './args.js';
import { tempDir, writeHelloFunction } from './functions.js';
import { startGateway } from './gateway.js';
import { FASTAPI_APP_DIR, LIMIT_FORWARDER, LIMIT_WORKER, PYTHON, RUNTIME_DIR, UWS_HELLO } from './paths.js';
import { platformWithHello } from './platform.js';
import { childEnv, freePort, httpGet, startServer, type RunningServer } from './servers.js';
import { runWrk, wrkProblems, type WrkResult } from './wrk.js';

export interface LoadRun {
  /** What served the requests, e.g. `gateway 4x1` or `uvicorn workers=2`. */
  label: string;
  wrk: WrkResult;
  /** Why this run does not count (non-2xx responses, socket errors); empty when it counts. */
  problems: string[];
  /** The gateway limits of this run (gateway runs only). */
  setting?: GatewaySetting;
  /** 1-based round (see --rounds). */
  round: number;
}

export const HELLO_PATH = '/fn/hello/';

export interface Load {
  connections: number;
  threads: number;
  durationS: number;
  warmupS: number;
}

async function checkHello(server: RunningServer): Promise<void> {
  const reply = await httpGet(server.port, HELLO_PATH, 30_000);
  let body: unknown;
  try {
    body = JSON.parse(reply.body);
  } catch {
    body = reply.body;
  }
  if (reply.status !== 200 || (body as { ok?: unknown } | null)?.ok !== true) {
    throw new Error(`${server.name}: GET ${HELLO_PATH} answered ${reply.status} ${reply.body}; expected 200 {"ok":true}`);
  }
}

/** Called right before and right after the measured run (not the warm-up): e.g. to read CPU times. */
export interface MeasureHooks {
  start(): void;
  end(): void;
}

export async function measure(label: string, server: RunningServer, load: Load, round: number, hooks?: MeasureHooks): Promise<LoadRun> {
  const path = HELLO_PATH;
  const url = `http://127.0.0.1:${server.port}${path}`;
  await runWrk({ url, connections: load.connections, threads: load.threads, durationS: load.warmupS });
  hooks?.start();
  const wrk = await runWrk({ url, connections: load.connections, threads: load.threads, durationS: load.durationS });
  hooks?.end();
  const problems = wrkProblems(wrk);
  const p = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
  console.error(
    `  ${label.padEnd(28)} ${wrk.requestsPerSec.toFixed(0).padStart(8)} req/s  p50 ${p(wrk.p50Us)}  p99 ${p(wrk.p99Us)}` +
      (problems.length ? `  [does not count: ${problems.join('; ')}]` : ''),
  );
  return { label, wrk, problems, round };
}

export async function withServer<T>(start: () => Promise<RunningServer>, body: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    await checkHello(server);
    return await body(server);
  } finally {
    await server.stop();
  }
}

export async function startUvicorn(workers: number): Promise<RunningServer> {
  const port = await freePort();
  return startServer({
    name: `uvicorn workers=${workers}`,
    command: PYTHON,
    args: [
      '-m', 'uvicorn', 'fastapi_app:app',
      '--app-dir', FASTAPI_APP_DIR,
      '--host', '127.0.0.1', '--port', String(port),
      '--loop', 'uvloop', '--http', 'httptools',
      '--no-access-log', '--log-level', 'warning',
      '--workers', String(workers),
    ],
    env: childEnv(),
    port,
    readyPath: HELLO_PATH,
  });
}

export async function startUwsHello(): Promise<RunningServer> {
  const port = await freePort();
  return startServer({ name: 'bare uWS', command: process.execPath, args: [UWS_HELLO, String(port)], env: childEnv(), port });
}

/** The limit: bare uWS forwarding each request to one Python worker (bench/baseline/forwarder.ts). */
export async function startLimit(): Promise<RunningServer> {
  const port = await freePort();
  return startServer({ name: 'limit', command: process.execPath, args: [LIMIT_FORWARDER, String(port), PYTHON, LIMIT_WORKER, RUNTIME_DIR], env: childEnv(), port, readyPath: HELLO_PATH });
}

/** A gateway serving only `hello` with the given limits; the directory goes when the gateway stops. */
export async function gatewayWithHello(setting: GatewaySetting, verbose: boolean, nodeArgs: string[] = []): Promise<RunningServer> {
  const dir = await tempDir('hello');
  await writeHelloFunction(dir.path, 'hello', {
    maxInstances: setting.maxInstances,
    concurrency: setting.concurrency,
    // Keep every wrk connection's request admitted: a 429 would be a fast non-answer.
    maxQueue: 10_000,
  });
  try {
    const server = await startGateway({ functionsDir: dir.path, poolSize: Math.max(3, setting.maxInstances), verbose, nodeArgs });
    const stop = server.stop;
    server.stop = async () => {
      await stop();
      await dir.remove();
    };
    return server;
  } catch (err) {
    await dir.remove();
    throw err;
  }
}

export const settingLabel = (s: GatewaySetting): string => `maxInstances ${s.maxInstances}, concurrency ${s.concurrency}`;

/** The run with the most requests per second among those that count (else the first one). */
export function best(runs: LoadRun[]): LoadRun | null {
  const counted = runs.filter((r) => r.problems.length === 0);
  const pool = counted.length > 0 ? counted : runs;
  return pool.reduce<LoadRun | null>((a, b) => (a === null || b.wrk.requestsPerSec > a.wrk.requestsPerSec ? b : a), null);
}

export interface ThroughputResult {
  /** The platform with recording on in the embedded default (SQLite), `hello` deployed through the API. */
  gateway: LoadRun[];
  uvicorn: LoadRun[];
  /** The limit: bare uWS → one Python worker, same framing (bench/baseline/forwarder.ts). */
  limit: LoadRun[];
  /** Configurations that could not be measured (start-up failure, wrong answer). */
  failures: { label: string; message: string }[];
  bestGateway: LoadRun | null;
  bestGatewaySetting: GatewaySetting | null;
  bestUvicorn: LoadRun | null;
  bestLimit: LoadRun | null;
}

export async function throughput(opts: BenchOptions): Promise<ThroughputResult> {
  const load: Load = { connections: opts.connections, threads: opts.threads, durationS: opts.durationS, warmupS: opts.warmupS };
  const uvicorn: LoadRun[] = [];
  const gateway: LoadRun[] = [];
  const limit: LoadRun[] = [];
  // Rounds interleave platform and baseline, so a burst of noise does not land on one side only.
  const failures: { label: string; message: string }[] = [];
  // One configuration that cannot start or answer does not end the section: it is recorded.
  const attempt = async (label: string, run: () => Promise<LoadRun>): Promise<LoadRun | null> => {
    try {
      return await run();
    } catch (err) {
      const message = (err as Error).message;
      console.error(`  ${label.padEnd(28)} FAILED: ${message.split('\n')[0]}`);
      failures.push({ label, message });
      return null;
    }
  };
  // Rounds interleave platform and baseline, so a burst of noise does not land on one side only.
  for (let round = 1; round <= opts.rounds; round++) {
    for (const workers of opts.uvicornWorkers) {
      const label = `uvicorn workers=${workers}`;
      const run = await attempt(label, () => withServer(() => startUvicorn(workers), (s) => measure(label, s, load, round)));
      if (run) uvicorn.push(run);
    }
    const lim = await attempt('limit', () => withServer(startLimit, (s) => measure('limit (uWS → 1 worker)', s, load, round)));
    if (lim) limit.push(lim);
    for (const setting of opts.gatewaySettings) {
      const label = `platform ${setting.maxInstances}x${setting.concurrency}`;
      const run = await attempt(label, () => withServer(() => platformWithHello({ store: 'embedded' }, setting), (s) => measure(label, s, load, round)));
      if (run) gateway.push({ ...run, setting });
    }
  }
  if (gateway.length === 0 || uvicorn.length === 0) {
    throw new Error(`no ${gateway.length === 0 ? 'gateway' : 'uvicorn'} run completed: ${failures.map((f) => `${f.label}: ${f.message}`).join(' | ')}`);
  }
  const bestGateway = best(gateway);
  return { gateway, uvicorn, limit, failures, bestGateway, bestGatewaySetting: bestGateway?.setting ?? null, bestUvicorn: best(uvicorn), bestLimit: best(limit) };
}

export interface LatencyResult {
  /** The runs with the lowest p50 of each side (one per round in `runs`). */
  gateway: LoadRun;
  bare: LoadRun;
  runs: LoadRun[];
  setting: GatewaySetting;
  /** Gateway p50 − bare uWS p50, and the same for p99, in microseconds. */
  addedP50Us: number;
  addedP99Us: number;
}

/** The run with the lowest p50 among those that count (else among all). */
export function fastest(runs: LoadRun[]): LoadRun {
  const counted = runs.filter((r) => r.problems.length === 0);
  return (counted.length > 0 ? counted : runs).reduce((a, b) => (b.wrk.p50Us < a.wrk.p50Us ? b : a));
}

/** One connection, one thread: the gateway's per-request cost on top of uWS itself. */
export async function latency(opts: BenchOptions): Promise<LatencyResult> {
  const load: Load = { connections: 1, threads: 1, durationS: opts.latencyDurationS, warmupS: opts.warmupS };
  // One connection keeps one call in flight: one instance, one slot is all the gateway needs.
  const setting: GatewaySetting = { maxInstances: 1, concurrency: 1 };
  const bares: LoadRun[] = [];
  const gateways: LoadRun[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    bares.push(await withServer(startUwsHello, (s) => measure('bare uWS (c1)', s, load, round)));
    gateways.push(await withServer(() => platformWithHello({ store: 'embedded' }, setting), (s) => measure('platform (c1)', s, load, round)));
  }
  const bare = fastest(bares);
  const gateway = fastest(gateways);
  return {
    gateway,
    bare,
    runs: [...bares, ...gateways],
    setting,
    addedP50Us: gateway.wrk.p50Us - bare.wrk.p50Us,
    addedP99Us: gateway.wrk.p99Us - bare.wrk.p99Us,
  };
}
