/**
 * Section 3, with dependencies (issue 10): the cold start of a function that imports a declared
 * 5-package dependency set (`requests` and its four dependencies, resolved from PyPI by the real
 * sandboxed builder) next to the same hello function without dependencies, on one sandboxed
 * PoolManager, their calls interleaved over fresh versions like the sandbox rows. A third arm
 * uses a copy of the same site without its ahead-of-time bytecode (what a cold start would pay
 * if the platform did not compile at build time: the site is read-only in the box, so every
 * cold start compiles in memory). Nothing is installed on the call path in any arm.
 * Skipped with a note when PyPI cannot be reached.
 */
import { spawn } from 'node:child_process';
import { chmod, cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runBuild } from '../controlplane/deps/builder.js';
import { defaultPoolConfig, PoolManager, resolveSandbox, type FunctionVersion, type WireEvent } from '../poolmgr/index.js';
import type { BenchOptions } from './args.js';
import type { ColdSeries } from './cold.js';
import { tempDir, writeHelloFunction } from './functions.js';
import { PYTHON } from './paths.js';
import { sleep } from './servers.js';
import { msSince, summarize } from './stats.js';

const WARMUP_COLD = 3;
const REQUIREMENTS = 'requests==2.32.3\n';
const IMPORTS = 'import requests, urllib3, idna, certifi, charset_normalizer  # the 5 packages\n';

export interface DepsCold {
  /** What was installed, `name==version`. */
  packages: string[];
  buildMs: number;
  siteBytes: number;
  none: ColdSeries;
  deps: ColdSeries;
  /** The same site without __pycache__: compiled at every cold start. */
  depsNoBytecode: ColdSeries;
  /** A fresh `python -I` importing the same packages from the same site (with its bytecode), spawn to exit. */
  pythonSpawn: ColdSeries;
  /** Why the section did not run (no PyPI), else null. */
  skipped: string | null;
}

function series(samples: number[]): ColdSeries {
  return { samples: samples.map((s) => Math.round(s * 1000) / 1000), summary: summarize(samples) };
}

const EVENT: WireEvent = { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: 'bench-deps' };

export async function depsCold(opts: BenchOptions): Promise<DepsCold> {
  const dir = await tempDir('deps-cold');
  const depsRoot = join(dir.path, 'deps');
  const codeRoot = join(dir.path, 'code');
  const empty: DepsCold = { packages: [], buildMs: 0, siteBytes: 0, none: series([]), deps: series([]), depsNoBytecode: series([]), pythonSpawn: series([]), skipped: null };
  const pool = new PoolManager(defaultPoolConfig(
    { poolSize: opts.coldPoolSize, pythonPath: PYTHON, debug: opts.verbose, codeRoots: [codeRoot], depsRoot },
    { PATH: process.env['PATH'], LANG: process.env['LANG'] },
  ));
  try {
    const config = defaultPoolConfig({ pythonPath: PYTHON });
    const started = process.hrtime.bigint();
    const built = await runBuild({
      root: depsRoot, pythonPath: PYTHON, runtimeDir: dirname(config.runtimeEntry), path: process.env['PATH'] ?? '/usr/bin:/bin',
      sandbox: resolveSandbox('auto'), builderUid: 599_999, indexUrl: 'https://pypi.org/simple', extraIndexUrls: [], findLinks: null,
      allowSdist: false, caFile: '/etc/ssl/certs/ca-certificates.crt', allowHosts: [], timeoutMs: 300_000, maxBytes: 512 << 20,
      memoryBytes: 2048 << 20, concurrency: 1, keepMs: 3_600_000, cgroups: null, // a bench of build time: the rlimits only
    }, { input: new Map([['requirements.txt', Buffer.from(REQUIREMENTS)]]), scope: null, onPhase: () => undefined });
    const buildMs = msSince(started);
    if (!built.ok || built.lock === null) {
      if (built.error?.code === 'DEPS_INDEX_UNREACHABLE') return { ...empty, skipped: `PyPI unreachable: ${built.error.message.split('\n')[0]}` };
      throw new Error(`the dependency build failed: ${built.error?.code}: ${built.error?.message}`);
    }
    const site = join(depsRoot, built.lock, 'site');
    const bare = join(depsRoot, 'no-bytecode', 'site');
    await cp(site, bare, { recursive: true, filter: (src) => !src.endsWith('__pycache__') });

    await pool.start();
    const arms = [{ depsDir: null, ms: [] as number[] }, { depsDir: site, ms: [] as number[] }, { depsDir: bare, ms: [] as number[] }];
    const spawned: number[] = [];
    for (let i = -WARMUP_COLD; i < opts.coldN; i++) {
      const spawnMs = await pythonImports(site);
      if (i >= 0) spawned.push(spawnMs);
      for (const [k, arm] of arms.entries()) {
        const name = `deps-${i < 0 ? `w${-i}` : String(i).padStart(3, '0')}-${k}`;
        const fnDir = await writeHelloFunction(codeRoot, name, {}, `deps ${i} ${k}`);
        if (arm.depsDir !== null) {
          const main = join(fnDir, 'main.py');
          await writeFile(main, IMPORTS + (await readFile(main, 'utf8')));
        }
        await pool.prepare(fnDir);
        const fn: FunctionVersion = {
          name, version: 'v1', dir: fnDir, entrypoint: 'main:handler', env: {}, memoryBytes: 256 << 20, timeoutMs: 30_000,
          concurrency: 1, maxInstances: 1, minWarm: 0, maxQueue: 100, ...(arm.depsDir !== null ? { depsDir: arm.depsDir } : {}),
        };
        await waitForRefill(pool, opts.coldPoolSize);
        await sleep(20);
        const start = process.hrtime.bigint();
        const result = await pool.invoke(fn, EVENT);
        const ms = msSince(start);
        if (result.error) throw new Error(`cold call ${name} failed: ${result.error.code} ${result.error.message}`);
        if (i >= 0) arm.ms.push(ms);
      }
    }
    return {
      packages: built.packages.map((p) => `${p.name}==${p.version}`), buildMs, siteBytes: built.bytes,
      none: series(arms[0]!.ms), deps: series(arms[1]!.ms), depsNoBytecode: series(arms[2]!.ms), pythonSpawn: series(spawned), skipped: null,
    };
  } finally {
    await pool.close();
    await writable(dir.path);
    await dir.remove();
  }
}

/** Wall time of a fresh interpreter importing the packages from `site`, spawn to exit. */
function pythonImports(site: string): Promise<number> {
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(site)}); ${IMPORTS.split('#')[0]!.trim()}`;
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-I', '-c', code], { stdio: 'ignore', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    child.on('error', reject);
    child.on('exit', (c) => (c === 0 ? resolve(msSince(start)) : reject(new Error(`python importing the site exited with ${c}`))));
  });
}

async function waitForRefill(pool: PoolManager, size: number): Promise<void> {
  const start = Date.now();
  while (pool.stats().generic < size || pool.stats().spawning > 0) {
    if (Date.now() - start > 15_000) throw new Error('the pool did not refill in time');
    await sleep(5);
  }
}

/** Sites are published read-only; make them removable. */
async function writable(path: string): Promise<void> {
  await chmod(path, 0o755).catch(() => undefined);
  for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) await writable(join(path, entry.name));
  }
}
