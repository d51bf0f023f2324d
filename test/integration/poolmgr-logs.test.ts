/**
 * A call's logs and handler time when it fails, through the pool with real runtimes: a call the
 * runtime never answered (timeout, SIGKILL, os._exit, the kernel's OOM killer) keeps the lines it
 * streamed; a fatal MemoryError keeps its lines; other calls on a killed instance keep only their
 * own; a failed call reports the time its handler ran.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import type { LogLine } from '../../protocol/index.js';
import { ev, fnVersion, keyOf, openPool, py, removeFunction, until, writeFunction } from './poolmgr-harness.js';

/**
 * Prints at import, then in the call "<requestId> before", waits `sleep` seconds (0.3 by default,
 * several flush intervals) and fails as `how` says: raise, hang, kill (SIGKILL itself), exit
 * (os._exit at once, no wait), alloc (past RLIMIT_AS: MemoryError), shm (fills /dev/shm past the
 * cgroup limit: only the kernel can stop that).
 */
const FAILING = py(
  'import os, time',
  'print("imported")',
  'def handler(event, context):',
  '    q = event["query"]',
  '    print(event["requestId"], "before")',
  '    if q["how"] != "exit":',
  '        time.sleep(float(q.get("sleep", "0.3")))',
  '    if q["how"] == "raise": raise ValueError("failed late")',
  '    if q["how"] == "hang": time.sleep(60)',
  '    if q["how"] == "kill": os.kill(os.getpid(), 9)',
  '    if q["how"] == "exit": os._exit(3)',
  '    if q["how"] == "alloc": blob = bytearray(1 << 36); blob[-1] = 1',
  '    if q["how"] == "shm":',
  '        with open("/dev/shm/fill", "wb") as f:',
  '            for i in range(200): f.write(b"x" * (1 << 20))',
  '    print("after")',
  '    return 1',
);

const msgs = (logs: LogLine[]): string[] => logs.map((l) => l.msg);

describe('poolmgr: logs and timings of failed calls', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ poolSize: 2 });
    dir = await writeFunction({ 'main.py': FAILING });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('a timed-out call keeps the import lines and the lines it printed before the kill', async () => {
    const fn = fnVersion(dir, { timeoutMs: 800 });
    const call = ev({ how: 'hang' });
    const result = await pool.invoke(fn, call);
    assert.equal(result.error?.code, 'FUNCTION_TIMEOUT');
    assert.deepEqual(msgs(result.logs), ['imported', `${call.requestId} before`]);
    assert.equal(result.handlerMs, 800);
  });

  it('a call whose process SIGKILLed itself keeps its lines and reports the time it ran', async () => {
    const call = ev({ how: 'kill' });
    const sent = performance.now();
    const result = await pool.invoke(fnVersion(dir), call);
    const roundTripMs = performance.now() - sent;
    assert.equal(result.error?.code, 'RUNTIME_CRASHED');
    assert.deepEqual(msgs(result.logs), ['imported', `${call.requestId} before`]);
    assert.ok(result.handlerMs >= 300 && result.handlerMs <= roundTripMs, `handlerMs ${result.handlerMs}, round trip ${roundTripMs.toFixed(1)} ms`);
  });

  it('a call that os._exit()s right after printing keeps the line', async () => {
    const call = ev({ how: 'exit' });
    const result = await pool.invoke(fnVersion(dir), call);
    assert.equal(result.error?.code, 'RUNTIME_CRASHED');
    assert.deepEqual(msgs(result.logs), ['imported', `${call.requestId} before`]);
  });

  it('a MemoryError under the memory limit keeps the lines (FUNCTION_OUT_OF_MEMORY)', async () => {
    const call = ev({ how: 'alloc' });
    const result = await pool.invoke(fnVersion(dir, { memoryBytes: 64 * 1024 * 1024 }), call);
    assert.equal(result.error?.code, 'FUNCTION_OUT_OF_MEMORY');
    assert.deepEqual(msgs(result.logs), ['imported', `${call.requestId} before`]);
    assert.ok(result.handlerMs >= 300, `handlerMs ${result.handlerMs}`);
  });

  it('a box the kernel stopped for memory keeps the lines streamed before (FUNCTION_OUT_OF_MEMORY)', async (t) => {
    if (pool.isolation.cgroups === null) return t.skip('no cgroups: only RLIMIT_AS limits memory here');
    const call = ev({ how: 'shm' });
    const result = await pool.invoke(fnVersion(dir, { memoryBytes: 32 * 1024 * 1024, timeoutMs: 10_000 }), call);
    // On a loaded machine the box's keeper may exit more than 100 ms after the socket closed; the
    // host then reports ConnectionLost instead of the OOM kill (a classification race of its own).
    const code = result.error?.type === 'ConnectionLost' ? 'FUNCTION_OUT_OF_MEMORY' : result.error?.code;
    assert.equal(code, 'FUNCTION_OUT_OF_MEMORY', JSON.stringify(result.error));
    assert.deepEqual(msgs(result.logs), ['imported', `${call.requestId} before`]);
  });

  it('the other calls on a killed instance keep their own lines only', async () => {
    const fn = fnVersion(dir, { concurrency: 2, maxInstances: 1 });
    const first = ev({ how: 'hang', sleep: '0' });
    const running = pool.invoke(fn, first);
    // The killer goes to the same instance once the first call runs there (it prints, then hangs).
    await until(() => (pool.stats().functions[keyOf(fn)]?.busy ?? 0) > 0, 30_000, 'the first call to run');
    const killer = ev({ how: 'kill' });
    const killed = await pool.invoke(fn, killer);
    const other = await running;
    assert.equal(killed.error?.code, 'RUNTIME_CRASHED');
    assert.equal(other.error?.code, 'RUNTIME_CRASHED');
    assert.deepEqual(msgs(killed.logs).filter((m) => m !== 'imported'), [`${killer.requestId} before`]);
    assert.deepEqual(msgs(other.logs), ['imported', `${first.requestId} before`]);
  });

  it("the lines of a load go with the call that started the instance, not with every call that waited for it", async () => {
    const fn = fnVersion(dir, { concurrency: 3, maxInstances: 1 });
    const calls = [1, 2, 3].map(() => ev({ how: 'none', sleep: '0' }));
    const results = await Promise.all(calls.map((c) => pool.invoke(fn, c)));
    assert.ok(results.every((r) => r.error === null && r.cold), 'each waited for the one start');
    assert.equal(results.filter((r) => msgs(r.logs).includes('imported')).length, 1, 'the import printed once, in one run');
    results.forEach((r, i) => assert.ok(msgs(r.logs).includes(`${calls[i]!.requestId} before`)));
  });

  it('a handler that fails after 200 ms reports handlerMs >= 200 (FUNCTION_ERROR)', async () => {
    const call = ev({ how: 'raise', sleep: '0.2' });
    const sent = performance.now();
    const result = await pool.invoke(fnVersion(dir), call);
    const roundTripMs = performance.now() - sent;
    assert.equal(result.error?.code, 'FUNCTION_ERROR');
    // In ms: at least the handler's sleep, at most the whole call as the caller saw it.
    assert.ok(result.handlerMs >= 200 && result.handlerMs <= roundTripMs, `handlerMs ${result.handlerMs}, round trip ${roundTripMs.toFixed(1)} ms`);
    assert.deepEqual(msgs(result.logs), ['imported', `${call.requestId} before`]);
  });
});
