/**
 * tryStart() with real runtimes, the pool's half of a deploy's start check
 * (docs/adr/0084-deploy-start-check.md): a version that loads is reported started with its init
 * time and lines, and its instance is stopped again (the first call is still a cold start); one
 * that raises at import, or dies while loading, is reported failed with the load's error and
 * lines; with no instance place free nothing is started.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ev, fnVersion, openPool, py, usePool, writeFunction } from './poolmgr-harness.js';

describe('poolmgr: tryStart (a deploy\'s start check)', () => {
  const site = usePool({ poolSize: 1 });
  const { dirs } = site;

  const instancesOf = (name: string): number => Object.values(site.pool.stats().functions).filter((f) => f.name === name).reduce((n, f) => n + f.warm + (f.specializing ?? 0), 0);

  it('a version that loads: started, with its init time and what it printed; its instance is stopped, the first call is cold', async () => {
    const dir = await writeFunction({ 'main.py': py('print("loading")', 'def handler(event, context):', '    return 1') });
    dirs.push(dir);
    const fn = fnVersion(dir);
    const found = await site.pool.tryStart(fn);
    assert.equal(found.outcome, 'started');
    if (found.outcome !== 'started') return;
    assert.ok(found.initMs > 0);
    assert.deepEqual(found.logs.map((l) => l.msg), ['loading']);
    for (const end = Date.now() + 5_000; instancesOf(fn.name) > 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    assert.equal(instancesOf(fn.name), 0, 'the checked instance was stopped');
    const call = await site.pool.invoke(fn, ev());
    assert.equal(call.error, null);
    assert.equal(call.cold, true);
  });

  it('a version that raises at import, or exits while loading: failed, with the error and the lines; nothing stays', async () => {
    const raising = await writeFunction({ 'main.py': py('print("before")', 'raise ValueError("no config")', 'def handler(event, context):', '    return 1') });
    const exiting = await writeFunction({ 'main.py': py('import os', 'os._exit(7)') });
    dirs.push(raising, exiting);
    const raisingFn = fnVersion(raising);
    const raised = await site.pool.tryStart(raisingFn);
    assert.equal(raised.outcome, 'failed');
    if (raised.outcome !== 'failed') return;
    assert.equal(raised.error.code, 'FUNCTION_INIT_FAILED');
    assert.equal(raised.error.type, 'ValueError');
    assert.match(raised.error.message, /no config/);
    assert.equal(raised.error.line, 2);
    assert.deepEqual(raised.logs.map((l) => l.msg), ['before']);
    const exitingFn = fnVersion(exiting);
    const exited = await site.pool.tryStart(exitingFn);
    assert.equal(exited.outcome, 'failed', JSON.stringify(exited));
    assert.equal(instancesOf(raisingFn.name) + instancesOf(exitingFn.name), 0);
  });

  it('a load that forges a platform code on its channel is still the version\'s failure, never a check skipped', async () => {
    // The module finds the specialize frame's id and reports an error of its own making (red team).
    const dir = await writeFunction({ 'main.py': py(
      'import gc, sys',
      'from fp_runtime.conn import Conn',
      'frame = sys._getframe()',
      'while frame is not None and frame.f_code.co_name != "_generic": frame = frame.f_back',
      'sid = frame.f_locals["msg"]["id"]',
      'conn = [o for o in gc.get_objects() if isinstance(o, Conn)][0]',
      'conn.send({"t": "error", "id": sid, "error": {"code": "DATA_BACKEND_UNAVAILABLE", "class": "user_error", "type": "X", "message": "all good"}, "logs": []})',
      'import time',
      'time.sleep(5)',
    ) });
    site.dirs.push(dir);
    const found = await site.pool.tryStart(fnVersion(dir));
    assert.equal(found.outcome, 'failed', JSON.stringify(found));
  });

  it('a version with an instance ready has loaded: started at once; with no instance place free: skipped, with the reason', async () => {
    const dir = await writeFunction({ 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["query"].get("sleep", "0")))', '    return 1') });
    dirs.push(dir);
    const fn = fnVersion(dir, { maxInstances: 1 });
    assert.equal((await site.pool.invoke(fn, ev())).error, null);
    assert.deepEqual(await site.pool.tryStart(fn), { outcome: 'started', initMs: 0, logs: [] });
    // A pool of one instance place, held by a busy call of another function: nothing can start.
    const small = await openPool({ poolSize: 1, maxInstancesTotal: 1 });
    try {
      const busy = small.invoke(fnVersion(dir), ev({ sleep: '1' }));
      await new Promise((r) => setTimeout(r, 300));
      const found = await small.tryStart(fnVersion(dir));
      assert.equal(found.outcome, 'skipped');
      if (found.outcome === 'skipped') assert.match(found.reason, /no instance place is free/);
      assert.equal((await busy).error, null);
    } finally {
      await small.close();
    }
  });
});
