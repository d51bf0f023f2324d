/**
 * Section 5: CPU fairness between functions (security probe finding 5). A `victim` function that
 * needs 2 ms of CPU per call is called sequentially, alone and then while a CPU-burning `hog`
 * function keeps 8 instances busy (8 callers, each waiting for its previous call); the victim's
 * latency is what a tenant feels when another tenant is greedy. Measured twice, side by side: with the sandbox
 * (each function gets the same CPU weight, split over its instances: poolmgr/host/cgroups.ts)
 * and with the sandbox off (every runtime an equal process: the hog's 8 win 8:1).
 * PoolManager in this process, no HTTP.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPoolConfig, PoolManager, type FunctionVersion, type PoolConfig, type WireEvent } from '../poolmgr/index.js';
import type { BenchOptions } from './args.js';
import { tempDir } from './functions.js';
import { PYTHON } from './paths.js';
import { summarize, type Summary } from './stats.js';

const HOG_INSTANCES = 8;
const VICTIM_CALLS = 100;
const BURN = (ms: number): string => `import time\ndef handler(event, context):\n    end = time.perf_counter() + ${ms / 1000}\n    while time.perf_counter() < end:\n        pass\n    return 1\n`;

export interface FairnessArm {
  mode: string;
  alone: Summary;
  loaded: Summary;
  /** loaded p50 ÷ alone p50 */
  slowdown: number;
  hogCalls: number;
}

export interface FairnessResult {
  sandboxed: FairnessArm;
  unsandboxed: FairnessArm;
}

function event(id: string): WireEvent {
  return { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: id };
}

async function fn(dir: string, name: string, code: string, maxInstances: number): Promise<FunctionVersion> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'main.py'), code);
  return {
    name, version: 'v1', dir: path, entrypoint: 'main:handler', env: {}, memoryBytes: 256 * 1024 * 1024,
    timeoutMs: 30_000, concurrency: 1, maxInstances, minWarm: 0, maxQueue: 1000,
  };
}

async function victimLatencies(pool: PoolManager, victim: FunctionVersion): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < VICTIM_CALLS; i++) {
    const start = process.hrtime.bigint();
    const r = await pool.invoke(victim, event(`v${i}`));
    if (r.error) throw new Error(`victim call failed: ${r.error.code}`);
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return out;
}

async function arm(sandbox: PoolConfig['sandbox'], dir: string): Promise<FairnessArm> {
  const pool = new PoolManager(defaultPoolConfig(
    { poolSize: HOG_INSTANCES + 2, pythonPath: PYTHON, sandbox, codeRoots: [dir], maxInstancesTotal: 64 },
    { PATH: process.env['PATH'], LANG: process.env['LANG'] },
  ));
  try {
    await pool.start();
    const victim = await fn(dir, `victim-${sandbox}`, BURN(2), 1);
    const hog = await fn(dir, `hog-${sandbox}`, BURN(200), HOG_INSTANCES);
    for (let i = 0; i < 20; i++) await pool.invoke(victim, event(`w${i}`)); // warm
    const alone = await victimLatencies(pool, victim);
    let running = true;
    let hogCalls = 0;
    const callers = Array.from({ length: HOG_INSTANCES }, async (_, k) => {
      while (running) {
        await pool.invoke(hog, event(`h${k}-${hogCalls}`));
        hogCalls++;
      }
    });
    await new Promise((r) => setTimeout(r, 1500)); // every hog instance specialized and busy
    const loaded = await victimLatencies(pool, victim);
    running = false;
    await Promise.all(callers);
    const a = summarize(alone);
    const l = summarize(loaded);
    return { mode: pool.isolation.mode, alone: a, loaded: l, slowdown: l.p50 / a.p50, hogCalls };
  } finally {
    await pool.close();
  }
}

export async function fairness(_opts: BenchOptions): Promise<FairnessResult> {
  const dir = await tempDir('fairness');
  try {
    const sandboxed = await arm('auto', dir.path);
    const unsandboxed = await arm('off', dir.path);
    return { sandboxed, unsandboxed };
  } finally {
    await dir.remove();
  }
}
