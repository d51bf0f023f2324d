/** Conformance: FunctionStore, VersionStore, DeployStore. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { file, rejectsWithCode, run, settings, uniqueName, withStore, type OpenStore } from './fixtures.js';

export function functionTests(open: OpenStore): void {
  describe('functions', () => {
    it('creates, gets and lists functions with their settings', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const created = await store.functions.create(name, settings({ auth: 'token', invocation: 'both' }));
        assert.equal(created.name, name);
        assert.equal(created.status, 'active');
        assert.equal(created.activeVersion, null);
        assert.equal(created.revision, 1);
        assert.equal(created.auth, 'token');
        assert.equal(created.invocation, 'both');
        assert.equal(created.createdAt, created.updatedAt);
        assert.deepEqual(await store.functions.get(name), created);
        const other = await store.functions.create(`a${name}`, settings());
        assert.deepEqual((await store.functions.list()).map((f) => f.name), [other.name, name]);
        assert.equal(await store.functions.get('nope'), null);
      }));

    it('refuses a duplicate name with FUNCTION_EXISTS', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        await rejectsWithCode(store.functions.create(name, settings({ preset: 'cron' })), 'FUNCTION_EXISTS');
        assert.equal((await store.functions.get(name))?.preset, 'http');
      }));

    it('updates with the expected revision and refuses a stale one (no silent clobber)', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const v1 = await store.functions.create(name, settings());
        // Two writers read revision 1; the first wins, the second is told to re-read.
        const first = await store.functions.update(name, v1.revision, { env: { A: '1' } });
        assert.equal(first.revision, 2);
        assert.deepEqual(first.env, { A: '1' });
        assert.equal(first.preset, 'http');
        await rejectsWithCode(store.functions.update(name, v1.revision, { auth: 'token' }), 'REVISION_CONFLICT');
        const now = await store.functions.get(name);
        assert.equal(now?.auth, 'public');
        assert.equal(now?.revision, 2);
        await rejectsWithCode(store.functions.update('missing-fn', 1, {}), 'FUNCTION_NOT_FOUND');
      }));

    it('keeps the retry policy; a record without one has none, and an update keeps it', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const retry = { maxAttempts: 1, backoffBaseMs: 500, backoffMaxMs: 5000, maxEventAgeMs: 60_000 };
        const created = await store.functions.create(name, settings({ retry }));
        assert.deepEqual((await store.functions.get(name))?.retry, retry);
        const envOnly = await store.functions.update(name, created.revision, { env: { A: '1' } });
        assert.deepEqual(envOnly.retry, retry);
        const changed = await store.functions.update(name, envOnly.revision, { retry: { ...retry, maxAttempts: 5 } });
        assert.equal((await store.functions.get(name))?.retry?.maxAttempts, 5);
        assert.equal(changed.retry?.maxAttempts, 5);
        const plain = uniqueName();
        await store.functions.create(plain, settings());
        assert.equal((await store.functions.get(plain))?.retry, undefined);
      }));

    it('hands out copies: mutating a returned record changes nothing stored', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const created = await store.functions.create(name, settings());
        created.env.INJECTED = 'x';
        created.limits.timeoutMs = 1;
        const again = await store.functions.get(name);
        assert.deepEqual(again?.env, { GREETING: 'hello' });
        assert.equal(again?.limits.timeoutMs, 30_000);
      }));

    it('deletes a function with its versions, deploys, runs and invoke tokens; the name is reusable', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const fn = await store.functions.create(name, settings());
        await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'x')], manifest: {}, createdBy: 't' });
        const deployed = await store.deploys.apply({ function: name, action: 'deploy', version: 1, actor: 't' });
        await store.runs.record([run({ function: name })]);
        const token = await store.tokens.issue({ kind: 'invoke', scope: name });
        await rejectsWithCode(store.functions.delete(name, fn.revision), 'REVISION_CONFLICT');
        await store.functions.delete(name, deployed.function.revision);
        assert.equal(await store.functions.get(name), null);
        assert.equal(await store.versions.get(name, 1), null);
        assert.equal((await store.runs.list({ function: name })).items.length, 0);
        assert.equal(await store.tokens.verify(token.secret, 'invoke', name), null);
        await rejectsWithCode(store.functions.delete(name, 1), 'FUNCTION_NOT_FOUND');
        await store.functions.create(name, settings());
        const fresh = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'y')], manifest: {}, createdBy: 't' });
        assert.equal(fresh.version, 1);
        assert.deepEqual(await store.deploys.list(name), []);
      }));
  });

  describe('versions', () => {
    it('numbers versions 1, 2, 3 per function and records what changed', () =>
      withStore(open, async (store) => {
        const a = uniqueName();
        const b = uniqueName();
        await store.functions.create(a, settings());
        await store.functions.create(b, settings());
        const main1 = await file(store, 'main.py', 'v1');
        const util = await file(store, 'lib/util.py', 'u');
        const v1 = await store.versions.create({ function: a, entrypoint: 'main:handler', files: [util, main1], manifest: { name: a }, createdBy: 'alice', note: 'first' });
        assert.equal(v1.version, 1);
        assert.deepEqual(v1.files.map((f) => f.path), ['lib/util.py', 'main.py']);
        assert.deepEqual(v1.changes, { added: ['lib/util.py', 'main.py'], modified: [], removed: [] });
        assert.equal(v1.createdBy, 'alice');
        assert.equal(v1.note, 'first');
        const main2 = await file(store, 'main.py', 'v2');
        const readme = await file(store, 'README.md', 'r');
        const v2 = await store.versions.create({ function: a, entrypoint: 'main:handler', files: [main2, readme], manifest: null, createdBy: 'bob' });
        assert.equal(v2.version, 2);
        assert.deepEqual(v2.changes, { added: ['README.md'], modified: ['main.py'], removed: ['lib/util.py'] });
        assert.equal(v2.note, '');
        const other = await store.versions.create({ function: b, entrypoint: 'main:handler', files: [main1], manifest: {}, createdBy: 'c' });
        assert.equal(other.version, 1, 'numbering is per function');
        assert.deepEqual(await store.versions.get(a, 1), v1);
        assert.deepEqual(await store.versions.latest(a), v2);
        assert.equal(await store.versions.latest(uniqueName()), null);
      }));

    it('keeps a file\'s executable flag (only when set); a change of the flag alone is a modified file', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        const tool = await file(store, 'bin/tool.sh', '#!/bin/sh\n');
        const main = await file(store, 'main.py', 'm');
        const v1 = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [{ ...tool, executable: true }, { ...main, executable: false }], manifest: {}, createdBy: 't' });
        assert.deepEqual(v1.files, [{ ...tool, executable: true }, main]);
        assert.deepEqual((await store.versions.get(name, 1))!.files, [{ ...tool, executable: true }, main]);
        const v2 = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [tool, main], manifest: {}, createdBy: 't' });
        assert.deepEqual(v2.changes, { added: [], modified: ['bin/tool.sh'], removed: [] });
        assert.deepEqual((await store.versions.get(name, 2))!.files, [tool, main]);
      }));

    it('lists history newest first, as summaries, with paging', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        for (let i = 1; i <= 4; i++) {
          await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', `v${i}`), await file(store, 'big.bin', 'x'.repeat(i))], manifest: {}, createdBy: `u${i}` });
        }
        const history = await store.versions.list(name);
        assert.deepEqual(history.map((v) => v.version), [4, 3, 2, 1]);
        assert.equal(history[0]?.fileCount, 2);
        assert.equal(history[0]?.totalBytes, 2 + 4);
        assert.equal(history[0]?.createdBy, 'u4');
        assert.deepEqual(history[0]?.changes, { added: [], modified: ['big.bin', 'main.py'], removed: [] });
        assert.equal('files' in (history[0] ?? {}), false);
        assert.deepEqual((await store.versions.list(name, { limit: 2, before: 3 })).map((v) => v.version), [2, 1]);
      }));

    it('keeps versions immutable: returned records are copies and nothing can change one', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        const v1 = await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'a')], manifest: { k: [1] }, createdBy: 't' });
        const snapshot = structuredClone(v1);
        v1.files.push({ path: 'evil.py', sha256: '0'.repeat(64), size: 1 });
        v1.entrypoint = 'evil:handler';
        (v1.manifest as { k: number[] }).k.push(2);
        await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'b')], manifest: {}, createdBy: 't' });
        assert.deepEqual(await store.versions.get(name, 1), snapshot);
        assert.equal(typeof (store.versions as unknown as Record<string, unknown>).update, 'undefined');
      }));

    it('assigns distinct numbers to concurrent creates', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await store.functions.create(name, settings());
        const f = await file(store, 'main.py', 'same');
        const made = await Promise.all([1, 2, 3, 4, 5].map(() => store.versions.create({ function: name, entrypoint: 'main:handler', files: [f], manifest: {}, createdBy: 't' })));
        assert.deepEqual(made.map((v) => v.version).sort(), [1, 2, 3, 4, 5]);
      }));

    it('refuses a version of a missing function or with content never uploaded', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        await rejectsWithCode(store.versions.create({ function: name, entrypoint: 'main:handler', files: [], manifest: {}, createdBy: 't' }), 'FUNCTION_NOT_FOUND');
        await store.functions.create(name, settings());
        const ghost = { path: 'ghost.py', sha256: 'f'.repeat(64), size: 3 };
        await assert.rejects(store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'a'), ghost], manifest: {}, createdBy: 't' }), (err: unknown) => {
          assert.equal((err as { code?: unknown }).code, 'BLOB_NOT_FOUND');
          assert.equal((err as { details?: { path?: unknown } }).details?.path, 'ghost.py');
          return true;
        });
        assert.equal(await store.versions.latest(name), null);
      }));
  });

  describe('deploys', () => {
    it('deploys, rolls back, pauses and resumes, logging who did what when', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const fn = await store.functions.create(name, settings());
        for (const content of ['one', 'two']) {
          await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', content)], manifest: {}, createdBy: 't' });
        }
        const d1 = await store.deploys.apply({ function: name, action: 'deploy', version: 1, actor: 'alice', expectedRevision: fn.revision });
        assert.equal(d1.function.activeVersion, 1);
        assert.equal(d1.function.revision, fn.revision + 1);
        assert.deepEqual({ ...d1.entry, at: 0 }, { function: name, seq: 1, action: 'deploy', fromVersion: null, toVersion: 1, status: 'active', actor: 'alice', note: '', at: 0 });
        await store.deploys.apply({ function: name, action: 'deploy', version: 2, actor: 'bob' });
        const back = await store.deploys.apply({ function: name, action: 'rollback', version: 1, actor: 'carol', note: 'v2 broke' });
        assert.equal(back.entry.fromVersion, 2);
        assert.equal(back.function.activeVersion, 1);
        const paused = await store.deploys.apply({ function: name, action: 'pause', actor: 'dave' });
        assert.equal(paused.function.status, 'paused');
        assert.equal(paused.function.activeVersion, 1);
        const resumed = await store.deploys.apply({ function: name, action: 'resume', actor: 'erin' });
        assert.equal(resumed.function.status, 'active');
        assert.deepEqual(await store.functions.get(name), resumed.function);
        const log = await store.deploys.list(name);
        assert.deepEqual(log.map((e) => [e.seq, e.action, e.actor]), [[5, 'resume', 'erin'], [4, 'pause', 'dave'], [3, 'rollback', 'carol'], [2, 'deploy', 'bob'], [1, 'deploy', 'alice']]);
        assert.equal(log[2]?.note, 'v2 broke');
        assert.deepEqual((await store.deploys.list(name, { limit: 2, beforeSeq: 4 })).map((e) => e.seq), [3, 2]);
      }));

    it('keeps the newest keepRecords deploy records of a function: older ones go as it changes (ADR 0103)', () =>
      withStore(open, async (store) => {
        // Before: every pause and resume stayed, at the API's rate of changes, until the function went.
        const name = uniqueName();
        await store.functions.create(name, settings());
        const other = uniqueName();
        await store.functions.create(other, settings());
        await store.deploys.apply({ function: other, action: 'pause', actor: 't' });
        for (let i = 0; i < 8; i++) await store.deploys.apply({ function: name, action: i % 2 === 0 ? 'pause' : 'resume', actor: `a${i}`, keepRecords: 3 });
        assert.deepEqual((await store.deploys.list(name)).map((e) => [e.seq, e.actor]), [[8, 'a7'], [7, 'a6'], [6, 'a5']]);
        assert.equal((await store.functions.get(name))?.status, 'active');
        assert.equal((await store.deploys.list(other)).length, 1, 'another function keeps its records');
        // Without keepRecords nothing goes.
        await store.deploys.apply({ function: name, action: 'pause', actor: 'b' });
        assert.equal((await store.deploys.list(name)).length, 4);
      }));

    it('refuses a missing version or a stale revision and logs nothing', () =>
      withStore(open, async (store) => {
        const name = uniqueName();
        const fn = await store.functions.create(name, settings());
        await rejectsWithCode(store.deploys.apply({ function: name, action: 'deploy', version: 7, actor: 't' }), 'VERSION_NOT_FOUND');
        await rejectsWithCode(store.deploys.apply({ function: name, action: 'deploy', actor: 't' }), 'VERSION_NOT_FOUND');
        await rejectsWithCode(store.deploys.apply({ function: name, action: 'pause', actor: 't', expectedRevision: fn.revision + 5 }), 'REVISION_CONFLICT');
        await rejectsWithCode(store.deploys.apply({ function: uniqueName(), action: 'pause', actor: 't' }), 'FUNCTION_NOT_FOUND');
        assert.deepEqual(await store.deploys.list(name), []);
        assert.deepEqual(await store.functions.get(name), fn);
      }));
  });
}
