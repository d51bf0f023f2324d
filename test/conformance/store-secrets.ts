/** Conformance: TokenStore, BlobStore and the store's lifecycle. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { NO_QUOTAS } from '../../controlplane/store/index.js';
import { rejectsWithCode, settings, sha256, uniqueName, withStore, type ConformanceHooks, type OpenStore } from './fixtures.js';

export function tokenTests(open: OpenStore, hooks: ConformanceHooks): void {
  describe('tokens', () => {
    it('stores only a keyed digest of a secret: the clear token is nowhere in the persisted bytes', () =>
      withStore(open, async (store) => {
        const admin = await store.tokens.issue({ kind: 'admin', label: 'first start' });
        const invoke = await store.tokens.issue({ kind: 'invoke', scope: 'fn-x' });
        const rotated = await store.tokens.rotate(invoke.record.id);
        const raw = await hooks.rawBytes(store);
        for (const token of [admin, invoke, rotated]) {
          assert.equal(token.record.keyId, hooks.keyring.currentId);
          assert.equal(token.record.digest, hooks.keyring.tokenDigest(token.secret));
          assert.notEqual(token.record.digest, sha256(token.secret), 'the digest must be keyed, not a plain sha256');
          const random = token.secret.slice(4); // without the kind prefix
          assert.equal(raw.includes(token.secret), false, 'clear secret found in storage');
          assert.equal(raw.includes(random), false, 'secret body found in storage');
          assert.equal(raw.includes(Buffer.from(random, 'base64url').toString('hex')), false, 'secret bytes (hex) found in storage');
          assert.equal(raw.includes(sha256(token.secret)), false, 'an unkeyed sha256 of the secret found in storage');
          assert.equal(raw.includes(token.record.digest), true, 'the dump must contain the stored digest (else it reads nothing)');
        }
        for (const record of await store.tokens.list({ includeRevoked: true })) {
          assert.equal(JSON.stringify(record).includes(admin.secret), false);
        }
      }));

    it('verifies by kind and scope', () =>
      withStore(open, async (store) => {
        const admin = await store.tokens.issue({ kind: 'admin', label: 'ci' });
        assert.equal(admin.record.scope, null);
        assert.equal(admin.record.label, 'ci');
        assert.equal(admin.record.revokedAt, null);
        assert.equal((await store.tokens.verify(admin.secret, 'admin'))?.id, admin.record.id);
        assert.equal(await store.tokens.verify(admin.secret, 'invoke', 'fn'), null);
        assert.equal(await store.tokens.verify(admin.secret + 'x', 'admin'), null);
        assert.equal(await store.tokens.verify('', 'admin'), null);
        const inv = await store.tokens.issue({ kind: 'invoke', scope: 'fn-a' });
        assert.equal((await store.tokens.verify(inv.secret, 'invoke', 'fn-a'))?.id, inv.record.id);
        assert.equal(await store.tokens.verify(inv.secret, 'invoke', 'fn-b'), null);
        assert.equal(await store.tokens.verify(inv.secret, 'admin'), null);
        assert.notEqual(admin.secret, inv.secret);
      }));

    it('rotates: the old secret stops working, the new one works with the same kind, scope and label', () =>
      withStore(open, async (store) => {
        const old = await store.tokens.issue({ kind: 'invoke', scope: 'fn-r', label: 'partner' });
        const next = await store.tokens.rotate(old.record.id);
        assert.notEqual(next.record.id, old.record.id);
        assert.deepEqual([next.record.kind, next.record.scope, next.record.label], ['invoke', 'fn-r', 'partner']);
        assert.equal(await store.tokens.verify(old.secret, 'invoke', 'fn-r'), null);
        assert.equal((await store.tokens.verify(next.secret, 'invoke', 'fn-r'))?.id, next.record.id);
        assert.deepEqual((await store.tokens.list({ kind: 'invoke', scope: 'fn-r' })).map((t) => t.id), [next.record.id]);
        const withRevoked = await store.tokens.list({ kind: 'invoke', scope: 'fn-r', includeRevoked: true });
        assert.equal(withRevoked.find((t) => t.id === old.record.id)?.revokedAt !== null, true);
        await rejectsWithCode(store.tokens.rotate(old.record.id), 'TOKEN_NOT_FOUND');
        await rejectsWithCode(store.tokens.rotate('tok_missing'), 'TOKEN_NOT_FOUND');
      }));

    it('revokes', () =>
      withStore(open, async (store) => {
        const t = await store.tokens.issue({ kind: 'admin' });
        await store.tokens.revoke(t.record.id);
        assert.equal(await store.tokens.verify(t.secret, 'admin'), null);
        await rejectsWithCode(store.tokens.revoke(t.record.id), 'TOKEN_NOT_FOUND');
        assert.deepEqual(await store.tokens.list({ kind: 'admin' }), []);
      }));

    it('lists every live token and only the newest revokedLimit revoked ones, newest first (red team round 7)', () =>
      withStore(open, async (store) => {
        const issued = [];
        for (let i = 0; i < 6; i++) issued.push((await store.tokens.issue({ kind: 'invoke', scope: 'fn-l', label: `t${i}` })).record.id);
        for (const i of [0, 2, 3, 5]) await store.tokens.revoke(issued[i]!);
        const listed = await store.tokens.list({ kind: 'invoke', scope: 'fn-l', includeRevoked: true, revokedLimit: 2 });
        // Live: 1 and 4; the newest two revoked: 5 and 3 (not 2 and 0).
        assert.deepEqual(listed.map((t) => t.label), ['t5', 't4', 't3', 't1']);
        assert.equal((await store.tokens.list({ kind: 'invoke', scope: 'fn-l', includeRevoked: true })).length, 6);
        assert.deepEqual((await store.tokens.list({ kind: 'invoke', scope: 'fn-l', revokedLimit: 2 })).map((t) => t.label), ['t4', 't1']);
      }));

    it('keeps the newest keepRevoked revoked tokens of a kind and scope: older rows go as more are revoked, by revoke or rotate (ADR 0103)', () =>
      withStore(open, async (store) => {
        // Before: every revoked row stayed (~300 bytes each), at the API's rate of changes.
        const scope = `ws-${uniqueName()}`;
        const keep = 3;
        // A workspace's tokens are issued only while it is there (red team round 38).
        for (const name of [scope, `${scope}-b`]) await store.workspaces.create(name, NO_QUOTAS);
        const other = (await store.tokens.issue({ kind: 'workspace', scope: `${scope}-b`, label: 'other', role: 'viewer' })).record.id;
        await store.tokens.revoke(other, { keepRevoked: keep });
        const ids: string[] = [];
        for (let i = 0; i < 8; i++) ids.push((await store.tokens.issue({ kind: 'workspace', scope, label: `t${i}`, role: 'viewer' })).record.id);
        // Revoked in any order: what stays is the newest by creation.
        for (const i of [7, 0, 3, 1, 6, 2, 5, 4]) await store.tokens.revoke(ids[i]!, { keepRevoked: keep });
        const live = (await store.tokens.issue({ kind: 'workspace', scope, label: 'live', role: 'viewer' })).record.id;
        await store.tokens.rotate(live, { keepRevoked: keep });
        const listed = await store.tokens.list({ kind: 'workspace', scope, includeRevoked: true });
        assert.deepEqual(listed.map((t) => [t.label, t.revokedAt !== null]), [['live', false], ['live', true], ['t7', true], ['t6', true]]);
        assert.equal((await store.tokens.list({ kind: 'workspace', scope: `${scope}-b`, includeRevoked: true })).length, 1, 'another scope keeps its own');
        // Without keepRevoked nothing goes.
        await store.tokens.revoke((await store.tokens.issue({ kind: 'workspace', scope, label: 'x', role: 'viewer' })).record.id);
        assert.equal((await store.tokens.list({ kind: 'workspace', scope, includeRevoked: true })).length, 5);
      }));
  });
}

export function blobTests(open: OpenStore): void {
  describe('blobs', () => {
    it('gives back byte-exact content by sha256', () =>
      withStore(open, async (store) => {
        const data = Buffer.concat([randomBytes(100_000), Buffer.alloc(10), Buffer.from('é\n\r')]);
        const put = await store.blobs.put(data);
        assert.deepEqual(put, { sha256: sha256(data), size: data.length, created: true });
        assert.equal(await store.blobs.has(put.sha256), true);
        assert.equal(await store.blobs.size(put.sha256), data.length);
        assert.equal(Buffer.compare((await store.blobs.get(put.sha256))!, data), 0);
        const empty = await store.blobs.put(new Uint8Array(0));
        assert.equal((await store.blobs.get(empty.sha256))?.length, 0);
      }));

    it('stores the same content once', () =>
      withStore(open, async (store) => {
        const data = Buffer.from(`same content ${uniqueName()}`);
        const first = await store.blobs.put(data);
        const second = await store.blobs.put(Buffer.from(data), first.sha256);
        assert.equal(first.created, true);
        assert.equal(second.created, false);
        assert.equal(second.sha256, first.sha256);
      }));

    it('verifies the hash on put and stores nothing on a mismatch', () =>
      withStore(open, async (store) => {
        const data = Buffer.from(`payload ${uniqueName()}`);
        const wrong = sha256('something else');
        await rejectsWithCode(store.blobs.put(data, wrong), 'BLOB_HASH_MISMATCH');
        assert.equal(await store.blobs.has(wrong), false);
        assert.equal(await store.blobs.has(sha256(data)), false);
      }));

    it('answers absent for unknown and malformed hashes', () =>
      withStore(open, async (store) => {
        for (const key of ['a'.repeat(64), '../../etc/passwd', 'ABC', '']) {
          assert.equal(await store.blobs.has(key), false);
          assert.equal(await store.blobs.get(key), null);
          assert.equal(await store.blobs.size(key), null);
          assert.equal(await store.blobs.localPath(key), null);
        }
      }));

    it('gives a local path only to a file holding exactly the blob', () =>
      withStore(open, async (store) => {
        const data = randomBytes(4096);
        const { sha256: hash } = await store.blobs.put(data);
        const path = await store.blobs.localPath(hash);
        if (path !== null) assert.equal(Buffer.compare(await readFile(path), data), 0);
      }));
  });
}

export function lifecycleTests(open: OpenStore): void {
  describe('lifecycle', () => {
    it('refuses calls after close with STORE_CLOSED; close is idempotent', async () => {
      const store = await open();
      await store.close();
      await store.close();
      await rejectsWithCode(store.functions.create(uniqueName(), settings()), 'STORE_CLOSED');
      await rejectsWithCode(store.runs.list(), 'STORE_CLOSED');
      await rejectsWithCode(store.blobs.put(Buffer.from('x')), 'STORE_CLOSED');
      await rejectsWithCode(store.tokens.issue({ kind: 'admin' }), 'STORE_CLOSED');
    });
  });
}
