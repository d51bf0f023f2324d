/**
 * PoolManager.keepWarm (docs/poolmgr.md, "Idle reaping, minWarm, drain"): a version with a minWarm
 * gets its instances started ahead of any call and kept; one that ends is replaced by the reaper;
 * a version whose instance does not load gets no other started ahead (no restart loop) until the
 * next keepWarm. Real pool, real runtimes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, openPool, py, removeFunction, until, writeFunction } from './poolmgr-harness.js';

describe('keepWarm', () => {
  let pool: PoolManager;
  const dirs: string[] = [];
  before(async () => {
    pool = await openPool({ reapIntervalMs: 100 });
  });
  after(async () => {
    await pool.close();
    for (const dir of dirs) await removeFunction(dir);
  });

  const warmOf = (name: string): { warm: number; specializing: number } => {
    const found = Object.values(pool.stats().functions).find((f) => f.name === name);
    return { warm: found?.warm ?? 0, specializing: found?.specializing ?? 0 };
  };

  it('starts minWarm instances before any call; the first call is warm; an instance that ends is replaced', async () => {
    const dir = await writeFunction({ 'main.py': py('import os', 'def handler(event, context):', '    if event["query"].get("die"):', '        os._exit(3)', '    return "ok"') });
    dirs.push(dir);
    const fn = fnVersion(dir, { minWarm: 2 });
    pool.keepWarm(fn);
    await until(() => warmOf(fn.name).warm === 2, 15_000, 'two warm instances');
    const first = await pool.invoke(fn, ev());
    assert.equal(first.error, null);
    assert.equal(first.cold, false, 'the first call found a warm instance');
    // An instance dies (its process exits in a call): the reaper starts another.
    const died = await pool.invoke(fn, ev({ die: '1' }));
    assert.notEqual(died.error, null);
    await until(() => warmOf(fn.name).warm === 2, 15_000, 'two warm instances again');
    const after = await pool.invoke(fn, ev());
    assert.equal(after.cold, false, 'a warm instance took the next call');
  });

  it('starts no other instance ahead for a version whose instance does not load, until the next keepWarm', async () => {
    const dir = await writeFunction({ 'main.py': py('raise RuntimeError("broken at import")', 'def handler(event, context):', '    return 1') });
    dirs.push(dir);
    const fn = fnVersion(dir, { minWarm: 1 });
    const starts = (): number => pool.stats().functions[`${fn.name}@${fn.version}`] === undefined ? 0 : 1;
    pool.keepWarm(fn);
    await until(() => warmOf(fn.name).specializing === 0 && starts() === 0, 15_000, 'the failed instance gone');
    // Several reaper turns: nothing started again.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(warmOf(fn.name).specializing + warmOf(fn.name).warm, 0, 'a restart loop');
    }
  });
});
