/**
 * Cold starts measured on the PoolManager itself, in this process, without HTTP: the pure
 * platform cost of "no instance of this version" → "handler answered". Before each call the pool
 * has refilled (stats().generic back to poolSize, nothing spawning), so every call takes a
 * pre-spawned generic runtime (`start === 'pool'`).
 *
 * Two pools side by side, their calls interleaved (one each per fresh version, so drift and noise
 * hit both alike): the sandboxed one (the default: docs/security.md) and one with the sandbox
 * off. The difference is what the box costs a cold start.
 */
import { defaultPoolConfig, PoolManager, type FunctionVersion, type PoolConfig, type WireEvent } from '../poolmgr/index.js';
import type { BenchOptions } from './args.js';
import { coldName, type ColdSeries } from './cold.js';
import { tempDir, writeHelloFunction } from './functions.js';
import { PYTHON } from './paths.js';
import { sleep } from './servers.js';
import { msSince, summarize } from './stats.js';

const SETTLE_MS = 20;
const WARMUP_COLD = 3;

export interface PoolCold {
  poolSize: number;
  /** Wall time of PoolManager.invoke for the first call of a version. */
  wall: ColdSeries;
  /** The pool's initMs: specialization as the pool measured it. */
  init: ColdSeries;
  /** The runtime's handlerMs of the same call. */
  handler: ColdSeries;
  refillWait: ColdSeries;
  /** Calls whose start was not 'pool' (a spawn or, wrongly, warm): should be 0. */
  notFromPool: number;
}

function series(samples: number[]): ColdSeries {
  return { samples: samples.map((s) => Math.round(s * 1000) / 1000), summary: summarize(samples) };
}

function event(i: number): WireEvent {
  return {
    method: 'GET',
    path: '/',
    rawQuery: '',
    query: [],
    headers: [['host', '127.0.0.1']],
    body: new Uint8Array(0),
    requestId: `bench-cold-${i}`,
  };
}

async function waitForRefill(pool: PoolManager, size: number, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const stats = pool.stats();
    if (stats.generic >= size && stats.spawning === 0) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`the pool did not refill to ${size} generic runtimes in time`);
    await sleep(5);
  }
}

export interface PoolColdPair {
  /** The default: runtimes boxed (root or user-namespace mode). */
  sandboxed: PoolCold;
  /** The same calls with the sandbox off. */
  unsandboxed: PoolCold;
  /** The sandboxed pool's mode, e.g. 'root'. */
  mode: string;
}

interface Arm {
  pool: PoolManager;
  wall: number[];
  init: number[];
  handler: number[];
  waits: number[];
  notFromPool: number;
}

export async function poolCold(opts: BenchOptions): Promise<PoolColdPair> {
  const dir = await tempDir('pool-cold');
  const poolSize = opts.coldPoolSize;
  const make = (sandbox: PoolConfig['sandbox']): Arm => ({
    pool: new PoolManager(defaultPoolConfig(
      { poolSize, pythonPath: PYTHON, debug: opts.verbose, sandbox, codeRoots: [dir.path] },
      { PATH: process.env['PATH'], LANG: process.env['LANG'] },
    )),
    wall: [], init: [], handler: [], waits: [], notFromPool: 0,
  });
  const arms = [make('auto'), make('off')] as const;
  try {
    for (const arm of arms) await arm.pool.start();
    for (let i = -WARMUP_COLD; i < opts.coldN; i++) {
      for (const [k, arm] of arms.entries()) {
        const name = `${i < 0 ? `warm-${-i}` : coldName(i)}-${k}`;
        const fnDir = await writeHelloFunction(dir.path, name, {}, `pool ${i} ${k}`);
        const fn: FunctionVersion = {
          name,
          version: `v${i + WARMUP_COLD}`,
          dir: fnDir,
          entrypoint: 'main:handler',
          env: {},
          memoryBytes: 256 * 1024 * 1024, // the manifest default, as the gateway would pass it
          timeoutMs: 30_000,
          concurrency: 1,
          maxInstances: 1,
          minWarm: 0,
          maxQueue: 100,
        };
        await arm.pool.prepare(fnDir); // what a deploy does: bytecode compiled ahead
        const waited = Math.max(await waitForRefill(arms[0].pool, poolSize), await waitForRefill(arms[1].pool, poolSize));
        await sleep(SETTLE_MS);
        const start = process.hrtime.bigint();
        const result = await arm.pool.invoke(fn, event(i));
        const ms = msSince(start);
        if (result.error) throw new Error(`pool cold call ${name} failed: ${result.error.code} ${result.error.message}`);
        if (i < 0) continue;
        if (result.start !== 'pool') arm.notFromPool++;
        arm.wall.push(ms);
        arm.init.push(result.initMs);
        arm.handler.push(result.handlerMs);
        arm.waits.push(waited);
      }
    }
    const done = (arm: Arm): PoolCold => ({
      poolSize, wall: series(arm.wall), init: series(arm.init), handler: series(arm.handler), refillWait: series(arm.waits), notFromPool: arm.notFromPool,
    });
    return { sandboxed: done(arms[0]), unsandboxed: done(arms[1]), mode: arms[0].pool.isolation.mode };
  } finally {
    for (const arm of arms) await arm.pool.close();
    await dir.remove();
  }
}
