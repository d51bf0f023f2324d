/**
 * The pool-wide bound on calls in hand (FP_MAX_HELD_CALLS, poolmgr `maxHeldCalls`): waiting,
 * pipelined and running alike, each holds its client's connection. One client queued 20 000 calls
 * on a public function, then (the bound counting waiting calls only) ran 27 000 at once on one with
 * `concurrency: 1000`, until the gateway had no file descriptor left for any tenant (red team of
 * 2026-12-04, both rounds). One workspace holds at most its share; the others have an eighth more.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ev, fnVersion, py, usePool, writeFunction } from './poolmgr-harness.js';

describe('poolmgr: calls in hand, all functions of a workspace together', () => {
  const site = usePool({ poolSize: 1, maxHeldCalls: 8 });

  it('past its workspace\'s share (running, pipelined and waiting calls) a call is refused at once (FUNCTION_BUSY); another workspace still gets in; the count drains', async () => {
    const dir = await writeFunction({ 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["query"].get("sleep", "0")))', '    return 1') });
    site.dirs.push(dir);
    // Two functions of workspace "hog", one instance each, each busy for 1.5 s.
    const hogs = [fnVersion(dir, { name: 'a.hog', maxInstances: 1, maxQueue: 100 }), fnVersion(dir, { name: 'b.hog', maxInstances: 1, maxQueue: 100 })];
    const busy = hogs.map((fn) => site.pool.invoke(fn, ev({ sleep: '1.5' })));
    let busyEnded = false;
    void Promise.race(busy).then(() => { busyEnded = true; });
    await new Promise((r) => setTimeout(r, 500));
    // 2 running and 6 more (pipelined behind them) make its share of 8; the ninth is refused at once.
    const waiting = Array.from({ length: 6 }, (_, i) => site.pool.invoke(hogs[i % 2]!, ev()));
    const refused = await site.pool.invoke(hogs[0]!, ev());
    assert.equal(refused.error?.code, 'FUNCTION_BUSY');
    assert.match(refused.error?.message ?? '', /FP_MAX_HELD_CALLS/);
    assert.equal(refused.error?.type, 'TooManyCalls');
    // At once: while the hog's running calls still run (a wait would end with the first of them).
    assert.equal(busyEnded, false, 'refused at once, not after a wait');
    // Another workspace's call gets the reserve (an eighth of 8: one place).
    const other = fnVersion(dir, { name: 'c.other', maxInstances: 1, maxQueue: 100 });
    const otherCall = site.pool.invoke(other, ev());
    for (const r of [...await Promise.all(busy), ...await Promise.all(waiting), await otherCall]) assert.equal(r.error, null);
    // Drained: the hog's calls may wait again.
    const again = await Promise.all([site.pool.invoke(hogs[0]!, ev()), site.pool.invoke(hogs[1]!, ev())]);
    for (const r of again) assert.equal(r.error, null);
  });
});
