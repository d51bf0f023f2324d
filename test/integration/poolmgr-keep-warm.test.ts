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

  it('backs off starting again an instance that loads and then ends (no restart every reaper turn; red team of 2026-12-05)', async () => {
    // The module loads fine, then a thread ends the process 50 ms later: warmRefused never trips.
    const dir = await writeFunction({ 'main.py': py('import os, threading, time', 'threading.Thread(target=lambda: (time.sleep(0.05), os._exit(0)), daemon=True).start()', 'def handler(event, context):', '    return 1') });
    dirs.push(dir);
    const fn = fnVersion(dir, { minWarm: 1 });
    const starting = (): boolean => warmOf(fn.name).specializing > 0;
    pool.keepWarm(fn);
    // Starts seen over 3 s (a start is "specializing" for the fork and the import: tens of ms).
    let starts = 0;
    let was = false;
    const end = Date.now() + 3_000;
    while (Date.now() < end) {
      const now = starting();
      if (now && !was) starts++;
      was = now;
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    pool.drain(fn.name);
    // The reaper turns every 100 ms here: ~25 starts without the backoff; with it 100, 200, 400,
    // 800, 1600 ms apart: at most 6 (the first included).
    assert.ok(starts >= 2, `the instance was started ${starts} time(s): the test saw no replacement`);
    assert.ok(starts <= 7, `the instance was started ${starts} times in 3 s: a restart loop`);
  });
});
