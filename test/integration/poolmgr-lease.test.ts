/**
 * The lease: warm vs cold, pool refill, concurrency per instance, maxInstances with its bounded
 * queue, abort and queue timeout, and the stats snapshot. Real runtime processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import {
  ev, fnVersion, keyOf, openPool, pidOf, py, removeFunction, STEERED_HANDLER, until, writeFunction,
} from './poolmgr-harness.js';

describe('poolmgr lease', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    // Queue semantics without pipelining; pipelining has its own file (poolmgr-pipeline.test.ts).
    pool = await openPool({ poolSize: 2, pipelineDepth: 0 });
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('specializes a pool runtime on the first call and reuses it warm on the second', async () => {
    const fn = fnVersion(dir);
    const first = await pool.invoke(fn, ev());
    assert.equal(first.error, null);
    assert.equal(first.start, 'pool');
    assert.equal(first.cold, true);
    assert.ok(first.initMs > 0);
    const second = await pool.invoke(fn, ev());
    assert.equal(second.error, null);
    assert.equal(second.start, 'warm');
    assert.equal(second.cold, false);
    assert.equal(second.initMs, 0);
    assert.equal(second.instanceId, first.instanceId);
    assert.equal(pidOf(second), pidOf(first));
  });

  it('refills the generic pool after a specialization', async () => {
    await until(() => pool.stats().generic === 2, 15_000, 'a full pool');
    const fn = fnVersion(dir);
    const result = await pool.invoke(fn, ev());
    assert.equal(result.start, 'pool');
    // The specialized runtime left the pool at once; a new one takes its place.
    const now = pool.stats();
    assert.equal(now.generic + now.spawning, 2);
    await until(() => pool.stats().generic === 2, 15_000, 'the refill');
    assert.equal(pool.stats().functions[keyOf(fn)]?.warm, 1);
  });

  it('returns the logs of the load with the first call, and each call its own', async (t) => {
    const chatty = await writeFunction({
      'main.py': py('print("loading")', 'def handler(event, context):', '    print("handling")', '    return 1'),
    });
    t.after(() => removeFunction(chatty));
    const fn = fnVersion(chatty);
    const first = await pool.invoke(fn, ev());
    assert.deepEqual(first.logs.map((line) => line.msg), ['loading', 'handling']);
    const second = await pool.invoke(fn, ev());
    assert.deepEqual(second.logs.map((line) => line.msg), ['handling']);
    assert.ok(second.handlerMs > 0);
  });

  it('reports a stats snapshot with totals and per-version entries', async () => {
    const fn = fnVersion(dir);
    const running = pool.invoke(fn, ev({ sleep: '0.3' }));
    await until(() => pool.stats().functions[keyOf(fn)]?.busy === 1, 15_000, 'a busy instance');
    const stats = pool.stats();
    assert.deepEqual(Object.keys(stats).sort(), ['busy', 'functions', 'generic', 'queued', 'scaledToZero', 'spawning', 'specializing', 'warm']);
    assert.equal(stats.scaledToZero[fn.name], undefined, 'a busy function has not been scaled to zero');
    assert.deepEqual(stats.functions[keyOf(fn)], { name: fn.name, version: 'v1', specializing: 0, warm: 1, busy: 1, queued: 0, template: null });
    assert.ok(stats.warm >= 1 && stats.busy >= 1);
    assert.equal((await running).error, null);
    assert.equal(pool.stats().functions[keyOf(fn)]?.busy, 0);
  });

  it('runs up to `concurrency` calls at once on one instance', async () => {
    // Each warm call waits until four calls are inside the handler at once (a barrier, not a
    // wall-clock bound): they all return only if the instance runs them together.
    const asyncDir = await writeFunction({
      'main.py': py(
        'import asyncio, os',
        'ARRIVED = []',
        'ALL_IN = None',
        'async def handler(event, context):',
        '    global ALL_IN',
        '    if event["query"].get("barrier") is None:',
        '        await asyncio.sleep(0.4)',
        '        return {"pid": os.getpid()}',
        '    if ALL_IN is None:',
        '        ALL_IN = asyncio.Event()',
        '    ARRIVED.append(1)',
        '    if len(ARRIVED) == 4:',
        '        ALL_IN.set()',
        '    await asyncio.wait_for(ALL_IN.wait(), 30)',
        '    return {"pid": os.getpid()}',
      ),
    });
    try {
      const fn = fnVersion(asyncDir, { concurrency: 4, maxInstances: 1, timeoutMs: 60_000 });
      // Four concurrent first calls: one specialization, the others wait for it (no extra instances).
      const cold = await Promise.all([1, 2, 3, 4].map(() => pool.invoke(fn, ev())));
      assert.equal(new Set(cold.map((r) => r.instanceId)).size, 1);
      const warm = await Promise.all([1, 2, 3, 4].map(() => pool.invoke(fn, ev({ barrier: '1' }))));
      assert.ok(warm.every((r) => r.error === null && r.start === 'warm'), JSON.stringify(warm.map((r) => r.error)));
      assert.equal(new Set(warm.map(pidOf)).size, 1);
    } finally {
      await removeFunction(asyncDir);
    }
  });

  it('specializes one instance per concurrent first call up to maxInstances, no more', async () => {
    const fn = fnVersion(dir, { maxInstances: 2 });
    const results = await Promise.all([1, 2, 3].map(() => pool.invoke(fn, ev({ sleep: '0.2' }))));
    assert.ok(results.every((r) => r.error === null));
    assert.equal(new Set(results.map((r) => r.instanceId)).size, 2);
    assert.equal(results.filter((r) => r.queuedMs > 0).length, 1);
  });

  it('queues up to maxQueue calls and refuses the next with FUNCTION_BUSY', async () => {
    const fn = fnVersion(dir, { maxInstances: 1, concurrency: 1, maxQueue: 1 });
    assert.equal((await pool.invoke(fn, ev())).error, null); // warm, so timings below are the handler's
    const calls = [1, 2, 3].map(() => pool.invoke(fn, ev({ sleep: '0.3' })));
    const third = await calls[2]!;
    assert.equal(third.error?.code, 'FUNCTION_BUSY');
    assert.equal(third.queuedMs, 0);
    const [first, second] = await Promise.all([calls[0]!, calls[1]!]);
    assert.equal(first.error, null);
    assert.equal(second.error, null);
    assert.ok(second.queuedMs >= 200, `the second call waited in the queue (${second.queuedMs} ms)`);
    assert.equal(pool.stats().functions[keyOf(fn)]?.queued, 0);
  });

  it('takes a queued call out of the queue when its signal aborts', async () => {
    const fn = fnVersion(dir, { maxInstances: 1, maxQueue: 5 });
    const running = pool.invoke(fn, ev({ sleep: '0.5' }));
    const controller = new AbortController();
    const queued = pool.invoke(fn, ev(), { signal: controller.signal });
    await until(() => pool.stats().functions[keyOf(fn)]?.queued === 1, 15_000, 'a queued call');
    controller.abort();
    const aborted = await queued;
    assert.equal(aborted.error?.code, 'CLIENT_CLOSED_REQUEST');
    assert.equal(aborted.response, null);
    assert.equal(pool.stats().functions[keyOf(fn)]?.queued, 0);
    assert.equal((await running).error, null);
  });

  it('lets a call wait in the queue at most its timeoutMs, then FUNCTION_BUSY', async () => {
    const fn = fnVersion(dir, { maxInstances: 1, maxQueue: 5, timeoutMs: 800 });
    assert.equal((await pool.invoke(fn, ev())).error, null);
    // 1 runs 0–500 ms; 2 waits until 500 ms, runs to 1000 ms; 3 would wait until 1000 ms > 800 ms.
    const calls = [1, 2, 3].map(() => pool.invoke(fn, ev({ sleep: '0.5' })));
    const [first, second, third] = await Promise.all(calls);
    assert.equal(first!.error, null);
    assert.equal(second!.error, null);
    assert.equal(third!.error?.code, 'FUNCTION_BUSY');
    assert.ok(third!.queuedMs >= 750, `the third call waited its whole timeout (${third!.queuedMs} ms)`);
  });
});

describe('poolmgr lease without a pool', () => {
  it('spawns a new process when no generic runtime is ready', async (t) => {
    const pool = await openPool({ poolSize: 0 });
    t.after(() => pool.close());
    const dir = await writeFunction({ 'main.py': STEERED_HANDLER });
    t.after(() => removeFunction(dir));
    const fn = fnVersion(dir);
    const first = await pool.invoke(fn, ev());
    assert.equal(first.error, null);
    assert.equal(first.start, 'spawn');
    assert.equal(first.cold, true);
    assert.equal((await pool.invoke(fn, ev())).start, 'warm');
  });
});
