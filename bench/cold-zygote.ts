/**
 * Section 3, zygotes (docs/adr/0019-zygotes.md): each figure side by side with the spawn path, in
 * one run, the two arms interleaved one for one (so load from other work hits both alike).
 *
 * - ready:     ProcessHost.spawn() → the runtime's hello; a host whose default zygote forks vs a
 *              host that spawns a fresh interpreter (both boxed the same way).
 * - USS:       private memory (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup) of an idle
 *              generic runtime: its box's processes together (keeper unless forked in root mode, init, runtime), forked vs
 *              spawned, averaged over a few runtimes started and left idle.
 * - emptyPool: PoolManager with poolSize 0 (nothing ready, as after scaling everything to zero):
 *              invoke of a fresh version, wall time, zygotes on vs off.
 * - fastapi:   a fresh FastAPI app version (one route) on a pool with zygotes: its entrypoint
 *              module imports fastapi, so it starts on the fastapi preset (forked from the zygote
 *              that imported fastapi, pydantic and starlette), vs the same app whose entrypoint
 *              imports it through a module of its own, so it starts on the default preset (a
 *              generic runtime from the refilled pool) and pays the imports; and a third arm, the
 *              app with a dependency site holding what a requirements.txt naming `fastapi`
 *              resolves to (the preset's distributions at the same versions, copied from the
 *              platform's environment, as the builder installs them): on the preset too.
 * - bound:     a fresh handler version with a data binding, its first call importing what
 *              `context.db`'s first use imports (fp_runtime/data.py), on the preset a bound version
 *              starts on (fastapi: forked from the zygote that has imported pymongo too, ADR 0163) vs
 *              the same handler unbound (the default preset: a generic runtime from the refilled
 *              pool, where a bound version started before, paying the import). The database
 *              connection itself is not part of it (no server here).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPoolConfig, PoolManager, ProcessHost, resolveSandbox, type FunctionVersion, type HostedRuntime } from '../poolmgr/index.js';
import { normalizedDist } from '../poolmgr/host/site-packages.js';
import { FrameDecoder } from '../protocol/frames.js';
import type { BenchOptions } from './args.js';
import type { ColdSeries } from './cold.js';
import { tempDir, writeHelloFunction } from './functions.js';
import { PYTHON } from './paths.js';
import { sleep } from './servers.js';
import { msSince, summarize } from './stats.js';

const SETTLE_MS = 30;
const USS_RUNTIMES = 5;
/** FastAPI cold starts per arm: the default-preset arm costs ~0.4 s each. */
const FASTAPI_N = 20;

export interface ZygoteCold {
  mode: string;
  ready: { fork: ColdSeries; spawn: ColdSeries };
  /** Average private bytes of one idle generic runtime: its box (init + runtime, and a keeper outside root mode or when spawned), and the runtime process alone. */
  uss: { fork: number; spawn: number; forkRuntime: number; spawnRuntime: number; runtimes: number };
  emptyPool: { fork: ColdSeries; spawn: ColdSeries; notForked: number };
  /** `sameSite`: on the preset with a dependency site of the preset's own distributions (requirements.txt naming fastapi); absent in results of before 2026-12-04. */
  fastapi: { preset: ColdSeries; default: ColdSeries; sameSite?: ColdSeries };
  /** Absent in results of before 2026-12-06. */
  bound?: { preset: ColdSeries; default: ColdSeries };
}

function series(samples: number[]): ColdSeries {
  return { samples: samples.map((s) => Math.round(s * 1000) / 1000), summary: summarize(samples) };
}

function host(codeRoot: string, zygotes: boolean): ProcessHost {
  const config = defaultPoolConfig({ codeRoots: [codeRoot], pythonPath: PYTHON });
  return new ProcessHost({ ...config, sandbox: resolveSandbox(config.sandbox), zygotes });
}

/** Spawns one runtime; resolves with it once it said hello. */
export function hello(h: ProcessHost): Promise<HostedRuntime> {
  const rt = h.spawn({ onExit: () => {} });
  const channel = h.connect(rt);
  const decoder = new FrameDecoder();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no hello: ${h.lastOutput(rt)}`)), 30_000);
    channel.on('error', () => {});
    channel.on('data', (chunk: Buffer) => {
      if (decoder.push(chunk).length > 0) {
        clearTimeout(timer);
        resolve(rt);
      }
    });
  });
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The runtime process: the last of the (keeper →) init → runtime chain. */
export function deepest(pid: number): number {
  const [child] = children(pid);
  return child === undefined ? pid : deepest(child);
}

/** Private bytes of `pid` and (unless `tree` is false) every descendant. */
export function privateBytes(pid: number, tree = true): number {
  let total = 0;
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    for (const field of ['Private_Clean', 'Private_Dirty']) {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup);
      if (m) total += Number(m[1]) * 1024;
    }
    if (tree) for (const child of children(pid)) total += privateBytes(child);
  } catch {
    // gone meanwhile
  }
  return total;
}

async function readyAndUss(codeRoot: string, n: number): Promise<Pick<ZygoteCold, 'ready' | 'uss'>> {
  const forking = host(codeRoot, true);
  const spawning = host(codeRoot, false);
  try {
    if (!await forking.zygotesReady(60_000)) throw new Error('the zygote did not start');
    const fork: number[] = [];
    const spawn: number[] = [];
    for (let i = -3; i < n; i++) {
      for (const [h, out] of [[forking, fork], [spawning, spawn]] as const) {
        await sleep(SETTLE_MS);
        const start = process.hrtime.bigint();
        const rt = await hello(h);
        const ms = msSince(start);
        if (i >= 0) out.push(ms);
        h.destroy(rt);
      }
    }
    const uss = { fork: 0, spawn: 0, forkRuntime: 0, spawnRuntime: 0, runtimes: USS_RUNTIMES };
    for (const [h, key] of [[forking, 'fork'], [spawning, 'spawn']] as const) {
      const rts: HostedRuntime[] = [];
      for (let i = 0; i < USS_RUNTIMES; i++) rts.push(await hello(h));
      await sleep(500); // idle, as in the pool
      uss[key] = rts.reduce((sum, rt) => sum + privateBytes(rt.pid), 0) / USS_RUNTIMES;
      uss[`${key}Runtime`] = rts.reduce((sum, rt) => sum + privateBytes(deepest(rt.pid), false), 0) / USS_RUNTIMES;
      for (const rt of rts) h.destroy(rt);
    }
    return { ready: { fork: series(fork), spawn: series(spawn) }, uss };
  } finally {
    await Promise.all([forking.close(), spawning.close()]);
  }
}

export function version(dir: string, name: string, entrypoint = 'main:handler'): FunctionVersion {
  return { name, version: 'v1', dir, entrypoint, env: {}, memoryBytes: 0, timeoutMs: 30_000, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 };
}

async function emptyPool(codeRoot: string, n: number): Promise<ZygoteCold['emptyPool']> {
  const config = (zygotes: boolean) => defaultPoolConfig({ poolSize: 0, codeRoots: [codeRoot], pythonPath: PYTHON, zygotes });
  const pools = [new PoolManager(config(true)), new PoolManager(config(false))] as const;
  try {
    await Promise.all(pools.map((p) => p.start()));
    const out: [number[], number[]] = [[], []];
    let notForked = 0;
    for (let i = -3; i < n; i++) {
      for (const [k, pool] of pools.entries()) {
        const dir = await writeHelloFunction(codeRoot, `empty-${k}-${i + 3}`, {}, `empty ${k} ${i}`);
        await sleep(SETTLE_MS);
        const start = process.hrtime.bigint();
        const r = await pool.invoke(version(dir, `empty-${k}-${i + 3}`), { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: `e${k}-${i}` });
        const ms = msSince(start);
        if (r.error !== null) throw new Error(`empty-pool cold start failed: ${JSON.stringify(r.error)}`);
        if (i >= 0) out[k]!.push(ms);
        if (k === 0 && r.start !== 'spawn') notForked++;
      }
    }
    return { fork: series(out[0]), spawn: series(out[1]), notForked };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

export const FASTAPI_APP = [
  'from fastapi import FastAPI',
  'from pydantic import BaseModel',
  'class Item(BaseModel):',
  '    name: str',
  '    price: float',
  'app = FastAPI()',
  '@app.get("/")',
  'def root() -> Item:',
  '    return Item(name="x", price=1.0)',
  '',
].join('\n');

/**
 * A dependency site as the builder makes it for a requirements.txt naming `fastapi` that resolves
 * to the platform's own versions: each module the fastapi zygote imported, with its .dist-info,
 * copied from the platform's environment.
 */
async function presetSite(site: string, dists: Readonly<Record<string, string | null>>): Promise<void> {
  const purelib = join(PYTHON, '..', '..', 'lib', readdirSync(join(PYTHON, '..', '..', 'lib')).find((d) => d.startsWith('python'))!, 'site-packages');
  const entries = readdirSync(purelib);
  await mkdir(site, { recursive: true });
  for (const [module, dist] of Object.entries(dists)) {
    for (const e of entries) {
      const distInfo = e.endsWith('.dist-info') && normalizedDist(e.slice(0, -'.dist-info'.length)) === dist;
      if (e === module || e === `${module}.py` || distInfo) await cp(join(purelib, e), join(site, e), { recursive: true });
    }
  }
}

async function fastapi(codeRoot: string, n: number): Promise<ZygoteCold['fastapi']> {
  const depsRoot = join(codeRoot, 'deps');
  await mkdir(depsRoot, { recursive: true });
  const pool = new PoolManager(defaultPoolConfig({ poolSize: 1, codeRoots: [codeRoot], pythonPath: PYTHON, depsRoot }));
  try {
    await pool.start();
    const h = (pool as unknown as { host: ProcessHost }).host;
    if (!await h.zygotesReady(60_000, ['default', 'fastapi'])) throw new Error('the fastapi zygote did not start');
    const site = join(depsRoot, 'fastapi-same', 'site');
    await presetSite(site, h.zygote('fastapi')!.dists);
    const out: [number[], number[], number[]] = [[], [], []];
    for (let i = -2; i < n; i++) {
      for (const k of [0, 1, 2] as const) {
        const name = `fastapi-${k}-${i + 2}`;
        const dir = join(codeRoot, name);
        await mkdir(dir, { recursive: true });
        if (k === 1) {
          await writeFile(join(dir, 'impl.py'), FASTAPI_APP);
          await writeFile(join(dir, 'main.py'), 'from impl import app\n');
        } else await writeFile(join(dir, 'main.py'), FASTAPI_APP);
        for (let w = 0; w < 500 && (pool.stats().generic < 1 || pool.stats().spawning > 0); w++) await sleep(10);
        await sleep(SETTLE_MS);
        const start = process.hrtime.bigint();
        const fn = { ...version(dir, name, 'main:app'), ...(k === 2 ? { depsDir: site } : {}) };
        const r = await pool.invoke(fn, { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: `f${k}-${i}` });
        const ms = msSince(start);
        if (r.error !== null || r.response?.status !== 200) throw new Error(`FastAPI cold start failed: ${JSON.stringify(r.error ?? r.response?.status)}`);
        if (i >= 0) out[k].push(ms);
        // Each measured version goes, as a redeploy's old one does, before the next is measured:
        // kept, 66 idle FastAPI instances reached the pool's instance cap (64), so the last third of
        // the cold starts also stopped an idle instance to make room and ran beside its teardown
        // (50-77 ms instead of 16-27; bench/README.md, results of 2026-12-05 10:40).
        pool.drain(name);
        for (let w = 0; w < 500 && (pool.stats().warm > 0 || pool.stats().busy > 0); w++) await sleep(10);
      }
    }
    return { preset: series(out[0]), default: series(out[1]), sameSite: series(out[2]) };
  } finally {
    await pool.close();
  }
}

/** What `context.db`'s first use imports (fp_runtime/data.py: `client()` and `_make_classes()`). */
const BOUND_HANDLER = [
  'def handler(event, context):',
  '    from pymongo import MongoClient',
  '    from pymongo.collection import Collection',
  '    from pymongo.database import Database',
  '    return {"ok": True}',
  '',
].join('\n');

async function bound(codeRoot: string, n: number): Promise<NonNullable<ZygoteCold['bound']>> {
  const pool = new PoolManager(defaultPoolConfig({ poolSize: 1, codeRoots: [codeRoot], pythonPath: PYTHON }));
  try {
    await pool.start();
    const out: [number[], number[]] = [[], []];
    for (let i = -2; i < n; i++) {
      for (const k of [0, 1] as const) {
        const name = `bound-${k}-${i + 2}`;
        const dir = join(codeRoot, name);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'main.py'), BOUND_HANDLER);
        await pool.expect(dir, 'main:handler', k === 0); // its deploy: bound (k 0) or not
        for (let w = 0; w < 500 && (pool.stats().generic < 1 || pool.stats().spawning > 0); w++) await sleep(10);
        await sleep(SETTLE_MS);
        const start = process.hrtime.bigint();
        const r = await pool.invoke(version(dir, name), { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: `b${k}-${i}` });
        const ms = msSince(start);
        if (r.error !== null) throw new Error(`bound cold start failed: ${JSON.stringify(r.error)}`);
        if (i >= 0) out[k].push(ms);
        pool.drain(name);
        for (let w = 0; w < 500 && (pool.stats().warm > 0 || pool.stats().busy > 0); w++) await sleep(10);
      }
    }
    return { preset: series(out[0]), default: series(out[1]) };
  } finally {
    await pool.close();
  }
}

export async function zygoteCold(opts: BenchOptions): Promise<ZygoteCold> {
  const dir = await tempDir('zygote');
  try {
    const { ready, uss } = await readyAndUss(dir.path, opts.coldN);
    const empty = await emptyPool(dir.path, opts.coldN);
    const fa = await fastapi(dir.path, Math.min(opts.coldN, FASTAPI_N));
    const bd = await bound(dir.path, Math.min(opts.coldN, FASTAPI_N));
    return { mode: resolveSandbox('auto'), ready, uss, emptyPool: empty, fastapi: fa, bound: bd };
  } finally {
    await dir.remove();
  }
}
