/**
 * Zygotes before and after, side by side (issue 11): the forked path of two checkouts' runtimes
 * (their runtime/ directories: zygote, sandbox, runtime), driven by this build's host, in one
 * process, rounds interleaved A, B, A, B… so load from other work lands on both. Not a section of
 * the bench: run by hand,
 *   node dist/bench/ab-zygote.js <other checkout> [n] [--warm-next] [--pool-only]
 * A is the other checkout, B this one. Figures (bench/README.md section 3, "zygotes"): generic
 * runtime ready (spawn → hello) p50, the private memory of an idle forked box and of its runtime
 * process alone, the empty-pool cold start p50, a FastAPI app's cold start on the fastapi
 * preset p50, and the cold start from the pool (a waiting generic runtime) p50 and p99 and its specialization
 * (the call's initMs and the runtime's own) p50, p90 and p99; each with B ÷ A and the load average before and after.
 * `--warm-next`: B's pool for the from-the-pool part has `warmNext` (docs/adr/0114-specialize-pages-written-ahead.md),
 * and both arms wait 80 ms instead of 30 before each call, so that B's runtime is sent `warm` first.
 * `--pool-only`: only the cold start from the pool (a change to the specialize path, a run a third as long).
 */
import { loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultPoolConfig, PoolManager, ProcessHost, resolveSandbox, type HostedRuntime } from '../poolmgr/index.js';
import { deepest, FASTAPI_APP, hello, privateBytes, version } from './cold-zygote.js';
import { tempDir, writeHelloFunction } from './functions.js';
import { PYTHON, RUNTIME_DIR } from './paths.js';
import { sleep } from './servers.js';
import { msSince, percentile } from './stats.js';

const other = process.argv[2];
if (!other) {
  console.error('usage: node dist/bench/ab-zygote.js <other checkout> [n] [--warm-next] [--pool-only]');
  process.exit(2);
}
const n = Number(process.argv.slice(3).find((arg) => !arg.startsWith('--')) ?? '30');
const warmNext = process.argv.includes('--warm-next');
const poolOnly = process.argv.includes('--pool-only');
const entries = { A: join(resolve(other), 'runtime', 'bootstrap.py'), B: join(RUNTIME_DIR, 'bootstrap.py') };
const SIDES = ['A', 'B'] as const;
type Side = (typeof SIDES)[number];
const EVENT = { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: 'ab' };

function pair<T>(make: (side: Side) => T): Record<Side, T> {
  return { A: make('A'), B: make('B') };
}

async function readyAndUss(codeRoot: string): Promise<void> {
  const hosts = pair((side) => {
    const config = defaultPoolConfig({ codeRoots: [codeRoot], pythonPath: PYTHON, runtimeEntry: entries[side] });
    return new ProcessHost({ ...config, sandbox: resolveSandbox(config.sandbox), zygotes: true });
  });
  try {
    for (const side of SIDES) if (!await hosts[side].zygotesReady(60_000)) throw new Error(`${side}: the zygote did not start`);
    const ready = pair(() => [] as number[]);
    for (let i = -3; i < n; i++) {
      for (const side of i % 2 === 0 ? SIDES : [...SIDES].reverse()) {
        await sleep(30);
        const start = process.hrtime.bigint();
        const rt = await hello(hosts[side]);
        const ms = msSince(start);
        if (i >= 0) ready[side].push(ms);
        hosts[side].destroy(rt);
      }
    }
    report('generic runtime ready p50 (ms)', percentile(ready.A, 50), percentile(ready.B, 50));
    const box = pair(() => 0);
    const alone = pair(() => 0);
    const count = 5;
    for (const side of SIDES) {
      const rts: HostedRuntime[] = [];
      for (let i = 0; i < count; i++) rts.push(await hello(hosts[side]));
      await sleep(500);
      box[side] = rts.reduce((sum, rt) => sum + privateBytes(rt.pid), 0) / count / 2 ** 20;
      alone[side] = rts.reduce((sum, rt) => sum + privateBytes(deepest(rt.pid), false), 0) / count / 2 ** 20;
      for (const rt of rts) hosts[side].destroy(rt);
    }
    report('idle runtime USS, whole box (MiB)', box.A, box.B);
    report('idle runtime USS, runtime process (MiB)', alone.A, alone.B);
  } finally {
    await Promise.all(SIDES.map((side) => hosts[side].close()));
  }
}

async function coldStarts(codeRoot: string): Promise<void> {
  const pools = pair((side) => new PoolManager(defaultPoolConfig({ poolSize: 0, codeRoots: [codeRoot], pythonPath: PYTHON, runtimeEntry: entries[side] })));
  const fastapi = pair((side) => new PoolManager(defaultPoolConfig({ poolSize: 0, codeRoots: [codeRoot], pythonPath: PYTHON, runtimeEntry: entries[side] })));
  try {
    await Promise.all(SIDES.flatMap((side) => [pools[side].start(), fastapi[side].start()]));
    for (const side of SIDES) {
      const h = (fastapi[side] as unknown as { host: ProcessHost }).host;
      if (!await h.zygotesReady(60_000, ['default', 'fastapi'])) throw new Error(`${side}: the fastapi zygote did not start`);
    }
    const empty = pair(() => [] as number[]);
    const fa = pair(() => [] as number[]);
    for (let i = -3; i < n; i++) {
      for (const side of i % 2 === 0 ? SIDES : [...SIDES].reverse()) {
        const name = `ab-${side}-${i + 3}`;
        const dir = await writeHelloFunction(codeRoot, name, {}, name);
        await sleep(30);
        let start = process.hrtime.bigint();
        const r = await pools[side].invoke(version(dir, name), { ...EVENT, requestId: name });
        if (r.error !== null) throw new Error(`${side}: empty-pool cold start failed: ${JSON.stringify(r.error)}`);
        if (i >= 0) empty[side].push(msSince(start));
        const appDir = join(codeRoot, `fa-${name}`);
        await mkdir(appDir, { recursive: true });
        await writeFile(join(appDir, 'main.py'), FASTAPI_APP);
        await sleep(30);
        start = process.hrtime.bigint();
        const f = await fastapi[side].invoke(version(appDir, `fa-${name}`, 'main:app'), { ...EVENT, requestId: `fa-${name}` });
        if (f.error !== null || f.response?.status !== 200) throw new Error(`${side}: FastAPI cold start failed: ${JSON.stringify(f.error ?? f.response?.status)}`);
        if (i >= 0) fa[side].push(msSince(start));
      }
    }
    report('empty-pool cold start p50 (ms)', percentile(empty.A, 50), percentile(empty.B, 50));
    report('FastAPI app cold start, fastapi preset, empty pool p50 (ms)', percentile(fa.A, 50), percentile(fa.B, 50));
  } finally {
    await Promise.all(SIDES.flatMap((side) => [pools[side].close(), fastapi[side].close()]));
  }
}

/** A generic runtime waiting in the pool (poolSize 1, refilled before each call) specialized for a new version. */
async function fromPool(codeRoot: string): Promise<void> {
  const pools = pair((side) => new PoolManager(defaultPoolConfig({
    poolSize: 1, codeRoots: [codeRoot], pythonPath: PYTHON, runtimeEntry: entries[side], warmNext: warmNext && side === 'B',
  })));
  try {
    await Promise.all(SIDES.map((side) => pools[side].start()));
    const cold = pair(() => [] as number[]);
    const init = pair(() => [] as number[]);
    // The runtime's own figure (its `specialized` message's initMs: specialize read → loaded),
    // taken where the pool is told (PoolManager.specialized, its InstanceOwner side).
    const own = pair(() => [] as number[]);
    const lastOwn = pair(() => NaN);
    for (const side of SIDES) {
      const pool = pools[side];
      const told = pool.specialized.bind(pool);
      pool.specialized = (inst, ms, forked) => { lastOwn[side] = ms; told(inst, ms, forked); };
    }
    for (let i = -3; i < n; i++) {
      for (const side of i % 2 === 0 ? SIDES : [...SIDES].reverse()) {
        const name = `pool-${side}-${i + 3}`;
        const dir = await writeHelloFunction(codeRoot, name, {}, name);
        await pools[side].prepare(dir);
        for (let waited = 0; pools[side].stats().generic < 1 || pools[side].stats().spawning > 0; waited += 5) {
          if (waited > 15_000) throw new Error(`${side}: the pool did not refill`);
          await sleep(5);
        }
        await sleep(warmNext ? 80 : 30);
        const start = process.hrtime.bigint();
        // The manifest's default memory, as the gateway passes it: the box then sets a memory limit at specialize.
        const r = await pools[side].invoke({ ...version(dir, name), memoryBytes: 256 * 2 ** 20 }, { ...EVENT, requestId: name });
        if (r.error !== null || r.start !== 'pool') throw new Error(`${side}: pool cold start failed or not from the pool: ${JSON.stringify(r.error ?? r.start)}`);
        if (i >= 0) {
          cold[side].push(msSince(start));
          init[side].push(r.initMs);
          own[side].push(lastOwn[side]);
        }
      }
    }
    report('cold start from the pool p50 (ms)', percentile(cold.A, 50), percentile(cold.B, 50));
    report('cold start from the pool p90 (ms)', percentile(cold.A, 90), percentile(cold.B, 90));
    report('cold start from the pool p99 (ms)', percentile(cold.A, 99), percentile(cold.B, 99));
    // The call's initMs: from the call to its runtime's `specialized` read by the pool (its run excluded).
    report('… of which until specialized (initMs) p50 (ms)', percentile(init.A, 50), percentile(init.B, 50));
    report('… of which in the runtime (its initMs) p50 (ms)', percentile(own.A, 50), percentile(own.B, 50));
    report('… of which until specialized (initMs) p99 (ms)', percentile(init.A, 99), percentile(init.B, 99));
    // The runtime's own part's tail: where the box's steps land (an unmount's RCU grace period was one: ADR 0065).
    report('… of which in the runtime (its initMs) p90 (ms)', percentile(own.A, 90), percentile(own.B, 90));
    report('… of which in the runtime (its initMs) p99 (ms)', percentile(own.A, 99), percentile(own.B, 99));
  } finally {
    await Promise.all(SIDES.map((side) => pools[side].close()));
  }
}

function report(what: string, a: number, b: number): void {
  console.log(`${what.padEnd(60)} A ${a.toFixed(2).padStart(8)}  B ${b.toFixed(2).padStart(8)}  B/A ${(b / a).toFixed(2)}`);
}

const dir = await tempDir('ab-zygote');
try {
  console.log(`A = ${entries.A}\nB = ${entries.B}${warmNext ? ' (warmNext from the pool)' : ''}\nn = ${n}, sandbox ${resolveSandbox('auto')}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (!poolOnly) {
    await readyAndUss(dir.path);
    await coldStarts(dir.path);
  }
  await fromPool(dir.path);
  console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await dir.remove();
}
process.exit(0);
