/**
 * Two whole checkouts side by side on the cold-start path (issue 11, docs/adr/0042-cold-start-steps.md):
 * each checkout's own host (poolmgr: cgroup leaves, zygote connections, the pool) and its own
 * runtime (zygote, sandbox, runtime), both loaded from their built dist/ into one process, samples
 * interleaved A, B / B, A so load from other work lands on both. `ab-zygote.ts` drives both
 * runtimes from this build's host; this one also compares changes to the host. Not a section of
 * the bench: run by hand (both checkouts built),
 *   node dist/bench/ab-cold.js <other checkout> [n]
 * A is the other checkout, B this one. Figures: generic runtime ready (spawn → hello) p50, the
 * empty-pool cold start p50 (poolSize 0), the cold start from the pool (poolSize 1, refilled
 * before each call; each version prepared and expected first, as a deploy does) p50 and p99, and
 * the synchronous part of its invoke() (the host's pick on the event loop) p50 and this process's
 * CPU time from the call to its result (the host's whole part; the runtime is another process) p50; each with B ÷ A
 * and the load average before and after.
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ColdZygote from './cold-zygote.js';
import type * as Functions from './functions.js';
import type * as Poolmgr from '../poolmgr/index.js';
import { PYTHON, ROOT } from './paths.js';
import { sleep } from './servers.js';
import { msSince, percentile } from './stats.js';

const other = process.argv[2];
if (!other) {
  console.error('usage: node dist/bench/ab-cold.js <other checkout> [n]');
  process.exit(2);
}
const n = Number(process.argv[3] ?? '30');
const SIDES = ['A', 'B'] as const;
type Side = (typeof SIDES)[number];
const roots: Record<Side, string> = { A: resolve(other), B: ROOT };

/** One checkout's modules, from its own dist/ (the other checkout's have the same shape, or close enough to drive). */
interface Build {
  pm: typeof Poolmgr;
  cz: typeof ColdZygote;
  fn: typeof Functions;
  root: string;
}

async function load(root: string): Promise<Build> {
  const from = (path: string): string => pathToFileURL(join(root, 'dist', path)).href;
  return {
    pm: await import(from('poolmgr/index.js')) as typeof Poolmgr,
    cz: await import(from('bench/cold-zygote.js')) as typeof ColdZygote,
    fn: await import(from('bench/functions.js')) as typeof Functions,
    root,
  };
}

const builds: Record<Side, Build> = { A: await load(roots.A), B: await load(roots.B) };
const EVENT = { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: 'ab' };
const order = (i: number): readonly Side[] => (i % 2 === 0 ? SIDES : [...SIDES].reverse());

function config(side: Side, codeRoot: string, extra: Partial<Poolmgr.PoolConfig>): Poolmgr.PoolConfig {
  const b = builds[side];
  return b.pm.defaultPoolConfig({ codeRoots: [codeRoot], pythonPath: PYTHON, runtimeEntry: join(b.root, 'runtime', 'bootstrap.py'), ...extra });
}

function report(what: string, a: number, b: number): void {
  console.log(`${what.padEnd(40)} A ${a.toFixed(2).padStart(8)}  B ${b.toFixed(2).padStart(8)}  B/A ${(b / a).toFixed(2)}`);
}

async function ready(codeRoot: string): Promise<void> {
  const hosts = {} as Record<Side, Poolmgr.ProcessHost>;
  for (const side of SIDES) {
    const c = config(side, codeRoot, {});
    hosts[side] = new builds[side].pm.ProcessHost({ ...c, sandbox: builds[side].pm.resolveSandbox(c.sandbox), zygotes: true });
  }
  try {
    for (const side of SIDES) if (!await hosts[side].zygotesReady(60_000)) throw new Error(`${side}: the zygote did not start`);
    const out: Record<Side, number[]> = { A: [], B: [] };
    for (let i = -3; i < n; i++) {
      for (const side of order(i)) {
        await sleep(30);
        const start = process.hrtime.bigint();
        const rt = await builds[side].cz.hello(hosts[side]);
        if (i >= 0) out[side].push(msSince(start));
        hosts[side].destroy(rt);
      }
    }
    report('generic runtime ready p50 (ms)', percentile(out.A, 50), percentile(out.B, 50));
  } finally {
    await Promise.all(SIDES.map((side) => hosts[side].close()));
  }
}

async function coldStarts(codeRoot: string): Promise<void> {
  const empty = {} as Record<Side, Poolmgr.PoolManager>;
  const full = {} as Record<Side, Poolmgr.PoolManager>;
  for (const side of SIDES) {
    empty[side] = new builds[side].pm.PoolManager(config(side, codeRoot, { poolSize: 0 }));
    full[side] = new builds[side].pm.PoolManager(config(side, codeRoot, { poolSize: 1 }));
  }
  try {
    await Promise.all(SIDES.flatMap((side) => [empty[side].start(), full[side].start()]));
    const e: Record<Side, number[]> = { A: [], B: [] };
    const f: Record<Side, number[]> = { A: [], B: [] };
    const s: Record<Side, number[]> = { A: [], B: [] };
    const c: Record<Side, number[]> = { A: [], B: [] };
    for (let i = -3; i < n; i++) {
      for (const side of order(i)) {
        const b = builds[side];
        let name = `e-${side}-${i + 3}`;
        let dir = await b.fn.writeHelloFunction(codeRoot, name, {}, name);
        await sleep(30);
        let start = process.hrtime.bigint();
        let r = await empty[side].invoke(b.cz.version(dir, name), { ...EVENT, requestId: name });
        if (r.error !== null) throw new Error(`${side}: empty-pool cold start failed: ${JSON.stringify(r.error)}`);
        if (i >= 0) e[side].push(msSince(start));
        name = `f-${side}-${i + 3}`;
        dir = await b.fn.writeHelloFunction(codeRoot, name, {}, name);
        // What a deploy does (controlplane/service/code-dirs.ts, `ensure`): bytecode compiled, then the pool told.
        await full[side].prepare(dir);
        await full[side].expect?.(dir, 'main:handler');
        for (let waited = 0; full[side].stats().generic < 1 || full[side].stats().spawning > 0; waited += 5) {
          if (waited > 15_000) throw new Error(`${side}: the pool did not refill`);
          await sleep(5);
        }
        await sleep(30);
        const cpu = process.cpuUsage();
        start = process.hrtime.bigint();
        const called = full[side].invoke({ ...b.cz.version(dir, name), memoryBytes: 256 * 2 ** 20 }, { ...EVENT, requestId: name });
        const sync = msSince(start); // the host's work on the event loop before invoke returns (the pick, the preset, the Instance)
        r = await called;
        const used = process.cpuUsage(cpu); // this process's CPU from the call to its result: the host's part (the runtime is another process)
        if (r.error !== null || r.start !== 'pool') throw new Error(`${side}: pool cold start failed or not from the pool: ${JSON.stringify(r.error ?? r.start)}`);
        if (i >= 0) {
          f[side].push(msSince(start));
          s[side].push(sync * 1000);
          c[side].push(used.user + used.system);
        }
      }
    }
    report('empty-pool cold start p50 (ms)', percentile(e.A, 50), percentile(e.B, 50));
    report('cold start from the pool p50 (ms)', percentile(f.A, 50), percentile(f.B, 50));
    report('cold start from the pool p99 (ms)', percentile(f.A, 99), percentile(f.B, 99));
    report('… invoke() until it returns p50 (µs)', percentile(s.A, 50), percentile(s.B, 50));
    report('… host CPU, call → result p50 (µs)', percentile(c.A, 50), percentile(c.B, 50));
  } finally {
    await Promise.all(SIDES.flatMap((side) => [empty[side].close(), full[side].close()]));
  }
}

const dir = await builds.B.fn.tempDir('ab-cold');
try {
  console.log(`A = ${roots.A}\nB = ${roots.B}\nn = ${n}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await ready(dir.path);
  await coldStarts(dir.path);
  console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await dir.remove();
}
process.exit(0);
