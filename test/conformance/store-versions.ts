/**
 * Conformance: deleting versions, retention by count and collecting contents no version uses
 * (docs/adr/0098-deleting-versions.md, docs/adr/0099-collecting-contents.md): a deleted version is
 * gone from every read and from its workspace's codeBytes, its number is never given again, the
 * active version and a draft's base are refused; a content goes only when no version uses it and it
 * was not put or touched since the cutoff.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { functionKey } from '../../protocol/index.js';
import { NO_QUOTAS, type Store } from '../../controlplane/store/index.js';
import { file, rejectsWithCode, settings, uniqueName, withStore, type OpenStore } from './fixtures.js';

async function upload(store: Store, fn: string, content: string, extra: { path: string; content: string }[] = []): Promise<number> {
  const files = [await file(store, 'main.py', content), ...(await Promise.all(extra.map((e) => file(store, e.path, e.content))))];
  return (await store.versions.create({ function: fn, entrypoint: 'main:handler', files, manifest: null, createdBy: 't' })).version;
}

export function versionDeleteTests(open: OpenStore): void {
  describe('deleting versions', () => {
    it('deletes a version: gone from get, list and latest; deploys to it refused; its number never given again', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        for (const c of ['a', 'b', 'c']) await upload(store, name, c);
        await store.deploys.apply({ function: name, action: 'deploy', version: 1, actor: 't' });
        await store.versions.delete(name, 3);
        await store.versions.delete(name, 2);
        assert.equal(await store.versions.get(name, 3), null);
        assert.equal((await store.versions.latest(name))?.version, 1);
        assert.deepEqual((await store.versions.list(name)).map((v) => v.version), [1]);
        await rejectsWithCode(store.deploys.apply({ function: name, action: 'deploy', version: 3, actor: 't' }), 'VERSION_NOT_FOUND');
        await rejectsWithCode(store.versions.delete(name, 3), 'VERSION_NOT_FOUND');
        const next = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'd')], manifest: null, createdBy: 't' });
        assert.equal(next.version, 4, 'the deleted numbers are not given again');
        assert.deepEqual(next.changes, { added: [], modified: ['main.py'], removed: [] }, 'changes against the newest version stored');
        assert.deepEqual((await store.versions.list(name)).map((v) => v.version), [4, 1]);
      }));

    it('refuses the active version (VERSION_ACTIVE), the draft\'s base (VERSION_IN_USE), an unknown function or version', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        for (const c of ['a', 'b', 'c']) await upload(store, name, c);
        await store.deploys.apply({ function: name, action: 'deploy', version: 2, actor: 't' });
        await store.drafts.put(name, { baseVersion: 1, files: [], removed: [], updatedBy: 't' });
        await rejectsWithCode(store.versions.delete(name, 2), 'VERSION_ACTIVE');
        await assert.rejects(store.versions.delete(name, 1), (err: unknown) => {
          assert.equal((err as { code?: string }).code, 'VERSION_IN_USE');
          assert.equal((err as { details?: { usedBy?: string } }).details?.usedBy, 'draft');
          return true;
        });
        await rejectsWithCode(store.versions.delete(name, 9), 'VERSION_NOT_FOUND');
        await rejectsWithCode(store.versions.delete(uniqueName(), 1), 'FUNCTION_NOT_FOUND');
        assert.deepEqual((await store.versions.list(name)).map((v) => v.version), [3, 2, 1], 'nothing deleted');
        await store.drafts.delete(name);
        await store.versions.delete(name, 1);
        await store.deploys.apply({ function: name, action: 'rollback', version: 3, actor: 't' });
        await store.versions.delete(name, 2);
        assert.deepEqual((await store.versions.list(name)).map((v) => v.version), [3]);
      }));

    it("a deleted version no longer counts in its workspace's codeBytes: an upload refused at the quota fits after a delete", () =>
      withStore(open, async (store) => {
        const workspace = `ws${randomBytes(4).toString('hex')}`;
        await store.workspaces.create(workspace, { ...NO_QUOTAS, codeBytes: 10 });
        const key = functionKey('code', workspace);
        await store.functions.create(key, settings());
        await upload(store, key, '1234');
        await upload(store, key, '5678');
        assert.equal((await store.workspaces.usage(workspace)).codeBytes, 8);
        await rejectsWithCode(upload(store, key, 'abcd'), 'QUOTA_EXCEEDED');
        await store.versions.delete(key, 1);
        assert.equal((await store.workspaces.usage(workspace)).codeBytes, 4);
        assert.equal(await upload(store, key, 'abcd'), 3);
        assert.equal((await store.workspaces.usage(workspace)).codeBytes, 8);
      }));

    it('prune keeps the newest N, the protected, the active one and the draft\'s base; 0 keeps all', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        for (let i = 1; i <= 7; i++) await upload(store, name, `v${i}`);
        await store.deploys.apply({ function: name, action: 'deploy', version: 2, actor: 't' });
        await store.drafts.put(name, { baseVersion: 1, files: [], removed: [], updatedBy: 't' });
        assert.deepEqual(await store.versions.prune(name, 0), []);
        assert.deepEqual(await store.versions.prune(name, 2, [4]), [3, 5], 'oldest first; 1 (draft), 2 (active) and 4 (protected) kept');
        assert.deepEqual((await store.versions.list(name)).map((v) => v.version), [7, 6, 4, 2, 1]);
        assert.deepEqual(await store.versions.prune(name, 2, [4]), [], 'nothing more to delete');
      }));
  });

  describe('collecting contents', () => {
    it('deletes contents no version uses once untouched since the cutoff; keeps used, kept and recently touched ones', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        const tag = randomBytes(6).toString('hex');
        const only1 = await file(store, 'only1.py', `only in version 1 ${tag}`);
        const shared = await file(store, 'shared.py', `in both ${tag}`);
        const alone = await file(store, 'alone.py', `uploaded, never used ${tag}`);
        const kept = await file(store, 'kept.py', `staged for an upload ${tag}`);
        const main = await file(store, 'main.py', `main ${tag}`);
        await store.versions.create({ function: name, entrypoint: 'main:handler', files: [main, only1, shared], manifest: null, createdBy: 't' });
        await store.versions.create({ function: name, entrypoint: 'main:handler', files: [main, shared], manifest: null, createdBy: 't' });
        await store.deploys.apply({ function: name, action: 'deploy', version: 2, actor: 't' });
        await sleep(20);
        const cutoff = Date.now();
        await sleep(20);
        const fresh = await file(store, 'fresh.py', `put after the cutoff ${tag}`);

        assert.deepEqual(await store.versions.collectBlobs(0), { removed: 0, bytes: 0 }, 'nothing untouched since the epoch');
        const first = await store.versions.collectBlobs(cutoff, new Set([kept.sha256]));
        assert.ok(first.removed >= 1 && first.bytes >= alone.size, 'the content no version uses went');
        assert.equal(await store.blobs.has(alone.sha256), false);
        for (const f of [only1, shared, main, kept, fresh]) assert.equal(await store.blobs.has(f.sha256), true, `${f.path} kept`);

        await store.versions.delete(name, 1);
        await store.versions.collectBlobs(cutoff, new Set([kept.sha256]));
        assert.equal(await store.blobs.has(only1.sha256), false, "version 1's own content went with it");
        assert.equal(await store.blobs.get(only1.sha256), null);
        for (const f of [shared, main]) assert.deepEqual(await store.blobs.get(f.sha256), Buffer.from(f.path === 'main.py' ? `main ${tag}` : `in both ${tag}`), `${f.path} (version 2 uses it) whole`);
        assert.deepEqual(await store.blobs.touch([only1.sha256, shared.sha256]), [only1.sha256], 'touch names the one gone');

        // Put again after its collection: stored whole again.
        const again = await store.blobs.put(Buffer.from(`only in version 1 ${tag}`));
        assert.equal(again.created, true);
        assert.deepEqual(await store.blobs.get(only1.sha256), Buffer.from(`only in version 1 ${tag}`));
      }));

    it('a content touched or put again after the cutoff is kept, and a version can then use it', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        const tag = randomBytes(6).toString('hex');
        const touched = await file(store, 'a.py', `touched ${tag}`);
        const reput = await file(store, 'b.py', `put again ${tag}`);
        await sleep(20);
        const cutoff = Date.now();
        await sleep(20);
        assert.deepEqual(await store.blobs.touch([touched.sha256]), []);
        assert.equal((await store.blobs.put(Buffer.from(`put again ${tag}`))).created, false);
        await store.versions.collectBlobs(cutoff);
        assert.equal(await store.blobs.has(touched.sha256), true);
        assert.equal(await store.blobs.has(reput.sha256), true);
        const v = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [{ ...touched, path: 'main.py' }, reput], manifest: null, createdBy: 't' });
        assert.equal(v.version, 1);
      }));

    it('a version whose content was collected is refused with BLOB_NOT_FOUND, never stored without it', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        const gone = await file(store, 'main.py', `collected ${randomBytes(6).toString('hex')}`);
        await sleep(20);
        await store.versions.collectBlobs(Date.now());
        await rejectsWithCode(store.versions.create({ function: name, entrypoint: 'main:handler', files: [gone], manifest: null, createdBy: 't' }), 'BLOB_NOT_FOUND');
        assert.equal(await store.versions.latest(name), null);
      }));
  });
}
