/**
 * The start budget after crashes (docs/adr/0158-a-start-budget-after-crashes.md), with real
 * runtimes: every way an instance of a function can end by its own doing spends its budget, the
 * platform's own shutdowns (drain, reap) do not, a call past the budget waits for it within its
 * timeout or is refused with FUNCTION_CRASH_LOOP, and a version that crashed lately leaves the
 * generic runtimes to the other functions.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { FunctionVersion, PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, keyOf, py, until, usePool, writeFunction } from './poolmgr-harness.js';

const HANDLER = py(
  'import os, time',
  'if os.environ.get("DIE_AT_IMPORT") == "1": os._exit(1)',
  'def handler(event, context):',
  '    q = event["query"]',
  '    if "sleep" in q: time.sleep(float(q["sleep"]))',
  '    if "exit" in q: os._exit(int(q["exit"]))',
  '    if "kill" in q: os.kill(os.getpid(), 9)',
  '    if "segv" in q:',
  '        import ctypes',
  '        ctypes.string_at(0)',
  '    if "alloc" in q: blob = bytearray(int(q["alloc"])); blob[-1] = 1',
  '    if "garbage" in q: os.write(3, b"\\xff\\xff\\xff\\xff")',
  '    return {"pid": os.getpid()}',
);

/** A version of its own workspace (each test's budgets are its own). */
function version(dir: string, overrides: Partial<FunctionVersion> = {}): FunctionVersion {
  const fn = fnVersion(dir, overrides);
  return { ...fn, name: `${fn.name}.w-${randomUUID().slice(0, 8)}` };
}

/** A pool with this budget, and a folder of HANDLER: `site.pool`, `site.dir` once the tests run. */
function useBudgetPool(burst: number, perMinute: number, reapIntervalMs = 1_000): { pool: PoolManager; dir: string } {
  const held = usePool({ poolSize: 2, crashStartBurst: burst, crashStartsPerMinute: perMinute, reapIntervalMs });
  const site = { pool: null as unknown as PoolManager, dir: '' };
  before(async () => {
    site.pool = held.pool;
    held.dirs.push(site.dir = await writeFunction({ 'main.py': HANDLER }));
  });
  return site;
}

describe('start budget after crashes: one end, then the budget (burst 1, 1 a minute)', () => {
  const site = useBudgetPool(1, 1);
  let pool: PoolManager;
  let dir: string;
  before(() => ({ pool, dir } = site));

  const ends: [string, Partial<FunctionVersion>, Record<string, string>, string][] = [
    ['an exit', {}, { exit: '3' }, 'RUNTIME_CRASHED'],
    ['a signal', {}, { kill: '1' }, 'RUNTIME_CRASHED'],
    ['a segfault (ctypes)', {}, { segv: '1' }, 'RUNTIME_CRASHED'],
    // Past 16 × 64Mi of address space (ADR 0202): a MemoryError whether or not a memory cgroup bounds the box.
    ['its memory limit', { memoryBytes: 64 * 1024 * 1024 }, { alloc: String(2 ** 36) }, 'FUNCTION_OUT_OF_MEMORY'],
    ['a timeout kill', { timeoutMs: 300 }, { sleep: '10' }, 'FUNCTION_TIMEOUT'],
    ['a crash during its load', { env: { DIE_AT_IMPORT: '1' } }, {}, 'FUNCTION_INIT_FAILED'],
    ['a broken protocol', {}, { garbage: '1' }, 'RUNTIME_PROTOCOL_ERROR'],
  ];
  for (const [how, overrides, query, code] of ends) {
    it(`counts ${how}: the next call is refused with FUNCTION_CRASH_LOOP and starts nothing`, async () => {
      const fn = version(dir, overrides);
      const first = await pool.invoke(fn, ev(query));
      assert.equal(first.error?.code, code, JSON.stringify(first.error));
      const second = await pool.invoke(fn, ev());
      assert.equal(second.error?.code, 'FUNCTION_CRASH_LOOP', JSON.stringify(second.error));
      assert.equal(second.error?.class, null);
      assert.equal(second.error?.details?.['budget'], 'function');
      assert.equal(second.error?.details?.['crashes'], 1);
      assert.equal(second.error?.details?.['lastCode'], code);
      assert.ok(Number(second.error?.details?.['retryAfterS']) >= 1, JSON.stringify(second.error?.details));
      assert.equal(second.instanceId, null);
      const stats = pool.stats().functions[keyOf(fn)];
      assert.equal((stats?.specializing ?? 0) + (stats?.warm ?? 0), 0, 'no instance was started for it');
    });
  }

  it('does not count the platform\'s own shutdowns (drains): a healthy function is never held', async () => {
    const fn = version(dir);
    for (let i = 0; i < 4; i++) {
      const result = await pool.invoke(fn, ev());
      assert.equal(result.error, null, JSON.stringify(result.error));
      pool.drain(fn.name);
      await until(() => (pool.stats().functions[keyOf(fn)]?.warm ?? 0) === 0, 15_000, 'the drained instance to go');
    }
  });

  it('holds a version only: another version of the same function (a deploy) starts at once', async () => {
    const v1 = version(dir);
    assert.equal((await pool.invoke(v1, ev({ exit: '3' }))).error?.code, 'RUNTIME_CRASHED');
    assert.equal((await pool.invoke(v1, ev())).error?.code, 'FUNCTION_CRASH_LOOP');
    const v2 = { ...v1, version: 'v2' };
    const fresh = await pool.invoke(v2, ev());
    assert.equal(fresh.error, null, JSON.stringify(fresh.error));
  });
});

describe('start budget after crashes: waiting for it (burst 1, 60 a minute)', () => {
  const site = useBudgetPool(1, 60);
  let pool: PoolManager;
  let dir: string;
  before(() => ({ pool, dir } = site));

  it('a call within its timeout waits for the budget, then runs', async () => {
    const fn = version(dir, { timeoutMs: 30_000 });
    assert.equal((await pool.invoke(fn, ev({ exit: '3' }))).error?.code, 'RUNTIME_CRASHED');
    const waited = await pool.invoke(fn, ev());
    assert.equal(waited.error, null, JSON.stringify(waited.error));
    assert.ok(waited.queuedMs > 0, `queuedMs ${waited.queuedMs}`);
  });

  it('a version past its budget (lately) forks a runtime of its own: the generic runtimes are left to the others', async () => {
    const fn = version(dir, { timeoutMs: 30_000 });
    assert.equal((await pool.invoke(fn, ev({ exit: '3' }))).error?.code, 'RUNTIME_CRASHED');
    await until(() => pool.stats().generic === 2, 15_000, 'a full generic pool');
    const next = await pool.invoke(fn, ev());
    assert.equal(next.error, null, JSON.stringify(next.error));
    assert.equal(next.start, 'spawn', JSON.stringify(pool.stats()));
    assert.equal(pool.stats().generic, 2);
  });

  it('calls queued behind a spent budget are all served once it comes back (no call is lost)', async () => {
    const fn = version(dir, { timeoutMs: 30_000 });
    assert.equal((await pool.invoke(fn, ev({ exit: '3' }))).error?.code, 'RUNTIME_CRASHED');
    const results = await Promise.all(Array.from({ length: 5 }, () => pool.invoke(fn, ev())));
    for (const result of results) assert.equal(result.error, null, JSON.stringify(result.error));
  });

  it('a call queued behind one whose new instance crashed again waits for the budget again, and runs', async () => {
    const fn = version(dir, { timeoutMs: 10_000 });
    assert.equal((await pool.invoke(fn, ev({ exit: '3' }))).error?.code, 'RUNTIME_CRASHED');
    // Both wait for the budget; the first gets the start that comes back, and crashes it.
    const first = pool.invoke(fn, ev({ exit: '3' }));
    const second = pool.invoke(fn, ev());
    assert.equal((await first).error?.code, 'RUNTIME_CRASHED');
    const served = await second;
    assert.equal(served.error, null, JSON.stringify(served.error));
  });

  it('a call whose timeout ends before the budget comes back is refused at once', async () => {
    const fn = version(dir, { timeoutMs: 100 });
    assert.equal((await pool.invoke(fn, ev({ exit: '3' }))).error?.code, 'RUNTIME_CRASHED');
    const refused = await pool.invoke(fn, ev());
    assert.equal(refused.error?.code, 'FUNCTION_CRASH_LOOP', JSON.stringify(refused.error));
    // The budget comes back on its own: a later call runs.
    let served = false;
    await until(() => {
      void pool.invoke(fn, ev()).then((result) => { served ||= result.error === null; });
      return served;
    }, 15_000, 'the budget to come back');
  });
});

describe('start budget after crashes: minWarm (burst 1, 1 a minute, the reaper every 50 ms)', () => {
  const site = useBudgetPool(1, 1, 50);

  it('the reaper starts no minWarm instance again while the budget is spent', async () => {
    // Loads, then a thread ends the process: before the reaper's backoff (red team of 2026-12-05)
    // this was a start a second for good; the backoff starts again after 50, 100, 200… ms here.
    const dir = await writeFunction({ 'main.py': py(
      'import os, threading, time',
      'threading.Thread(target=lambda: (time.sleep(0.2), os._exit(0)), daemon=True).start()',
      'def handler(event, context):',
      '    return 1',
    ) });
    const fn = version(dir, { minWarm: 2, maxInstances: 2 });
    site.pool.keepWarm(fn);
    const alive = (): number => { const st = site.pool.stats().functions[keyOf(fn)]; return (st?.warm ?? 0) + (st?.specializing ?? 0); };
    await until(() => alive() === 2, 15_000, 'the two minWarm instances');
    await until(() => alive() === 0, 15_000, 'both to end');
    // Watched for 30 reaper turns and more: none is started again (without the budget, one was within a turn or two).
    let started = 0;
    for (let i = 0; i < 75; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      started = Math.max(started, alive());
    }
    assert.equal(started, 0);
    site.pool.drain(fn.name);
  });
});
