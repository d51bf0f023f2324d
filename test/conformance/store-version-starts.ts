/**
 * Conformance: a version keeps what the last start check of it found (ADR 0252): null until one
 * ran, the newest over the one before, in get, latest and list alike; the rest of the version
 * unchanged; nothing for a version that is gone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { file, settings, uniqueName, withStore, type OpenStore } from './fixtures.js';

export function versionStartCheckTests(open: OpenStore): void {
  describe("a version's start check", () => {
    it('is null until kept, then read by get, latest and list; a later one replaces it; a gone version takes none', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        const made = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'a')], manifest: { a: 1 }, createdBy: 't' });
        assert.equal(made.startCheck, null);
        assert.equal((await store.versions.list(name))[0]!.startCheck, null);
        const failed = { ok: false, code: 'DEPLOY_START_FAILED', message: 'version 1 did not start: ImportError: no module named x; nothing was deployed', at: 1_700_000_000_000 };
        await store.versions.setStartCheck(name, made.version, failed);
        const got = await store.versions.get(name, made.version);
        assert.deepEqual(got?.startCheck, failed);
        assert.deepEqual({ ...got, startCheck: null }, made, 'the rest of the version is as it was');
        assert.deepEqual((await store.versions.latest(name))?.startCheck, failed);
        assert.deepEqual((await store.versions.list(name))[0]!.startCheck, failed);
        const ok = { ok: true, code: null, message: null, at: 1_700_000_001_000 };
        await store.versions.setStartCheck(name, made.version, ok);
        assert.deepEqual((await store.versions.list(name))[0]!.startCheck, ok);
        // A version never made, or deleted: nothing written, nothing thrown.
        await store.versions.setStartCheck(name, 9, failed);
        assert.equal(await store.versions.get(name, 9), null);
        const second = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'b')], manifest: null, createdBy: 't' });
        await store.versions.delete(name, second.version);
        await store.versions.setStartCheck(name, second.version, failed);
        assert.equal(await store.versions.get(name, second.version), null);
        assert.deepEqual((await store.versions.list(name)).map((v) => v.version), [1]);
      }));
  });
}
