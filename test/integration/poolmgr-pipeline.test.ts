/**
 * Pipelined dispatch (docs/adr/0005-pipelined-dispatch.md): at maxInstances with every slot taken,
 * a ready instance takes up to `pipelineDepth` more calls, which start in order; their timeouts
 * start when they do, and calls that never started survive the death of their instance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, keyOf, openPool, pidOf, removeFunction, STEERED_HANDLER, until, writeFunction } from './poolmgr-harness.js';

describe('poolmgr pipelining', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ poolSize: 2, pipelineDepth: 2 });
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('sends up to pipelineDepth calls ahead to a busy instance, then queues, then refuses', async () => {
    const fn = fnVersion(dir, { maxInstances: 1, concurrency: 1, maxQueue: 1 });
    assert.equal((await pool.invoke(fn, ev())).error, null);
    // 1 running + 2 pipelined + 1 queued fit; the fifth is refused.
    const calls = [1, 2, 3, 4, 5].map(() => pool.invoke(fn, ev({ sleep: '0.2' })));
    await until(() => pool.stats().functions[keyOf(fn)]?.queued === 1, 15_000, 'one queued call');
    const results = await Promise.all(calls);
    assert.deepEqual(results.map((r) => r.error?.code ?? 'ok'), ['ok', 'ok', 'ok', 'ok', 'FUNCTION_BUSY']);
    assert.equal(new Set(results.slice(0, 4).map(pidOf)).size, 1);
    // The pipelined calls waited for the ones before them, and say so.
    assert.ok(results[2]!.queuedMs >= 300, `third call waited ${results[2]!.queuedMs} ms`);
  });

  it('does not pipeline behind a call that has run long while another instance\'s call has not (helper round, 2026-12-05)', async () => {
    const fn = fnVersion(dir, { maxInstances: 2, concurrency: 1 });
    const first = await pool.invoke(fn, ev());
    assert.equal(first.error, null);
    const slow = pool.invoke(fn, ev({ sleep: '3' })); // on the first instance, the older of the two
    await new Promise((resolve) => setTimeout(resolve, 600));
    const other = pool.invoke(fn, ev({ sleep: '1' })); // a second instance
    // At once when it runs: the slow call has run 600 ms or more, the other just begun.
    await until(() => pool.stats().functions[keyOf(fn)]?.busy === 2, 15_000, 'both instances busy');
    const started = performance.now();
    const fast = await pool.invoke(fn, ev({ sleep: '0' }));
    const waited = performance.now() - started;
    assert.equal(fast.error, null);
    assert.notEqual(fast.instanceId, first.instanceId, 'not behind the long call');
    assert.equal(fast.instanceId, (await other).instanceId);
    assert.ok(waited < 2000, `waited ${waited} ms`);
    assert.equal((await slow).error, null);
  });

  it('starts a pipelined call\'s timeout when it starts, not when it was sent', async () => {
    const fn = fnVersion(dir, { maxInstances: 1, concurrency: 1, timeoutMs: 700 });
    assert.equal((await pool.invoke(fn, ev())).error, null);
    // Three 400 ms calls back to back take 1.2 s in all, but each runs well within 700 ms.
    const results = await Promise.all([1, 2, 3].map(() => pool.invoke(fn, ev({ sleep: '0.4' }))));
    assert.deepEqual(results.map((r) => r.error?.code ?? 'ok'), ['ok', 'ok', 'ok']);
    assert.equal(new Set(results.map(pidOf)).size, 1);
  });

  it('hands calls that never started back to the pool when their instance is killed', async () => {
    const fn = fnVersion(dir, { maxInstances: 1, concurrency: 1, timeoutMs: 400 });
    const first = await pool.invoke(fn, ev());
    const hung = pool.invoke(fn, ev({ sleep: '5' }));
    const behind = [pool.invoke(fn, ev()), pool.invoke(fn, ev())];
    const timedOut = await hung;
    assert.equal(timedOut.error?.code, 'FUNCTION_TIMEOUT');
    const rescued = await Promise.all(behind);
    assert.deepEqual(rescued.map((r) => r.error?.code ?? 'ok'), ['ok', 'ok']);
    assert.notEqual(pidOf(rescued[0]!), pidOf(first), 'served by a new instance');
    assert.equal(rescued[0]!.cold, true, 'the first rescued call started the replacement instance');
    assert.equal(pidOf(rescued[1]!), pidOf(rescued[0]!), 'in their original order, on the replacement');
  });

  it('runs pipelined calls of an async handler at most `concurrency` at a time', async () => {
    const asyncDir = await writeFunction({
      'main.py': [
        'import asyncio, time',
        'running = 0',
        'peak = 0',
        'async def handler(event, context):',
        '    global running, peak',
        '    running += 1',
        '    peak = max(peak, running)',
        '    await asyncio.sleep(0.1)',
        '    running -= 1',
        '    return {"peak": peak}',
      ].join('\n'),
    });
    try {
      const fn = fnVersion(asyncDir, { maxInstances: 1, concurrency: 2 });
      const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => pool.invoke(fn, ev())));
      assert.ok(results.every((r) => r.error === null));
      const peaks = results.map((r) => (JSON.parse(Buffer.from(r.response!.body).toString()) as { peak: number }).peak);
      assert.equal(Math.max(...peaks), 2);
    } finally {
      await removeFunction(asyncDir);
    }
  });
});
