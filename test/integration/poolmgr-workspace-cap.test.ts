/**
 * The per-workspace instance cap (the `instances` quota, docs/adr/0011-tenants.md): the pool learns
 * a function's workspace from its key; at the workspace's cap the least recently used idle instance
 * of another function of the same workspace makes room (never one of another workspace); with every
 * instance of the workspace busy a call waits, and one that cannot wait is refused with
 * QUOTA_EXCEEDED (quota instances, Retry-After 1 s) instead of FUNCTION_BUSY.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, keyOf, openPool, removeFunction, STEERED_HANDLER, until, writeFunction } from './poolmgr-harness.js';

const inWorkspace = (workspace: string) => `f-${randomUUID().slice(0, 8)}.${workspace}`;

describe('poolmgr per-workspace instance cap', () => {
  let dir: string;
  before(async () => {
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(() => removeFunction(dir));

  it('makes room from an idle instance of the same workspace only', async (t) => {
    const pool: PoolManager = await openPool({ poolSize: 1 });
    t.after(() => pool.close());
    pool.setWorkspaceInstances('acme', 2);
    const [a, b, c] = [fnVersion(dir, { name: inWorkspace('acme') }), fnVersion(dir, { name: inWorkspace('acme') }), fnVersion(dir, { name: inWorkspace('acme') })];
    const other = fnVersion(dir, { name: inWorkspace('beta') });
    await pool.invoke(other, ev());
    await pool.invoke(a, ev());
    await pool.invoke(b, ev());
    assert.equal(pool.workspaceInstances('acme'), 2);
    const third = await pool.invoke(c, ev());
    assert.equal(third.error, null, JSON.stringify(third.error));
    await until(() => (pool.stats().functions[keyOf(a)]?.warm ?? 0) === 0, 3000, 'a (least recently used in acme) to be stopped');
    assert.equal(pool.workspaceInstances('acme'), 2);
    assert.equal(pool.stats().functions[keyOf(other)]?.warm, 1, "another workspace's instance is never taken");
    assert.equal(pool.workspaceInstances('beta'), 1);
  });

  it('refuses a call that cannot wait with QUOTA_EXCEEDED while the workspace is full; a raised cap lets the waiting ones in', async (t) => {
    const pool: PoolManager = await openPool({ poolSize: 1 });
    t.after(() => pool.close());
    pool.setWorkspaceInstances('acme', 1);
    const busy = fnVersion(dir, { name: inWorkspace('acme') });
    const strict = fnVersion(dir, { name: inWorkspace('acme'), maxQueue: 0 });
    const waiting = fnVersion(dir, { name: inWorkspace('acme') });
    const slow = pool.invoke(busy, ev({ sleep: '1' }));
    await until(() => pool.stats().busy === 1, 5000, 'the slow call to run');
    const refused = await pool.invoke(strict, ev());
    assert.equal(refused.error?.code, 'QUOTA_EXCEEDED');
    assert.deepEqual(refused.error?.details, { quota: 'instances', workspace: 'acme', limit: 1, used: 1, retryAfterS: 1 });
    const queued = pool.invoke(waiting, ev());
    await until(() => pool.stats().functions[keyOf(waiting)]?.queued === 1, 3000, 'the call to wait under the cap');
    pool.setWorkspaceInstances('acme', 2);
    const q = await queued;
    assert.equal(q.error, null, JSON.stringify(q.error));
    assert.equal((await slow).error, null);
    // Without a cap nothing of this applies.
    pool.setWorkspaceInstances('acme', null);
    assert.equal((await pool.invoke(strict, ev())).error, null);
  });
});
