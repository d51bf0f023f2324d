/**
 * The platform-wide instance cap (maxInstancesTotal, probe finding 6): at the cap, the least
 * recently used idle instance of another function makes room; with every instance busy, a call
 * waits until one frees, and the freed instance's slot goes to it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, keyOf, openPool, pidOf, removeFunction, STEERED_HANDLER, until, writeFunction } from './poolmgr-harness.js';

describe('poolmgr platform-wide instance cap', () => {
  let dir: string;
  before(async () => {
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(() => removeFunction(dir));

  it('stops the least recently used idle instance of another function to make room', async (t) => {
    const pool: PoolManager = await openPool({ poolSize: 1, maxInstancesTotal: 2 });
    t.after(() => pool.close());
    const [a, b, c] = [fnVersion(dir), fnVersion(dir), fnVersion(dir)];
    const first = await pool.invoke(a, ev());
    await pool.invoke(b, ev());
    assert.equal(pool.stats().warm, 2);
    const third = await pool.invoke(c, ev());
    assert.equal(third.error, null, JSON.stringify(third.error));
    assert.equal(third.cold, true);
    await until(() => pool.stats().functions[keyOf(a)] === undefined || pool.stats().functions[keyOf(a)]!.warm === 0, 15_000, 'a to be stopped');
    assert.equal(pool.stats().functions[keyOf(b)]?.warm, 1, 'b, used more recently, stays');
    assert.equal(pool.stats().functions[keyOf(c)]?.warm, 1);
    // a comes back on a new instance (room is made again, this time from b).
    const again = await pool.invoke(a, ev());
    assert.equal(again.cold, true);
    assert.notEqual(pidOf(again), pidOf(first));
  });

  it('with every instance busy, a call waits and gets the slot of the first one to finish', async (t) => {
    const pool: PoolManager = await openPool({ poolSize: 1, maxInstancesTotal: 1 });
    t.after(() => pool.close());
    const [busy, waiting] = [fnVersion(dir), fnVersion(dir)];
    const slowSent = performance.now();
    const slow = pool.invoke(busy, ev({ sleep: '0.6' }));
    await until(() => pool.stats().busy === 1, 15_000, 'the slow call to run');
    const queuedSent = performance.now();
    const queued = pool.invoke(waiting, ev());
    await until(() => pool.stats().functions[keyOf(waiting)]?.queued === 1, 15_000, 'the call to wait under the cap');
    const [s, q] = await Promise.all([slow, queued]);
    assert.equal(s.error, null);
    assert.equal(q.error, null, JSON.stringify(q.error));
    // The slot came free when the slow handler had run its time; it started after slowSent, so the
    // queued call waited at least what was left of it when it was sent (a bound that shrinks, not
    // breaks, when a loaded machine delays the test between the two calls).
    const leftWhenQueued = s.handlerMs - (queuedSent - slowSent);
    assert.ok(q.queuedMs >= leftWhenQueued - 5, `queued ${q.queuedMs} ms; the slow call had ${leftWhenQueued.toFixed(0)} ms left`);
    assert.ok(q.queuedMs > 0);
    assert.equal(pool.stats().functions[keyOf(busy)]?.warm ?? 0, 0, 'the idle instance gave its slot away');
  });
});
