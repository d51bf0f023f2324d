/**
 * A victim tenant's warm calls beside an attacker tenant's crash loop (every call `os._exit(3)`),
 * with and without the start budget after crashes (docs/adr/0158-a-start-budget-after-crashes.md),
 * side by side in one run: for each round, three arms on a fresh pool each: `alone` (the victim
 * only), `budget off` (`crashStartBurst: 0`: a box per attacker call, as before) and `budget on`
 * (the defaults). The victim calls one after another, a millisecond apart; the attacker from
 * `--loops` client loops, each calling again as soon as it has an answer. PoolManager in this
 * process (its event loop is the gateway's), real boxes (root mode when run as root).
 *
 *   npx tsc -p . && node dist/bench/crash-loop.js [--seconds 8] [--loops 3] [--rounds 2]
 *
 * Each arm runs `--seconds` (at most 20) of warm calls after a warm-up, then `--cold` (8) cold
 * starts of the victim (a new version each, 100 ms apart), the loop still running; prints the
 * victim's p50/p99, its cold starts' p50 and max, and the attacker's answers by code
 * (RUNTIME_CRASHED: a box started and ended) during the warm calls, then the medians over the rounds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPoolConfig, PoolManager, type FunctionVersion, type WireEvent } from '../poolmgr/index.js';
import { tempDir } from './functions.js';
import { PYTHON } from './paths.js';
import { median, percentile } from './stats.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const SECONDS = Math.min(20, Number(arg('seconds', '8')));
const LOOPS = Number(arg('loops', '3'));
const ROUNDS = Number(arg('rounds', '2'));
const COLD = Number(arg('cold', '8'));

type ArmName = 'alone' | 'budget off' | 'budget on';

interface ArmResult {
  arm: ArmName;
  victimCalls: number;
  p50: number;
  p99: number;
  /** The victim's cold starts (a new version each, from the generic pool when one is ready): p50 and max. */
  coldP50: number;
  coldMax: number;
  victimFailures: number;
  attacker: Record<string, number>;
}

function event(id: string): WireEvent {
  return { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: id };
}

async function fn(dir: string, key: string, code: string): Promise<FunctionVersion> {
  const path = join(dir, key);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, 'main.py'), code);
  return {
    name: key, version: 'v1', dir: path, entrypoint: 'main:handler', env: {}, memoryBytes: 256 * 1024 * 1024,
    timeoutMs: 30_000, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function arm(name: ArmName, dir: string): Promise<ArmResult> {
  const pool = new PoolManager(defaultPoolConfig(
    { poolSize: 3, pythonPath: PYTHON, codeRoots: [dir], ...(name === 'budget off' ? { crashStartBurst: 0 } : {}) },
    { PATH: process.env['PATH'], LANG: process.env['LANG'] },
  ));
  const attacker: Record<string, number> = {};
  let running = true;
  let loops: Promise<void>[] = [];
  try {
    await pool.start();
    const victim = await fn(dir, `shop-${name.replace(' ', '-')}.victim`, 'def handler(event, context):\n    return {"ok": 1}\n');
    const boom = await fn(dir, `boom-${name.replace(' ', '-')}.attacker`, 'import os\ndef handler(event, context):\n    os._exit(3)\n');
    for (let i = 0; i < 50; i++) await pool.invoke(victim, event(`w${i}`));
    if (name !== 'alone') {
      loops = Array.from({ length: LOOPS }, async (_, k) => {
        for (let i = 0; running; i++) {
          const r = await pool.invoke(boom, event(`a${k}-${i}`));
          const code = r.error?.code ?? 'ok';
          attacker[code] = (attacker[code] ?? 0) + 1;
        }
      });
      await sleep(1000); // the loop under way (and, with the budget, past it)
      for (const key of Object.keys(attacker)) delete attacker[key];
    }
    const latencies: number[] = [];
    let failures = 0;
    const end = performance.now() + SECONDS * 1000;
    for (let i = 0; performance.now() < end; i++) {
      const t0 = performance.now();
      const r = await pool.invoke(victim, event(`v${i}`));
      latencies.push(performance.now() - t0);
      if (r.error !== null) failures++;
      await sleep(1);
    }
    const during = { ...attacker }; // the attacker's answers while the warm calls ran
    const cold: number[] = [];
    for (let i = 0; i < COLD; i++) {
      const t0 = performance.now();
      const r = await pool.invoke({ ...victim, version: `c${i}` }, event(`c${i}`));
      cold.push(performance.now() - t0);
      if (r.error !== null) failures++;
      await sleep(100); // the generic pool refills between them, as between deploys
    }
    running = false;
    return {
      arm: name, victimCalls: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99),
      coldP50: percentile(cold, 50), coldMax: percentile(cold, 100), victimFailures: failures, attacker: during,
    };
  } finally {
    running = false;
    await pool.close(); // calls still waiting for the budget fail SHUTTING_DOWN
    await Promise.all(loops);
  }
}

function row(r: ArmResult): string {
  const codes = Object.entries(r.attacker).map(([code, n]) => `${code} ${n}`).join(', ') || '-';
  return `${r.arm.padEnd(10)} | ${String(r.victimCalls).padStart(6)} | ${r.p50.toFixed(2).padStart(6)} | ${r.p99.toFixed(2).padStart(7)} | ${r.coldP50.toFixed(1).padStart(8)} | ${r.coldMax.toFixed(1).padStart(8)} | ${String(r.victimFailures).padStart(5)} | ${codes}`;
}

async function main(): Promise<void> {
  const dir = await tempDir('crash-loop');
  const results: ArmResult[] = [];
  try {
    console.log(`victim warm calls beside an attacker's crash loop: ${SECONDS} s per arm, ${LOOPS} attacker loops, ${ROUNDS} rounds`);
    console.log('arm        | calls  | p50 ms | p99 ms  | cold p50 | cold max | fails | attacker answers in the arm (RUNTIME_CRASHED = boxes ended)');
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['alone', 'budget off', 'budget on'] as const) {
        const result = await arm(name, dir.path);
        results.push(result);
        console.log(row(result));
      }
    }
    console.log('medians over the rounds:');
    for (const name of ['alone', 'budget off', 'budget on'] as const) {
      const of = results.filter((r) => r.arm === name);
      const crashed = median(of.map((r) => r.attacker['RUNTIME_CRASHED'] ?? 0));
      console.log(`${name.padEnd(10)} | victim p50 ${median(of.map((r) => r.p50)).toFixed(2)} ms, p99 ${median(of.map((r) => r.p99)).toFixed(2)} ms, cold p50 ${median(of.map((r) => r.coldP50)).toFixed(1)} ms | attacker boxes ended ${crashed} (${(crashed / SECONDS).toFixed(1)}/s)`);
    }
  } finally {
    await dir.remove();
  }
}

await main();
