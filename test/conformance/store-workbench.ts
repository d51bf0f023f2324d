/**
 * Conformance: the console's working state — a function's draft and its saved test cases
 * (DraftStore, TestCaseStore): stored as given, replaced on save, gone with their function, and
 * never carried over to a new function of the same name; kept by function key (ADR 0011), so the
 * same name in two workspaces has two of each.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { functionKey } from '../../protocol/index.js';
import { NO_QUOTAS } from '../../controlplane/store/index.js';
import { rejectsWithCode, settings, uniqueName, withStore, type OpenStore } from './fixtures.js';

const request = (body: unknown) => ({ method: 'POST', path: '/', headers: { 'x-test': 'yes' }, body });

export function workbenchTests(open: OpenStore): void {
  describe('drafts and test cases', () => {
    it('a draft is saved, replaced with a higher revision, read back as given, and deleted', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        assert.equal(await store.drafts.get(name), null);
        const files = [{ path: 'lib/util.py', content: 'X = "ünïcode ✓"\n' }, { path: 'main.py', content: 'def handler(event, context):\n    return 1\n' }];
        const first = await store.drafts.put(name, { baseVersion: null, files, removed: [], updatedBy: 'admin' });
        assert.deepEqual([first.function, first.revision, first.baseVersion, first.updatedBy], [name, 1, null, 'admin']);
        assert.deepEqual(first.files, files);
        const second = await store.drafts.put(name, { baseVersion: 3, files: files.slice(1), removed: ['old.py'], updatedBy: 'admin' });
        assert.equal(second.revision, 2);
        const got = await store.drafts.get(name);
        assert.deepEqual([got?.baseVersion, got?.files, got?.removed, got?.revision], [3, files.slice(1), ['old.py'], 2]);
        assert.ok(got!.updatedAt > 0);
        assert.equal(await store.drafts.delete(name), true);
        assert.equal(await store.drafts.delete(name), false);
        assert.equal(await store.drafts.get(name), null);
        await rejectsWithCode(store.drafts.put(uniqueName(), { baseVersion: null, files: [], removed: [], updatedBy: 'admin' }), 'FUNCTION_NOT_FOUND');
      }));

    it('a draft saved with ifRevision replaces only the revision given (0: none), else DRAFT_CONFLICT and nothing changes (two tabs, round 9)', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const fn = await store.functions.create(name, settings());
        const tab = (content: string) => ({ baseVersion: null, files: [{ path: 'main.py', content }], removed: [], updatedBy: 'admin' });
        const a1 = await store.drafts.put(name, tab('A'), 0);
        assert.equal(a1.revision, 1);
        // A second "first save" (a tab that read no draft either) is refused, with what is stored now.
        const none = await store.drafts.put(name, tab('B'), 0).then(() => null, (err: { code?: string; details?: Record<string, unknown> }) => err);
        assert.equal(none?.code, 'DRAFT_CONFLICT');
        assert.equal(none?.details?.['revision'], 1);
        assert.equal(none?.details?.['updatedBy'], 'admin');
        const a2 = await store.drafts.put(name, tab('A2'), 1);
        assert.equal(a2.revision, 2);
        await rejectsWithCode(store.drafts.put(name, tab('B'), 1), 'DRAFT_CONFLICT');
        assert.deepEqual((await store.drafts.get(name))?.files, tab('A2').files);
        // Discarded (or deployed) meanwhile: a save over the revision read is refused; over none it starts again.
        await store.drafts.delete(name);
        await rejectsWithCode(store.drafts.put(name, tab('B'), 2), 'DRAFT_CONFLICT');
        assert.equal(await store.drafts.get(name), null);
        assert.equal((await store.drafts.put(name, tab('B'), 0)).revision, 1);
        // Without ifRevision the last write wins, as before.
        assert.equal((await store.drafts.put(name, tab('C'))).revision, 2);
        // A draft left by a deleted function of the same name is none to the new one.
        await store.functions.delete(name, fn.revision);
        await store.functions.create(name, settings());
        assert.equal((await store.drafts.put(name, tab('D'), 0)).revision, 1);
        await rejectsWithCode(store.drafts.put(uniqueName(), tab('x'), 0), 'FUNCTION_NOT_FOUND');
      }));

    it('a draft deleted with ifRevision goes only at that revision: a newer one saved by another tab is kept (round 9)', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const fn = await store.functions.create(name, settings());
        const tab = (content: string) => ({ baseVersion: null, files: [{ path: 'main.py', content }], removed: [], updatedBy: 'admin' });
        await store.drafts.put(name, tab('A'), 0); // revision 1: tab A deploys it
        await store.drafts.put(name, tab('B'), 1); // revision 2: tab B saved meanwhile
        assert.equal(await store.drafts.delete(name, 1), false, 'A\'s deploy does not discard B\'s draft');
        assert.deepEqual((await store.drafts.get(name))?.files, tab('B').files);
        assert.equal(await store.drafts.delete(name, 2), true);
        assert.equal(await store.drafts.get(name), null);
        assert.equal(await store.drafts.delete(name, 2), false);
        // A deleted function's draft of the same name is not the new one's to delete.
        await store.drafts.put(name, tab('C'), 0);
        await store.functions.delete(name, fn.revision);
        await store.functions.create(name, settings());
        assert.equal(await store.drafts.delete(name, 1), false);
      }));

    it('test cases are listed by name, replaced by name, and deleted', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        assert.deepEqual(await store.testCases.list(name), []);
        const b = await store.testCases.put(name, 'b case', { mode: 'sync', request: request({ a: 1, 'dotted.key': { $odd: true } }) });
        await store.testCases.put(name, 'a-case', { mode: 'async', request: request(null) });
        assert.deepEqual([b.function, b.name, b.mode], [name, 'b case', 'sync']);
        assert.deepEqual(b.request, request({ a: 1, 'dotted.key': { $odd: true } }));
        assert.deepEqual((await store.testCases.list(name)).map((c) => [c.name, c.mode]), [['a-case', 'async'], ['b case', 'sync']]);
        const replaced = await store.testCases.put(name, 'b case', { mode: 'async', request: request([1, 2]) });
        assert.equal(replaced.createdAt, b.createdAt);
        assert.deepEqual((await store.testCases.list(name)).find((c) => c.name === 'b case')?.request, request([1, 2]));
        assert.equal(await store.testCases.delete(name, 'a-case'), true);
        assert.equal(await store.testCases.delete(name, 'a-case'), false);
        assert.deepEqual((await store.testCases.list(name)).map((c) => c.name), ['b case']);
        assert.deepEqual(await store.testCases.list(uniqueName()), []);
        await rejectsWithCode(store.testCases.put(uniqueName(), 'x', { mode: 'sync', request: {} }), 'FUNCTION_NOT_FOUND');
      }));

    it('drafts and test cases go with their function: a new function of the same name starts empty', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const fn = await store.functions.create(name, settings());
        await store.drafts.put(name, { baseVersion: null, files: [{ path: 'main.py', content: 'x' }], removed: [], updatedBy: 'admin' });
        await store.testCases.put(name, 'one', { mode: 'sync', request: {} });
        await store.functions.delete(name, fn.revision);
        await store.functions.create(name, settings());
        assert.equal(await store.drafts.get(name), null);
        assert.deepEqual(await store.testCases.list(name), []);
      }));

    it('are kept by function key: the same name in two workspaces has its own draft and test cases, and a delete takes only its own', () =>
      withStore(open, async (store) => {
        const workspace = `ws-${randomBytes(3).toString('hex')}`;
        await store.workspaces.create(workspace, NO_QUOTAS);
        const name = uniqueName();
        const other = functionKey(name, workspace);
        await store.functions.create(name, settings());
        const theirs = await store.functions.create(other, settings());
        await store.drafts.put(name, { baseVersion: null, files: [{ path: 'main.py', content: 'default' }], removed: [], updatedBy: 'admin' });
        await store.drafts.put(other, { baseVersion: null, files: [{ path: 'main.py', content: 'theirs' }], removed: [], updatedBy: 'owner' });
        await store.testCases.put(name, 'mine', { mode: 'sync', request: {} });
        await store.testCases.put(other, 'theirs', { mode: 'async', request: {} });
        assert.equal((await store.drafts.get(other))?.function, other);
        assert.deepEqual((await store.drafts.get(other))?.files, [{ path: 'main.py', content: 'theirs' }]);
        assert.deepEqual((await store.testCases.list(name)).map((c) => c.name), ['mine']);
        assert.deepEqual((await store.testCases.list(other)).map((c) => [c.function, c.name]), [[other, 'theirs']]);
        await store.functions.delete(other, theirs.revision);
        assert.equal(await store.drafts.get(other), null);
        assert.deepEqual(await store.testCases.list(other), []);
        assert.deepEqual((await store.drafts.get(name))?.files, [{ path: 'main.py', content: 'default' }]);
        assert.deepEqual((await store.testCases.list(name)).map((c) => c.name), ['mine']);
      }));
  });
}
