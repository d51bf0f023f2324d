/**
 * Instance lifecycle: idle reaping (scale to zero) and minWarm, drain of old versions, and
 * close() leaving no child process behind. Real runtime processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import {
  childPids, ev, fnVersion, isAlive, keyOf, openPool, pidOf, removeFunction, STEERED_HANDLER, until, writeFunction,
} from './poolmgr-harness.js';

describe('poolmgr idle reaping', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ poolSize: 2, idleTimeoutMs: 200, reapIntervalMs: 50 });
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('shuts an idle instance down after idleTimeoutMs, and the next call is cold again', async () => {
    const fn = fnVersion(dir);
    const first = await pool.invoke(fn, ev());
    assert.equal(first.start, 'pool');
    const pid = pidOf(first);
    await until(() => (pool.stats().functions[keyOf(fn)]?.warm ?? 0) === 0, 15_000, 'the reap');
    await until(() => !isAlive(pid), 15_000, 'the reaped process to exit');
    assert.equal(pool.stats().warm, 0);
    assert.equal(pool.stats().scaledToZero[fn.name], 1, 'one scale-to-zero event');
    // A deleted function's count goes with it (the control plane drains, then forgets it).
    const other = fnVersion(await writeFunction({ 'main.py': STEERED_HANDLER }));
    assert.equal((await pool.invoke(other, ev())).error, null);
    await until(() => pool.stats().scaledToZero[other.name] === 1, 15_000, 'the other function\'s scale to zero');
    pool.drain(other.name);
    pool.forget(other.name);
    assert.equal(pool.stats().scaledToZero[other.name], undefined, 'forgotten');
    await removeFunction(other.dir);
    const next = await pool.invoke(fn, ev());
    assert.equal(next.error, null);
    assert.equal(next.cold, true);
    assert.notEqual(pidOf(next), pid);
  });

  it('keeps minWarm instances when idle', async () => {
    const fn = fnVersion(dir, { minWarm: 1, maxInstances: 2 });
    const both = await Promise.all([pool.invoke(fn, ev({ sleep: '0.2' })), pool.invoke(fn, ev({ sleep: '0.2' }))]);
    assert.equal(new Set(both.map((r) => r.instanceId)).size, 2);
    await until(() => pool.stats().functions[keyOf(fn)]?.warm === 1, 15_000, 'one instance reaped');
    await new Promise((r) => setTimeout(r, 400)); // several more reaper passes
    assert.equal(pool.stats().functions[keyOf(fn)]?.warm, 1);
    assert.equal(pool.stats().scaledToZero[fn.name] ?? 0, 0, 'minWarm kept one: no scale to zero');
    const next = await pool.invoke(fn, ev());
    assert.equal(next.start, 'warm');
  });
});

describe('poolmgr drain', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ poolSize: 2 });
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('shuts down idle instances of other versions and lets busy ones finish first', async () => {
    const v1 = fnVersion(dir, { version: 'v1', maxInstances: 2 });
    const v2 = { ...v1, version: 'v2' };
    const idle = await pool.invoke(v1, ev());
    const idlePid = pidOf(idle);
    const busyCall = pool.invoke(v1, ev({ sleep: '0.4' }));
    await until(() => pool.stats().functions[keyOf(v1)]?.busy === 1, 15_000, 'a busy v1 instance');
    assert.equal((await pool.invoke(v2, ev())).error, null);

    pool.drain(v1.name, 'v2');
    assert.equal(pool.stats().functions[keyOf(v1)]?.warm ?? 0, 0);
    await until(() => !isAlive(idlePid), 15_000, 'the idle v1 instance to exit');
    const busy = await busyCall;
    assert.equal(busy.error, null);
    await until(() => !isAlive(pidOf(busy)), 15_000, 'the busy v1 instance to exit once done');
    const again = await pool.invoke(v2, ev());
    assert.equal(again.start, 'warm');
  });
});

describe('poolmgr close', () => {
  it('shuts every runtime down, leaves no child process, and refuses later calls', async () => {
    const pool = await openPool({ poolSize: 2 });
    const dir = await writeFunction({ 'main.py': STEERED_HANDLER });
    try {
      const fn = fnVersion(dir, { maxInstances: 3 });
      await Promise.all([1, 2, 3].map(() => pool.invoke(fn, ev({ sleep: '0.1' }))));
      const inFlight = pool.invoke(fn, ev({ sleep: '5' }));
      const pids = childPids();
      assert.ok(pids.length >= 3, `expected runtimes to be running, saw ${pids.length}`);
      await pool.close();
      assert.deepEqual(pids.filter(isAlive), []);
      assert.deepEqual(childPids(), []);
      assert.equal((await inFlight).error?.code, 'SHUTTING_DOWN');
      assert.equal((await pool.invoke(fn, ev())).error?.code, 'SHUTTING_DOWN');
    } finally {
      await pool.close();
      await removeFunction(dir);
    }
  });
});

describe('poolmgr prepare', () => {
  it('compiles a version\'s bytecode ahead, and says false for a file that does not compile', async () => {
    const { readdir } = await import('node:fs/promises');
    const pool = await openPool({ poolSize: 0 });
    const good = await writeFunction({ 'main.py': STEERED_HANDLER, 'lib/util.py': 'X = 1\n' });
    const bad = await writeFunction({ 'main.py': 'def handler(event, context):\n    return (\n' });
    try {
      assert.equal(await pool.prepare(good), true);
      assert.ok((await readdir(`${good}/__pycache__`)).some((f) => f.startsWith('main.') && f.endsWith('.pyc')));
      assert.ok((await readdir(`${good}/lib/__pycache__`)).some((f) => f.startsWith('util.')));
      assert.equal(await pool.prepare(bad), false);
      // The prepared version still runs, from its cached bytecode.
      const result = await pool.invoke(fnVersion(good), ev());
      assert.equal(result.error, null);
    } finally {
      await pool.close();
      await removeFunction(good);
      await removeFunction(bad);
    }
  });
});
