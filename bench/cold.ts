/**
 * Section 3: cold starts. Three ways to measure the same thing, each over N fresh function
 * versions (a new folder and name each, never imported before, no __pycache__):
 *
 * - baseline: spawn a fresh Python process that imports the handler file and calls it once;
 *   wall time from spawn to exit, measured here.
 * - gateway:  GET /fn/cold-NNN/ on a gateway whose pool has refilled (polled on /metrics) before
 *             each call; the response must say `X-Cold-Start: 1`. Figures from `Server-Timing`
 *             (init = specialize, total = gateway time) and the client's wall time.
 * - pool:     PoolManager.invoke in this process (no HTTP): wall time of the call whose result says
 *             start === 'pool', plus the pool's own initMs. The pure platform cost.
 */
import { spawn } from 'node:child_process';
import type { BenchOptions } from './args.js';
import { tempDir, writeHelloFunction } from './functions.js';
import { startGateway, waitForGatewayPool } from './gateway.js';
import { PYTHON } from './paths.js';
import { httpGet, sleep } from './servers.js';
import { msSince, summarize, type Summary } from './stats.js';

/** Pause after the pool has refilled, so the last spawn's after-effects settle before timing. */
const SETTLE_MS = 20;
/** Unmeasured cold starts first, so the platform's own code paths are warm (JIT). */
const WARMUP_COLD = 3;

export const coldName = (i: number): string => `cold-${String(i).padStart(3, '0')}`;
const warmName = (i: number): string => `warm-${String(i).padStart(3, '0')}`;

export interface ColdSeries {
  /** Milliseconds, one per function version. */
  samples: number[];
  summary: Summary;
}

function series(samples: number[]): ColdSeries {
  return { samples: samples.map((s) => Math.round(s * 1000) / 1000), summary: summarize(samples) };
}

export interface PythonBaseline {
  wall: ColdSeries;
}

/** Fresh `python -I -c 'import handler; call it'` per version; wall time from spawn to exit. */
export async function pythonBaseline(n: number): Promise<PythonBaseline> {
  const dir = await tempDir('pyspawn');
  try {
    const samples: number[] = [];
    for (let i = -WARMUP_COLD; i < n; i++) {
      const fnDir = await writeHelloFunction(dir.path, i < 0 ? warmName(-i) : coldName(i), {}, `py ${i}`);
      const code = `import sys; sys.path.insert(0, ${JSON.stringify(fnDir)}); import main; main.handler({}, None)`;
      const start = process.hrtime.bigint();
      const exit = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(PYTHON, ['-I', '-c', code], { stdio: 'ignore', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
        child.on('error', reject);
        child.on('exit', (c) => resolve(c));
      });
      const ms = msSince(start);
      if (exit !== 0) throw new Error(`python baseline exited with ${exit}`);
      if (i >= 0) samples.push(ms);
    }
    return { wall: series(samples) };
  } finally {
    await dir.remove();
  }
}

/** `init;dur=1.2, handler;dur=0.1, total;dur=1.6` → {init: 1.2, handler: 0.1, total: 1.6}. */
export function parseServerTiming(header: string | string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const text = Array.isArray(header) ? header.join(',') : header ?? '';
  for (const part of text.split(',')) {
    const [name, ...params] = part.trim().split(';');
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='));
    if (name && dur) out[name.trim()] = Number(dur.slice(4));
  }
  return out;
}

export interface GatewayCold {
  poolSize: number;
  /** Server-Timing `init`: specialization time as the gateway saw it. */
  init: ColdSeries;
  /** Server-Timing `total`: request arrival to response ready inside the gateway. */
  total: ColdSeries;
  /** Client wall time of the GET (new connection each time). */
  wall: ColdSeries;
  /** Time spent waiting for the pool to refill before each call (not part of any figure). */
  refillWait: ColdSeries;
  /** Responses that did not say X-Cold-Start: 1 (should be 0). */
  notCold: number;
  serverTimingNames: string[];
}

export async function gatewayCold(opts: BenchOptions): Promise<GatewayCold> {
  const dir = await tempDir('cold');
  const poolSize = opts.coldPoolSize;
  try {
    for (let i = 1; i <= WARMUP_COLD; i++) await writeHelloFunction(dir.path, warmName(i), {}, `warm ${i}`);
    for (let i = 0; i < opts.coldN; i++) await writeHelloFunction(dir.path, coldName(i), {}, `gateway ${i}`);
    const server = await startGateway({ functionsDir: dir.path, poolSize, verbose: opts.verbose });
    try {
      const init: number[] = [];
      const total: number[] = [];
      const wall: number[] = [];
      const waits: number[] = [];
      const names = new Set<string>();
      let notCold = 0;
      for (let i = -WARMUP_COLD; i < opts.coldN; i++) {
        const waited = await waitForGatewayPool(server.port, poolSize);
        if (waited === null) throw new Error(`gateway pool did not refill to ${poolSize} generic runtimes in time`);
        await sleep(SETTLE_MS);
        const path = `/fn/${i < 0 ? warmName(-i) : coldName(i)}/`;
        const start = process.hrtime.bigint();
        const reply = await httpGet(server.port, path, 30_000);
        const ms = msSince(start);
        if (reply.status !== 200) throw new Error(`gateway cold call ${path} answered ${reply.status}: ${reply.body}`);
        if (i < 0) continue;
        const timing = parseServerTiming(reply.headers['server-timing']);
        Object.keys(timing).forEach((k) => names.add(k));
        if (reply.headers['x-cold-start'] !== '1') notCold++;
        if (timing['init'] !== undefined) init.push(timing['init']);
        if (timing['total'] !== undefined) total.push(timing['total']);
        wall.push(ms);
        waits.push(waited);
      }
      return {
        poolSize,
        init: series(init),
        total: series(total),
        wall: series(wall),
        refillWait: series(waits),
        notCold,
        serverTimingNames: [...names],
      };
    } finally {
      await server.stop();
    }
  } finally {
    await dir.remove();
  }
}
