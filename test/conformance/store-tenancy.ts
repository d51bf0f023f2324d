/**
 * Conformance: workspaces and their quotas (functions exactly at their quota under concurrent
 * creates, codeBytes, a workspace deleted with functions refused and nothing changed, a delete
 * racing creates never leaving a function in a deleted workspace), workspace tokens (role, expiry,
 * last use), the audit log (order, filters, paging, pruning), content grants, runs by workspace.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { functionKey } from '../../protocol/index.js';
import { auditTrimSlack, NO_QUOTAS, type NewAuditEntry } from '../../controlplane/store/index.js';
import { file, rejectsWithCode, run, settings, uniqueName, withStore, type OpenStore } from './fixtures.js';

function workspaceName(): string {
  return `ws-${randomBytes(3).toString('hex')}`;
}

function entry(overrides: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    at: 1_700_000_000_000,
    actor: { tokenId: 'tok_a', label: 'admin', role: 'root' },
    address: '127.0.0.1',
    workspace: 'default',
    action: 'function.create',
    target: 'fn-a',
    detail: { preset: 'http' },
    ...overrides,
  };
}

export function tenancyTests(open: OpenStore): void {
  describe('workspaces', () => {
    it('has the default workspace from the start, without quotas', () =>
      withStore(open, async (store) => {
        const found = await store.workspaces.get('default');
        assert.deepEqual(found?.quotas, NO_QUOTAS);
        assert.ok((await store.workspaces.list()).some((w) => w.name === 'default'));
      }));

    it('creates, lists, changes quotas (null removes one) and refuses a taken name', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        const created = await store.workspaces.create(name, { ...NO_QUOTAS, functions: 3 });
        assert.equal(created.name, name);
        assert.equal(created.quotas.functions, 3);
        await rejectsWithCode(store.workspaces.create(name, NO_QUOTAS), 'WORKSPACE_EXISTS');
        const changed = await store.workspaces.update(name, { codeBytes: 1000, functions: null });
        assert.deepEqual(changed.quotas, { ...NO_QUOTAS, codeBytes: 1000 });
        assert.deepEqual((await store.workspaces.get(name))?.quotas, changed.quotas);
        assert.deepEqual((await store.workspaces.list()).map((w) => w.name).filter((n) => n === name || n === 'default').sort(), ['default', name].sort());
        await rejectsWithCode(store.workspaces.update('ws-missing', { functions: 1 }), 'WORKSPACE_NOT_FOUND');
      }));

    it('puts a function in its key\'s workspace, and refuses a workspace that does not exist', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        await store.workspaces.create(name, NO_QUOTAS);
        const key = functionKey('shop', name);
        await store.functions.create(key, settings());
        await store.functions.create('shop', settings());
        assert.deepEqual((await store.functions.list({ workspace: name })).map((f) => f.name), [key]);
        assert.ok(!(await store.functions.list({ workspace: 'default' })).some((f) => f.name === key));
        assert.equal((await store.workspaces.usage(name)).functions, 1);
        await rejectsWithCode(store.functions.create(functionKey('shop', 'ws-nowhere'), settings()), 'WORKSPACE_NOT_FOUND');
      }));

    it('stops concurrent creates exactly at the functions quota', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        await store.workspaces.create(name, { ...NO_QUOTAS, functions: 3 });
        const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => store.functions.create(functionKey(`f${i}`, name), settings())));
        const made = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(made, 3);
        for (const r of results) {
          if (r.status === 'rejected') {
            assert.equal((r.reason as { code?: string }).code, 'QUOTA_EXCEEDED');
            assert.deepEqual([(r.reason as { details: Record<string, unknown> }).details['quota'], (r.reason as { details: Record<string, unknown> }).details['limit']], ['functions', 3]);
          }
        }
        assert.equal((await store.functions.list({ workspace: name })).length, 3);
        // A delete makes room for exactly one more.
        const one = (await store.functions.list({ workspace: name }))[0]!;
        await store.functions.delete(one.name, one.revision);
        await store.functions.create(functionKey('again', name), settings());
        await rejectsWithCode(store.functions.create(functionKey('more', name), settings()), 'QUOTA_EXCEEDED');
      }));

    it('refuses a version past the codeBytes quota and keeps the ones before', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        await store.workspaces.create(name, { ...NO_QUOTAS, codeBytes: 10 });
        const key = functionKey('code', name);
        await store.functions.create(key, settings());
        await store.versions.create({ function: key, entrypoint: 'main:handler', files: [await file(store, 'main.py', '123456')], manifest: null, createdBy: 't' });
        await assert.rejects(
          store.versions.create({ function: key, entrypoint: 'main:handler', files: [await file(store, 'main.py', '12345')], manifest: null, createdBy: 't' }),
          (err: unknown) => {
            assert.equal((err as { code?: string }).code, 'QUOTA_EXCEEDED');
            // What was refused beside what is used: "is at its codeBytes quota (0 of 1024)" for a first upload (new-user round 5).
            assert.match((err as Error).message, /has no room for 5 more bytes under its codeBytes quota \(6 of 10 used\)/);
            return true;
          },
        );
        assert.equal((await store.workspaces.usage(name)).codeBytes, 6);
        assert.equal((await store.versions.list(key)).length, 1);
      }));

    it('refuses to delete a workspace with functions (nothing changes), deletes an empty one with its tokens, never default', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        await store.workspaces.create(name, NO_QUOTAS);
        const key = functionKey('keep', name);
        await store.functions.create(key, settings());
        const token = await store.tokens.issue({ kind: 'workspace', scope: name, role: 'owner', label: 'o' });
        await rejectsWithCode(store.workspaces.delete(name), 'WORKSPACE_NOT_EMPTY');
        assert.ok(await store.workspaces.get(name));
        assert.ok(await store.functions.get(key));
        assert.equal((await store.tokens.list({ kind: 'workspace', scope: name })).length, 1);
        const fn = (await store.functions.get(key))!;
        await store.functions.delete(key, fn.revision);
        await store.workspaces.delete(name);
        assert.equal(await store.workspaces.get(name), null);
        assert.equal(await store.tokens.verify(token.secret, 'workspace', name), null);
        await rejectsWithCode(store.workspaces.delete(name), 'WORKSPACE_NOT_FOUND');
        await rejectsWithCode(store.workspaces.delete('default'), 'WORKSPACE_PROTECTED');
        await rejectsWithCode(store.functions.create(functionKey('late', name), settings()), 'WORKSPACE_NOT_FOUND');
      }));

    it('never leaves a function in a deleted workspace when a delete races creates', () =>
      withStore(open, async (store) => {
        for (let round = 0; round < 3; round++) {
          const name = workspaceName();
          await store.workspaces.create(name, NO_QUOTAS);
          const outcomes = await Promise.allSettled([
            store.workspaces.delete(name),
            ...Array.from({ length: 4 }, (_, i) => store.functions.create(functionKey(`r${i}`, name), settings())),
          ]);
          const deleted = outcomes[0]!.status === 'fulfilled';
          const live = await store.functions.list({ workspace: name });
          if (deleted) {
            assert.equal(live.length, 0, 'a deleted workspace holds no function');
            assert.equal(await store.workspaces.get(name), null);
          } else {
            assert.equal((outcomes[0] as PromiseRejectedResult).reason.code, 'WORKSPACE_NOT_EMPTY');
            assert.ok(await store.workspaces.get(name));
            // Both racing sides may see the other and back out (production: each writes its mark,
            // then reads the other's): the creates that succeeded are the functions there are.
            assert.equal(live.length, outcomes.slice(1).filter((o) => o.status === 'fulfilled').length);
          }
          for (const o of outcomes.slice(1)) if (o.status === 'rejected') assert.equal((o.reason as { code?: string }).code, 'WORKSPACE_NOT_FOUND');
        }
      }));

    it('issues a workspace token only while its workspace is there, and leaves none live when a delete races issues (red team round 38)', () =>
      withStore(open, async (store) => {
        // Before: a token issued after its workspace's delete (which revokes them) stayed live, a token
        // of the workspace created again under the name (another tenant's).
        await rejectsWithCode(store.tokens.issue({ kind: 'workspace', scope: workspaceName(), role: 'owner', label: 'never' }), 'WORKSPACE_NOT_FOUND');
        const gone = workspaceName();
        await store.workspaces.create(gone, NO_QUOTAS);
        await store.workspaces.delete(gone);
        await rejectsWithCode(store.tokens.issue({ kind: 'workspace', scope: gone, role: 'owner', label: 'late' }), 'WORKSPACE_NOT_FOUND');
        for (let round = 0; round < 3; round++) {
          const name = workspaceName();
          await store.workspaces.create(name, NO_QUOTAS);
          const outcomes = await Promise.allSettled([
            store.workspaces.delete(name),
            ...Array.from({ length: 4 }, (_, i) => store.tokens.issue({ kind: 'workspace', scope: name, role: 'owner', label: `r${i}` })),
          ]);
          assert.equal(outcomes[0]!.status, 'fulfilled', 'tokens do not hold a workspace');
          for (const o of outcomes.slice(1)) if (o.status === 'rejected') assert.equal((o.reason as { code: string }).code, 'WORKSPACE_NOT_FOUND');
          await store.workspaces.create(name, NO_QUOTAS);
          assert.deepEqual(await store.tokens.list({ kind: 'workspace', scope: name }), [], 'a token of the deleted workspace is live in the one created again');
        }
      }));

    it('counts the log bytes of the workspace\'s runs, and lists runs by workspace', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        await store.workspaces.create(name, NO_QUOTAS);
        const key = functionKey('logs', name);
        const logs = [{ stream: 'stdout', ts: 1, msg: 'héllo' }];
        await store.runs.record([run({ function: key, logs }), run({ function: key, logs: [] }), run({ function: 'fn-other', logs })]);
        assert.equal((await store.workspaces.usage(name)).logBytes, Buffer.byteLength(JSON.stringify(logs)));
        const page = await store.runs.list({ workspace: name });
        assert.equal(page.items.length, 2);
        assert.ok(page.items.every((r) => r.function === key));
      }));
  });

  describe('workspace tokens', () => {
    it('keeps role, expiry, creator and last use; lists by workspace; touch only moves forward', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        await store.workspaces.create(name, NO_QUOTAS);
        const issued = await store.tokens.issue({ kind: 'workspace', scope: name, role: 'deployer', label: 'ci', expiresAt: 2_000_000_000_000, createdBy: 'admin' });
        assert.equal(issued.secret.startsWith('fpw_'), true);
        const r = issued.record;
        assert.deepEqual([r.kind, r.scope, r.role, r.expiresAt, r.createdBy, r.lastUsedAt], ['workspace', name, 'deployer', 2_000_000_000_000, 'admin', null]);
        assert.equal((await store.tokens.verify(issued.secret, 'workspace', name))?.id, r.id);
        assert.equal(await store.tokens.verify(issued.secret, 'workspace', 'elsewhere'), null);
        await store.tokens.touch([{ id: r.id, at: 5000 }]);
        await store.tokens.touch([{ id: r.id, at: 4000 }]);
        const [listed] = await store.tokens.list({ kind: 'workspace', scope: name });
        assert.equal(listed?.lastUsedAt, 5000);
        assert.equal(listed?.role, 'deployer');
        // Rotation keeps what the token is.
        const next = await store.tokens.rotate(r.id);
        assert.deepEqual([next.record.role, next.record.expiresAt, next.record.scope], ['deployer', 2_000_000_000_000, name]);
        const admin = await store.tokens.issue({ kind: 'admin', label: 'a' });
        assert.equal(admin.record.role, null);
      }));
  });

  describe('audit log', () => {
    it('appends in order, lists newest first with filters and paging, prunes by time', () =>
      withStore(open, async (store) => {
        const ws = workspaceName();
        const written = [];
        for (let i = 0; i < 5; i++) {
          written.push(await store.audit.append(entry({ at: 1000 + i, workspace: i % 2 === 0 ? ws : 'default', action: i === 3 ? 'deploy' : 'function.create', target: `t${i}`, actor: { tokenId: i === 4 ? 'tok_b' : 'tok_a', label: 'x', role: 'owner' } })));
        }
        for (let i = 1; i < written.length; i++) assert.ok(written[i]!.seq > written[i - 1]!.seq);
        const mine = await store.audit.list({ workspace: ws });
        assert.deepEqual(mine.items.map((e) => e.target), ['t4', 't2', 't0']);
        assert.deepEqual(mine.items[0]?.detail, { preset: 'http' });
        assert.deepEqual((await store.audit.list({ action: 'deploy' })).items.map((e) => e.target), ['t3']);
        assert.deepEqual((await store.audit.list({ actor: 'tok_b' })).items.map((e) => e.target), ['t4']);
        assert.deepEqual((await store.audit.list({ since: 1003 })).items.map((e) => e.target), ['t4', 't3']);
        const first = await store.audit.list({ limit: 2 });
        assert.equal(first.items.length, 2);
        const second = await store.audit.list({ limit: 2, cursor: first.nextCursor! });
        assert.deepEqual(second.items.map((e) => e.seq), [written[2]!.seq, written[1]!.seq]);
        await rejectsWithCode(store.audit.list({ cursor: 'nope' }), 'RUN_CURSOR_INVALID');
        assert.equal(await store.audit.prune(1002), 2);
        assert.deepEqual((await store.audit.list({})).items.map((e) => e.target), ['t4', 't3', 't2']);
      }));

    it('numbers each workspace\'s entries on their own: its numbers and cursors tell nothing of other workspaces (red team 6)', () =>
      withStore(open, async (store) => {
        const a = workspaceName();
        const b = workspaceName();
        const mine: number[] = [];
        for (let i = 0; i < 6; i++) {
          // Another workspace's changes between each of a's: before, a saw its global numbers' gaps.
          for (let j = 0; j < 3; j++) await store.audit.append(entry({ workspace: b, target: `b${i}.${j}` }));
          mine.push((await store.audit.append(entry({ workspace: a, target: `a${i}` }))).workspaceSeq);
        }
        assert.deepEqual(mine, [1, 2, 3, 4, 5, 6]);
        const first = await store.audit.list({ workspace: a, limit: 4 });
        assert.deepEqual(first.items.map((e) => [e.target, e.workspaceSeq]), [['a5', 6], ['a4', 5], ['a3', 4], ['a2', 3]]);
        // The cursor carries the workspace's number, not the global one.
        assert.equal(Buffer.from(first.nextCursor!, 'base64url').toString('utf8'), 'w3');
        const second = await store.audit.list({ workspace: a, limit: 4, cursor: first.nextCursor! });
        assert.deepEqual(second.items.map((e) => e.target), ['a1', 'a0']);
        assert.equal(second.nextCursor, null);
        // A workspace's cursor is not one for the whole log, nor the reverse.
        await rejectsWithCode(store.audit.list({ cursor: first.nextCursor! }), 'RUN_CURSOR_INVALID');
        const all = await store.audit.list({ limit: 1 });
        await rejectsWithCode(store.audit.list({ workspace: a, cursor: all.nextCursor! }), 'RUN_CURSOR_INVALID');
        // Concurrent appends to one workspace get distinct numbers in the order of `seq`.
        const together = await Promise.all(Array.from({ length: 10 }, (_, i) => store.audit.append(entry({ workspace: i % 2 ? a : b, target: `c${i}` }))));
        const ofA = together.filter((e) => e.workspace === a).sort((x, y) => x.seq - y.seq).map((e) => e.workspaceSeq);
        assert.deepEqual(ofA, [7, 8, 9, 10, 11]);
      }));

    it('keeps the order of concurrent appends total', () =>
      withStore(open, async (store) => {
        const appended = await Promise.all(Array.from({ length: 20 }, (_, i) => store.audit.append(entry({ target: `c${i}` }))));
        const seqs = appended.map((e) => e.seq);
        assert.equal(new Set(seqs).size, 20);
        const listed = (await store.audit.list({ limit: 20 })).items.map((e) => e.seq);
        assert.deepEqual(listed, [...seqs].sort((a, b) => b - a));
      }));

    it('keeps at most `keep` (plus its slack) entries of a workspace: the oldest go, an audit.trim entry says so, other workspaces keep theirs (ADR 0103)', () =>
      withStore(open, async (store) => {
        // Before: every change a tenant made through the API stayed for the retention (90 days):
        // ~285 bytes of platform.db each, 1 400 a second from one deployer token.
        const a = workspaceName();
        const b = workspaceName();
        // 20 kept, trimmed at 22: 120 appends go through 40 trims (400 appends at keep 50 took 17 s on FerretDB).
        const keep = 20;
        const appends = 120;
        const slack = auditTrimSlack(keep);
        for (let i = 0; i < 8; i++) await store.audit.append(entry({ workspace: b, target: `b${i}` }));
        // The workspace's creation stays whatever its age: its number anchors a workspace token's.
        await store.audit.append(entry({ workspace: a, action: 'workspace.create', target: a }), { keep });
        for (let i = 0; i < appends; i++) {
          await store.audit.append(entry({ workspace: a, target: `a${i}`, at: 1_700_000_000_000 + i }), { keep });
          if (i % keep === keep - 1) {
            const held = (await store.audit.list({ workspace: a, limit: 1000 })).items;
            assert.ok(held.length <= keep + slack + 1, `${held.length} entries of ${a} after ${i + 1} appends; at most ${keep + slack + 1}`);
          }
        }
        const items = (await store.audit.list({ workspace: a, limit: 1000 })).items;
        assert.ok(items.length >= keep - 1 && items.length <= keep + slack + 1, String(items.length));
        assert.equal(items.find((e) => e.action !== 'audit.trim')?.target, `a${appends - 1}`, 'the newest stay');
        assert.equal(items.at(-1)?.action, 'workspace.create', 'the creation stays');
        assert.equal(items.at(-1)?.workspaceSeq, 1);
        const trims = items.filter((e) => e.action === 'audit.trim');
        assert.ok(trims.length >= 1, 'a trim leaves its mark');
        assert.deepEqual(trims[0]!.detail, { keep });
        assert.equal(trims[0]!.actor.tokenId, 'platform');
        // What stays is the newest, in order, with no hole but the trimmed oldest.
        const kept = items.filter((e) => e.action === 'function.create').map((e) => Number(e.target.slice(1)));
        assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => appends - 1 - i));
        assert.equal((await store.audit.list({ workspace: b, limit: 1000 })).items.length, 8, 'another workspace keeps its entries');
        // Without `keep`, nothing is trimmed (FP_AUDIT_MAX_ENTRIES=0).
        for (let i = 0; i < 100; i++) await store.audit.append(entry({ workspace: b, target: `b${i}` }));
        assert.equal((await store.audit.list({ workspace: b, limit: 1000 })).items.length, 108);
      }));
  });

  describe('content grants', () => {
    it('grants contents per workspace', () =>
      withStore(open, async (store) => {
        const a = workspaceName();
        const b = workspaceName();
        const sha = 'a'.repeat(64);
        await store.blobGrants.grant(a, [sha, sha]);
        await store.blobGrants.grant(a, [sha]);
        assert.deepEqual([...(await store.blobGrants.granted(a, [sha, 'b'.repeat(64)]))], [sha]);
        assert.equal((await store.blobGrants.granted(b, [sha])).size, 0);
      }));
  });

  describe('function keys', () => {
    it('keeps the same name in two workspaces apart', () =>
      withStore(open, async (store) => {
        const name = workspaceName();
        await store.workspaces.create(name, NO_QUOTAS);
        const plain = uniqueName();
        await store.functions.create(plain, settings({ env: { WHERE: 'default' } }));
        await store.functions.create(functionKey(plain, name), settings({ env: { WHERE: name } }));
        assert.equal((await store.functions.get(plain))?.env['WHERE'], 'default');
        assert.equal((await store.functions.get(functionKey(plain, name)))?.env['WHERE'], name);
      }));
  });
}
