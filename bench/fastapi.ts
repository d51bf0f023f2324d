/**
 * Section 6: one FastAPI app (bench/fixtures/shop/app.py: path and query parameters, pydantic
 * models, JSON both ways) served by the platform as a function and by uvicorn (uvloop, httptools),
 * side by side, under wrk's request mix (bench/fixtures/shop/mix.lua: a read, a list page, a
 * validated create, in turn):
 * - one keep-alive connection: p50 and p99 (gateway 1x1 vs uvicorn 1 worker);
 * - 64 connections: requests/s, p50 and p99 (each gateway setting vs each uvicorn worker count, the best of each).
 * - a streamed response (`GET /stream`: three chunks STREAM_GAP_MS apart): the median time to its
 *   first byte and to its end, over STREAM_SAMPLES requests, one at a time.
 * Targets (issue 10): platform p50 at 1 connection ≤ uvicorn's; throughput at 64 ≥ 2× uvicorn's.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { BenchOptions, GatewaySetting } from './args.js';
import { tempDir } from './functions.js';
import { startGateway } from './gateway.js';
import { best, fastest, type LoadRun } from './load.js';
import { PYTHON, SHOP_DIR } from './paths.js';
import { childEnv, freePort, startServer, type RunningServer } from './servers.js';
import { runWrk, wrkProblems } from './wrk.js';

const MIX = join(SHOP_DIR, 'mix.lua');

interface Served {
  server: RunningServer;
  /** Where the app is mounted: `/fn/shop` on the platform, empty under uvicorn. */
  prefix: string;
}

const STREAM_GAP_MS = 200;
const STREAM_SAMPLES = 10;

/** Medians of a streamed response's timings, milliseconds from the request. */
export interface StreamTimes {
  firstByteMs: number;
  endMs: number;
}

export interface FastapiResult {
  /** `GET /stream` on each side (the one-connection servers of the first round). */
  stream: { gateway: StreamTimes | null; uvicorn: StreamTimes | null; gapMs: number };
  /** One connection: the runs with the lowest p50 of each side, and every run. */
  c1: { gateway: LoadRun; uvicorn: LoadRun; runs: LoadRun[] };
  /** `connections` connections: the best run (req/s) of each side, and every run. */
  cN: { connections: number; gateway: LoadRun | null; gatewaySetting: GatewaySetting | null; uvicorn: LoadRun | null; runs: LoadRun[]; failures: { label: string; message: string }[] };
}

/** The app must answer each request of the mix as expected before it is measured. */
async function check(s: Served): Promise<void> {
  const base = `http://127.0.0.1:${s.server.port}${s.prefix}`;
  const expect = async (what: string, res: Promise<Response>, status: number, test: (body: unknown) => boolean): Promise<void> => {
    const r = await res;
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    if (r.status !== status || !test(body)) throw new Error(`${s.server.name}: ${what} answered ${r.status} ${text.slice(0, 300)}`);
  };
  await expect('GET /items/42?q=blue', fetch(`${base}/items/42?q=blue`), 200, (b) => (b as { id?: number }).id === 42);
  await expect('GET /items?limit=5&offset=10', fetch(`${base}/items?limit=5&offset=10`), 200, (b) => Array.isArray(b) && b.length === 5);
  await expect('POST /items', fetch(`${base}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"lamp","price":19.5}' }), 201, (b) => typeof (b as { id?: unknown }).id === 'number');
  await expect('POST /items (invalid)', fetch(`${base}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"","price":-1}' }), 422, () => true);
}

async function startShopGateway(setting: GatewaySetting, verbose: boolean): Promise<Served> {
  const dir = await tempDir('shop');
  try {
    const fn = join(dir.path, 'shop');
    await mkdir(fn, { recursive: true });
    await copyFile(join(SHOP_DIR, 'app.py'), join(fn, 'app.py'));
    const manifest = { kind: 'function', name: 'shop', entrypoint: 'app:app', limits: { maxInstances: setting.maxInstances, concurrency: setting.concurrency, maxQueue: 10_000 } };
    await writeFile(join(fn, 'platform.yaml'), stringify(manifest));
    const server = await startGateway({ functionsDir: dir.path, poolSize: Math.max(3, setting.maxInstances), verbose });
    server.name = `gateway ${setting.maxInstances}x${setting.concurrency}`;
    const stop = server.stop;
    server.stop = async () => {
      await stop();
      await dir.remove();
    };
    return { server, prefix: '/fn/shop' };
  } catch (err) {
    await dir.remove();
    throw err;
  }
}

async function startShopUvicorn(workers: number): Promise<Served> {
  const port = await freePort();
  const server = await startServer({
    name: `uvicorn workers=${workers}`,
    command: PYTHON,
    args: ['-m', 'uvicorn', 'app:app', '--app-dir', SHOP_DIR, '--host', '127.0.0.1', '--port', String(port),
      '--loop', 'uvloop', '--http', 'httptools', '--no-access-log', '--log-level', 'warning', '--workers', String(workers)],
    env: childEnv(),
    port,
    readyPath: '/health',
  });
  return { server, prefix: '' };
}

async function measure(label: string, s: Served, connections: number, threads: number, opts: BenchOptions, durationS: number, round: number): Promise<LoadRun> {
  const url = `http://127.0.0.1:${s.server.port}`;
  const wrk = { url, connections, threads, script: MIX, scriptArgs: [s.prefix] };
  await runWrk({ ...wrk, durationS: opts.warmupS });
  const result = await runWrk({ ...wrk, durationS });
  const problems = wrkProblems(result);
  const p = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);
  console.error(
    `  ${label.padEnd(28)} ${result.requestsPerSec.toFixed(0).padStart(8)} req/s  p50 ${p(result.p50Us)}  p99 ${p(result.p99Us)}` +
      (problems.length ? `  [does not count: ${problems.join('; ')}]` : ''),
  );
  return { label, wrk: result, problems, round };
}

/** One streamed request: when its first body byte and its end arrived. */
function streamOnce(url: string): Promise<StreamTimes> {
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    let first = -1;
    const req = http.get(url, { agent: false }, (res) => {
      res.on('data', () => {
        if (first < 0) first = performance.now() - sent;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve({ firstByteMs: first, endMs: performance.now() - sent }) : reject(new Error(`GET /stream answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function streamTimes(s: Served): Promise<StreamTimes> {
  const url = `http://127.0.0.1:${s.server.port}${s.prefix}/stream?gap_ms=${STREAM_GAP_MS}`;
  await streamOnce(url); // warm
  const runs: StreamTimes[] = [];
  for (let i = 0; i < STREAM_SAMPLES; i++) runs.push(await streamOnce(url));
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const out = { firstByteMs: median(runs.map((r) => r.firstByteMs)), endMs: median(runs.map((r) => r.endMs)) };
  console.error(`  ${`${s.server.name} stream`.padEnd(28)} first byte ${out.firstByteMs.toFixed(1)} ms, end ${out.endMs.toFixed(1)} ms (3 chunks ${STREAM_GAP_MS} ms apart)`);
  return out;
}

async function served<T>(start: () => Promise<Served>, body: (s: Served) => Promise<T>): Promise<T> {
  const s = await start();
  try {
    await check(s);
    return await body(s);
  } finally {
    await s.server.stop();
  }
}

export async function fastapiApp(opts: BenchOptions): Promise<FastapiResult> {
  const c1Runs: LoadRun[] = [];
  const cNRuns: LoadRun[] = [];
  const failures: { label: string; message: string }[] = [];
  const attempt = async (label: string, run: () => Promise<LoadRun>, into: LoadRun[]): Promise<void> => {
    try {
      into.push(await run());
    } catch (err) {
      const message = (err as Error).message;
      console.error(`  ${label.padEnd(28)} FAILED: ${message.split('\n')[0]}`);
      failures.push({ label, message });
    }
  };
  const one: GatewaySetting = { maxInstances: 1, concurrency: 1 };
  const stream: FastapiResult['stream'] = { gateway: null, uvicorn: null, gapMs: STREAM_GAP_MS };
  /** The one-connection run, then (first round) the streamed response's timings on the same server. */
  const c1 = (side: 'gateway' | 'uvicorn', label: string, round: number) => async (s: Served): Promise<LoadRun> => {
    const run = await measure(label, s, 1, 1, opts, opts.latencyDurationS, round);
    if (round === 1) stream[side] = await streamTimes(s);
    return run;
  };
  // Rounds interleave platform and baseline, so a burst of noise does not land on one side only.
  for (let round = 1; round <= opts.rounds; round++) {
    await attempt('uvicorn workers=1 (c1)', () => served(() => startShopUvicorn(1), c1('uvicorn', 'uvicorn workers=1 (c1)', round)), c1Runs);
    await attempt('gateway 1x1 (c1)', async () => ({ ...(await served(() => startShopGateway(one, opts.verbose), c1('gateway', 'gateway 1x1 (c1)', round))), setting: one }), c1Runs);
    // One worker is the issue's baseline (the target row); two, one per core, beside it (bench/table.ts).
    for (const workers of [...new Set([1, 2, ...opts.uvicornWorkers])].sort((a, b) => a - b)) {
      const label = `uvicorn workers=${workers}`;
      await attempt(label, () => served(() => startShopUvicorn(workers), (s) => measure(label, s, opts.connections, opts.threads, opts, opts.durationS, round)), cNRuns);
    }
    for (const setting of opts.fastapiSettings) {
      const label = `gateway ${setting.maxInstances}x${setting.concurrency}`;
      await attempt(label, async () => ({ ...(await served(() => startShopGateway(setting, opts.verbose), (s) => measure(label, s, opts.connections, opts.threads, opts, opts.durationS, round))), setting }), cNRuns);
    }
  }
  const c1g = c1Runs.filter((r) => r.label.startsWith('gateway'));
  const c1u = c1Runs.filter((r) => r.label.startsWith('uvicorn'));
  if (c1g.length === 0 || c1u.length === 0) throw new Error(`no one-connection run completed: ${failures.map((f) => `${f.label}: ${f.message.split('\n')[0]}`).join(' | ')}`);
  const gateway = best(cNRuns.filter((r) => r.label.startsWith('gateway')));
  return {
    stream,
    c1: { gateway: fastest(c1g), uvicorn: fastest(c1u), runs: c1Runs },
    cN: {
      connections: opts.connections,
      gateway,
      gatewaySetting: gateway?.setting ?? null,
      uvicorn: best(cNRuns.filter((r) => r.label.startsWith('uvicorn'))),
      runs: cNRuns,
      failures,
    },
  };
}
