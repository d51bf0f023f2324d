/**
 * The pool-wide bound on waiting calls (FP_MAX_QUEUED_CALLS, poolmgr `maxQueuedTotal`): each
 * waiting call holds its client's connection, and one client queued 20 000 calls on a public
 * function until the gateway had no file descriptor left for any tenant (red team of 2026-12-04).
 * One workspace waits at most its share; the other workspaces have an eighth more.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ev, fnVersion, py, usePool, writeFunction } from './poolmgr-harness.js';

describe('poolmgr: calls waiting for an instance, all functions together', () => {
  // No pipelining: a call past an instance's slots waits in the queue (with it, 16 more per instance go to the busy instance first).
  const site = usePool({ poolSize: 1, maxQueuedTotal: 8, pipelineDepth: 0 });

  it('past its workspace\'s share a call is refused at once (FUNCTION_BUSY); another workspace still queues; the queue drains', async () => {
    const dir = await writeFunction({ 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["query"].get("sleep", "0")))', '    return 1') });
    site.dirs.push(dir);
    // Two functions of workspace "hog", one instance each, each busy for 1.5 s.
    const hogs = [fnVersion(dir, { name: 'a.hog', maxInstances: 1, maxQueue: 100 }), fnVersion(dir, { name: 'b.hog', maxInstances: 1, maxQueue: 100 })];
    const busy = hogs.map((fn) => site.pool.invoke(fn, ev({ sleep: '1.5' })));
    await new Promise((r) => setTimeout(r, 500));
    // 8 calls wait (its share), spread over its two functions; the ninth is refused at once.
    const waiting = Array.from({ length: 8 }, (_, i) => site.pool.invoke(hogs[i % 2]!, ev()));
    const started = performance.now();
    const refused = await site.pool.invoke(hogs[0]!, ev());
    assert.equal(refused.error?.code, 'FUNCTION_BUSY');
    assert.match(refused.error?.message ?? '', /FP_MAX_QUEUED_CALLS/);
    assert.ok(performance.now() - started < 200, 'refused at once, not after a wait');
    // Another workspace's call waits in the reserve (an eighth of 8: one place).
    const other = fnVersion(dir, { name: 'c.other', maxInstances: 1, maxQueue: 100 });
    const otherBusy = site.pool.invoke(other, ev({ sleep: '1' }));
    await new Promise((r) => setTimeout(r, 300));
    const otherWaits = site.pool.invoke(other, ev());
    for (const r of [...await Promise.all(busy), ...await Promise.all(waiting), await otherBusy, await otherWaits]) assert.equal(r.error, null);
    // Drained: the hog's calls may wait again.
    const again = await Promise.all([site.pool.invoke(hogs[0]!, ev()), site.pool.invoke(hogs[1]!, ev())]);
    for (const r of again) assert.equal(r.error, null);
  });
});
