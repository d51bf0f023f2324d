/**
 * Conformance: a delete whose cleanup fails after the function is gone (ADR 0156). The adapter's
 * `interruptDelete` deletes with a real fault at that point (production: FerretDB stopped after
 * the tombstone, then started again); a store whose delete is one transaction has no such point
 * and deletes plainly. Either way the function is gone, and what it held never reaches a function
 * created later under its name, nor its workspace's count.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { functionKey } from '../../protocol/index.js';
import { NO_QUOTAS, type Store } from '../../controlplane/store/index.js';
import { file, run, settings, withStore, type ConformanceHooks, type OpenStore } from './fixtures.js';

/** A workspace of its own (its usage is exact) with one function holding a version, a deploy, runs, logs, an invoke token, a test case and a secret. */
async function fullFunction(store: Store): Promise<{ workspace: string; key: string; revision: number }> {
  const workspace = `ws-${randomBytes(3).toString('hex')}`;
  await store.workspaces.create(workspace, { ...NO_QUOTAS, functions: 2 });
  const key = functionKey('gone', workspace);
  await store.functions.create(key, settings({ auth: 'token', secrets: { OLD_SECRET: 'old-value' } }));
  const main = await file(store, 'main.py', 'def handler(event, context):\n    return 1\n');
  await store.versions.create({ function: key, entrypoint: 'main:handler', files: [main], manifest: {}, createdBy: 't' });
  const deployed = await store.deploys.apply({ function: key, action: 'deploy', version: 1, actor: 't' });
  await store.runs.record([run({ function: key, logs: [{ stream: 'stdout', ts: 1, msg: 'old' }] }), run({ function: key })]);
  await store.tokens.issue({ kind: 'invoke', scope: key });
  await store.testCases.put(key, 'old case', { mode: 'sync', request: { body: 'old' } });
  return { workspace, key, revision: deployed.function.revision };
}

/** Nothing of the deleted function is left in the store under `key`. */
async function nothingLeft(store: Store, key: string): Promise<void> {
  assert.deepEqual(await store.versions.list(key), []);
  assert.deepEqual(await store.deploys.list(key), []);
  assert.deepEqual((await store.runs.list({ function: key })).items, []);
  assert.deepEqual(await store.tokens.list({ kind: 'invoke', scope: key }), []);
  assert.deepEqual(await store.testCases.list(key), []);
}

export function deleteFaultTests(open: OpenStore, hooks: ConformanceHooks): void {
  // ADR 0159 left runs and logs without an incarnation: a cleanup of a deleted function still under
  // way when the name was created again (its process paused; another process's create and calls)
  // removed the new function's first runs and logs. The sink stamps each run with the createdAt of
  // the function its key named when written (ADR 0190); a delete removes its own and older ones.
  describe('a delete and the runs of a function created again under its name (ADR 0190)', () => {
    it('removes the runs and logs of its own incarnation and the unstamped ones, keeps those stamped with a later one, and reads the stamp back with get (ADR 0235)', () =>
      withStore(open, async (store) => {
        const { workspace, key, revision } = await fullFunction(store); // two runs written without a stamp
        const made = (await store.functions.get(key))!;
        const own = run({ function: key, logs: [{ stream: 'stdout', ts: 2, msg: 'own' }] });
        await store.runs.record([own], new Map([[key, made.createdAt]]));
        // The next function of the name, recorded by another process while this delete's cleanup runs.
        const later = run({ function: key, startedAt: made.createdAt + 5, logs: [{ stream: 'stdout', ts: 3, msg: 'the new function' }] });
        await store.runs.record([later], new Map([[key, made.createdAt + 1]]));
        assert.deepEqual(await store.runs.get(later.runId), { ...later, fnCreatedAt: made.createdAt + 1 }, 'the record read back, with its stamp');
        assert.ok((await store.runs.list({ function: key })).items.every((r) => !Object.keys(r).includes('fnCreatedAt')), 'listed without it');
        await store.functions.delete(key, revision);
        for (const name of (await store.functions.pendingDeletes?.()) ?? []) await store.functions.finishDelete?.(name);
        assert.deepEqual((await store.runs.list({ function: key })).items.map((r) => r.runId), [later.runId]);
        assert.deepEqual((await store.runs.get(later.runId))?.logs, later.logs);
        assert.equal(await store.runs.get(own.runId), null);
        assert.equal((await store.workspaces.usage(workspace)).functions, 0);
      }));
  });

  // A run recorded after its function's delete by a process that had not heard of it yet (its sink's
  // check passed) is stamped with the deleted incarnation and outlived the cleanup: kept until its
  // retention ran out, it was listed and counted in a workspace created again under the name.
  describe('a workspace delete and the late runs of its deleted functions (red team round 40)', () => {
    it('removes them: a workspace created again under the name lists none, holds no log bytes, and reads none by id', () =>
      withStore(open, async (store) => {
        const { workspace, key, revision } = await fullFunction(store);
        const made = (await store.functions.get(key))!;
        await store.functions.delete(key, revision);
        for (const name of (await store.functions.pendingDeletes?.()) ?? []) await store.functions.finishDelete?.(name);
        const late = run({ function: key, logs: [{ stream: 'stdout', ts: 4, msg: 'the old tenant\'s last call' }] });
        await store.runs.record([late], new Map([[key, made.createdAt]]));
        await store.workspaces.delete(workspace);
        await store.workspaces.create(workspace, NO_QUOTAS);
        assert.deepEqual((await store.runs.list({ workspace })).items, []);
        assert.equal(await store.runs.get(late.runId), null);
        assert.equal((await store.workspaces.usage(workspace)).logBytes, 0);
      }));

    it('a function created again under the name lists none of them, nor serves them by id', () =>
      withStore(open, async (store) => {
        const { key, revision } = await fullFunction(store);
        const made = (await store.functions.get(key))!;
        await store.functions.delete(key, revision);
        for (const name of (await store.functions.pendingDeletes?.()) ?? []) await store.functions.finishDelete?.(name);
        const late = run({ function: key, logs: [{ stream: 'stdout', ts: 4, msg: 'the deleted function\'s last call' }] });
        await store.runs.record([late], new Map([[key, made.createdAt]]));
        const again = await store.functions.create(key, settings({}));
        assert.deepEqual((await store.runs.list({ function: key })).items, []);
        assert.equal(await store.runs.get(late.runId), null);
        const own = run({ function: key, startedAt: again.createdAt + 1 });
        await store.runs.record([own], new Map([[key, again.createdAt]]));
        assert.deepEqual((await store.runs.list({ function: key })).items.map((r) => r.runId), [own.runId]);
      }));
  });

  // ADR 0181 left a window: a version uploaded through another process after the server's own
  // `ifNoVersions` check and before the delete was deleted with the function. The store checks
  // again with its delete (SQLite: in its transaction; production: after its tombstone, which it
  // then takes back). Here the version is there when the store's delete runs, as that upload's is.
  describe('a delete with ifNoVersions of a function that has a version by then (ADR 0181)', () => {
    it('is FUNCTION_CHANGED and deletes nothing: the function, its secrets, version, runs and slot stay; a plain delete after it works', () =>
      withStore(open, async (store) => {
        const { workspace, key, revision } = await fullFunction(store);
        await assert.rejects(store.functions.delete(key, revision, { ifNoVersions: true }), (err: { code?: string }) => err.code === 'FUNCTION_CHANGED');
        const kept = await store.functions.get(key);
        assert.ok(kept !== null, 'the function is still there');
        assert.deepEqual([kept.secrets, kept.activeVersion, kept.createdAt], [{ OLD_SECRET: 'old-value' }, 1, (await store.functions.list({ workspace }))[0]!.createdAt]);
        assert.deepEqual((await store.versions.list(key)).map((v) => v.version), [1]);
        assert.equal((await store.runs.list({ function: key })).items.length, 2);
        assert.equal((await store.tokens.list({ kind: 'invoke', scope: key })).length, 1);
        assert.equal((await store.workspaces.usage(workspace)).functions, 1);
        assert.deepEqual((await store.functions.pendingDeletes?.()) ?? [], [], 'no delete left pending');
        assert.equal((await store.functions.delete(key, kept.revision)).cleanupError, null);
        await nothingLeft(store, key);
      }));
  });

  describe('a delete that fails after the function is gone', () => {
    it('leaves the function gone; finishDelete (or the sweep) finishes its cleanup and gives back its slot', () =>
      withStore(open, async (store) => {
        const { workspace, key, revision } = await fullFunction(store);
        await hooks.interruptDelete(store, key, revision);
        assert.equal(await store.functions.get(key), null);
        assert.ok(!(await store.functions.list({ workspace })).some((f) => f.name === key));
        for (const name of (await store.functions.pendingDeletes?.()) ?? []) assert.equal(await store.functions.finishDelete?.(name), true);
        assert.deepEqual((await store.functions.pendingDeletes?.()) ?? [], []);
        assert.equal((await store.functions.finishDelete?.(key)) ?? false, false, 'nothing left to finish');
        await nothingLeft(store, key);
        assert.equal((await store.workspaces.usage(workspace)).functions, 0);
        assert.equal((await store.workspaces.usage(workspace)).logBytes, 0);
      }));

    it('a function created under its name before the cleanup is finished starts clean', () =>
      withStore(open, async (store) => {
        const { workspace, key, revision } = await fullFunction(store);
        await hooks.interruptDelete(store, key, revision);
        const again = await store.functions.create(key, settings());
        assert.deepEqual(again.secrets, {});
        assert.equal(again.activeVersion, null);
        await nothingLeft(store, key);
        assert.deepEqual((await store.functions.pendingDeletes?.()) ?? [], []);
        assert.equal((await store.functions.finishDelete?.(key)) ?? false, false, 'a live function has no delete to finish');
        assert.equal((await store.workspaces.usage(workspace)).functions, 1);
        assert.equal((await store.workspaces.usage(workspace)).logBytes, 0);
        // Its slot counts once: the quota (2) takes exactly one more.
        await store.functions.create(functionKey('other', workspace), settings());
        await assert.rejects(store.functions.create(functionKey('third', workspace), settings()), (err: { code?: string }) => err.code === 'QUOTA_EXCEEDED');
      }));
  });
}

/**
 * createdAt names a function's incarnation (ADR 0190's stamp on its runs and logs, which a delete
 * removes up to its own; a delete's `ifCreatedAt`), so a function created again under a name must
 * have a later one than the function before it even when the clock did not move (a delete and a
 * create in the same millisecond) or went back (an NTP step; another process's clock behind the one
 * that made the earlier function): ADR 0211. `openAt` opens a store of its own on the clock `now`.
 */
export function incarnationClockTests(openAt: (now: () => number) => Promise<Store>): void {
  describe('a function created again under its name (ADR 0211)', () => {
    it('has a later createdAt than the one before, in the same millisecond and after the clock went back an hour', async () => {
      let now = 1_800_000_000_000;
      const store = await openAt(() => now);
      try {
        const workspace = `ws-${randomBytes(3).toString('hex')}`;
        await store.workspaces.create(workspace, { ...NO_QUOTAS, functions: 2 });
        const key = functionKey('again', workspace);
        const again = async (): Promise<number> => {
          const made = await store.functions.create(key, settings());
          await store.functions.delete(key, made.revision);
          for (const name of (await store.functions.pendingDeletes?.()) ?? []) await store.functions.finishDelete?.(name);
          return made.createdAt;
        };
        const first = await again();
        assert.equal(first, now, 'a clock that moves on: its own time');
        const second = await again(); // the same millisecond
        now -= 3_600_000;
        const third = await again();
        const fourth = (await store.functions.create(key, settings())).createdAt;
        assert.deepEqual([second, third, fourth], [first + 1, first + 2, first + 3]);
        // Its runs, stamped with its createdAt, are the new function's: a delete of the one before it
        // (its cleanup running late) removes only runs stamped up to its own createdAt.
        const own = run({ function: key });
        await store.runs.record([own], new Map([[key, fourth]]));
        assert.deepEqual((await store.runs.list({ function: key })).items.map((r) => r.runId), [own.runId]);
        now += 7_200_000;
        const fn = (await store.functions.get(key))!;
        await store.functions.delete(key, fn.revision);
        for (const name of (await store.functions.pendingDeletes?.()) ?? []) await store.functions.finishDelete?.(name);
        assert.equal((await store.functions.create(key, settings())).createdAt, now, 'once the clock passed it, its own time again');
      } finally {
        await store.close();
      }
    });
  });
}
