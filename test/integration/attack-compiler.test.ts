/**
 * Red team 8: the deploy-time bytecode compiler (poolmgr/prepare.ts) runs as the platform's user,
 * outside any box, on Python source any `deployer` sends. Compiling never runs the code, but the
 * parser's memory is the host's: a 3 MiB file of one long list literal took ~1.1 GiB to compile
 * (a 10 MiB file, the per-file limit, ~4 GiB), and every deploy that found the compiler busy got a
 * process of its own, without bound. Bounded now: each compiler process has an address-space
 * limit (a folder it cannot compile within it gives false and compiles on first import, inside the
 * function's box and limits), and at most two compile at once, a few more wait, the rest are not
 * compiled ahead.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import { openPool, removeFunction, writeFunction } from './poolmgr-harness.js';

/** A list literal of `items` ones: tiny to upload, huge for the parser. */
function hostile(items: number): string {
  return `X = [${'1,'.repeat(items)}]\n`;
}

/** Pids of this process's descendants running the compiler, with their resident memory (bytes). */
function compilers(): { pid: number; rss: number }[] {
  const parents = new Map<number, number>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      parents.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const mine = (pid: number): boolean => {
    for (let at = parents.get(pid), hops = 0; at !== undefined && hops < 8; at = parents.get(at), hops++) if (at === process.pid) return true;
    return false;
  };
  const out: { pid: number; rss: number }[] = [];
  for (const pid of parents.keys()) {
    if (!mine(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('compileall')) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      out.push({ pid, rss: rss === null ? 0 : Number(rss[1]) * 1024 });
    } catch {
      // gone
    }
  }
  return out;
}

/** Samples the compilers every 25 ms while `work` runs: the most memory and processes seen at once. */
async function watch<T>(work: Promise<T>): Promise<{ value: T; peakBytes: number; peakProcesses: number }> {
  let peakBytes = 0;
  let peakProcesses = 0;
  const timer = setInterval(() => {
    const now = compilers();
    peakBytes = Math.max(peakBytes, now.reduce((sum, c) => sum + c.rss, 0));
    peakProcesses = Math.max(peakProcesses, now.length);
  }, 25);
  try {
    return { value: await work, peakBytes, peakProcesses };
  } finally {
    clearInterval(timer);
  }
}

const GiB = 1024 ** 3;

describe('attack: the deploy-time bytecode compiler against hostile source', () => {
  let pool: PoolManager;
  const dirs: string[] = [];
  before(async () => {
    pool = await openPool({ poolSize: 0 });
  });
  after(async () => {
    await pool.close();
    for (const dir of dirs) await removeFunction(dir);
  });

  it('a 3 MiB list literal does not take the host past the compiler\'s memory limit (it compiles on first import instead)', async () => {
    const dir = await writeFunction({ 'main.py': 'def handler(event, context):\n    return 1\n', 'data.py': hostile(1_500_000) });
    dirs.push(dir);
    const seen = await watch(pool.prepare(dir));
    assert.equal(seen.value, false, 'the hostile folder compiled: nothing bounded the compiler');
    assert.ok(seen.peakBytes < 0.75 * GiB, `the compiler held ${(seen.peakBytes / GiB).toFixed(2)} GiB`);
  });

  it('many deploys at once start at most two compilers; every one is answered', async () => {
    const folders = await Promise.all(Array.from({ length: 6 }, (_, i) => writeFunction({ 'main.py': `V = ${i}\n`, 'data.py': hostile(400_000) })));
    dirs.push(...folders);
    const seen = await watch(Promise.all(folders.map((d) => pool.prepare(d))));
    assert.equal(seen.value.length, 6);
    assert.ok(seen.peakProcesses <= 2, `${seen.peakProcesses} compiler processes at once`);
  });
});
