/**
 * Races between two platform processes on one FerretDB (two production stores, each with its own
 * connection, as two processes have), ordered by the store's `afterTombstone` hook, not by timing
 * (docs/adr/0159-a-precondition-per-setting.md, "Deletes racing re-creates"):
 * - a delete whose cleanup runs late (its process paused after the tombstone: a GC pause, SIGSTOP,
 *   a slow FerretDB) while the other process creates the name again and uploads, deploys and
 *   issues a token: the late cleanup removed the new function's version, deploy log, invoke token
 *   and workspace slot (ADR 0156, "Open"), and its first runs and logs (ADR 0190). The same cleanup
 *   is the sweep's (`finishDelete`);
 * - a tombstone written before ADR 0156 (no `purged` field) with its data left behind: never swept.
 * Two creates of one name, two deploys and a rollback racing a deploy, and secrets set from two
 * processes: one insert of the next revision wins, the other is FUNCTION_EXISTS or REVISION_CONFLICT.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { functionKey } from '../../protocol/index.js';
import { NO_QUOTAS, type Store } from '../../controlplane/store/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { file, run, settings } from '../conformance/fixtures.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';
import { testKeyring } from '../helpers/keyring.js';

const ring = testKeyring();
const skip = serverSkip('ferretdb');

/** A gate the test opens: the paused process's delete goes on from its tombstone. */
function gate(): { wait: Promise<void>; open: () => void; reached: Promise<void>; arrive: () => void } {
  let open!: () => void;
  let arrive!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return { wait, open, reached, arrive };
}

describe('two production processes on one FerretDB', { skip, timeout: 120_000 }, () => {
  let ferret: ServerProcess;
  let database: string;
  const paused = new Map<string, ReturnType<typeof gate>>();
  const failAfterTombstone = new Set<string>();
  let a: Store;
  let b: Store;
  /** Process A waits here while the test holds a gate for this point. */
  async function pause(point: string): Promise<void> {
    const g = paused.get(point);
    if (g === undefined) return;
    paused.delete(point);
    g.arrive();
    await g.wait;
  }
  before(async () => {
    ferret = await startFerret();
    database = `races_${randomBytes(4).toString('hex')}`;
    a = await openMongoStore({
      keyring: ring, url: ferret.url, database,
      testHooks: {
        afterTombstone: async (name) => {
          if (failAfterTombstone.delete(name)) throw new Error('the cleanup failed (test)');
          await pause(`tombstone:${name}`);
        },
        beforePurgeSteps: async (name) => pause(`purge:${name}`),
        beforeVersionWrite: async (name) => pause(`version:${name}`),
      },
    });
    b = await openMongoStore({ keyring: ring, url: ferret.url, database });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await ferret?.destroy();
  });

  async function workspace(): Promise<string> {
    const ws = `ws-${randomBytes(3).toString('hex')}`;
    await a.workspaces.create(ws, { ...NO_QUOTAS, functions: 1 });
    return ws;
  }

  /**
   * A deletes a deployed function and is held at `point`; meanwhile B creates the name again and
   * uploads, deploys, issues the invoke token and saves a test case; then A goes on.
   */
  async function recreatedDuring(point: 'tombstone' | 'purge' | 'sweep'): Promise<void> {
    const ws = await workspace();
    const key = functionKey('again', ws);
    await a.functions.create(key, settings());
    const main = await file(a, 'main.py', 'def handler(event, context):\n    return "old"\n');
    await a.versions.create({ function: key, entrypoint: 'main:handler', files: [main], manifest: {}, createdBy: 't' });
    const old = await a.deploys.apply({ function: key, action: 'deploy', version: 1, actor: 't' });

    const g = gate();
    let finishing: Promise<unknown>;
    if (point === 'sweep') {
      // The delete's cleanup failed after its tombstone (ADR 0156); the sweep of A runs it, held before its first removal.
      failAfterTombstone.add(key);
      const { cleanupError } = await a.functions.delete(key, old.function.revision);
      assert.ok(cleanupError !== null);
      assert.ok((await a.functions.pendingDeletes?.())?.includes(key));
      paused.set(`purge:${key}`, g);
      finishing = a.functions.finishDelete!(key);
    } else {
      paused.set(`${point}:${key}`, g);
      finishing = a.functions.delete(key, old.function.revision);
    }
    await g.reached;
    await b.functions.create(key, settings({ auth: 'token' }));
    const fresh = await file(b, 'main.py', 'def handler(event, context):\n    return "new"\n');
    const v = await b.versions.create({ function: key, entrypoint: 'main:handler', files: [fresh], manifest: {}, createdBy: 't' });
    await b.deploys.apply({ function: key, action: 'deploy', version: v.version, actor: 't' });
    const token = await b.tokens.issue({ kind: 'invoke', scope: key });
    await b.testCases.put(key, 'new case', { mode: 'sync', request: { body: 'new' } });
    await b.drafts.put(key, { baseVersion: v.version, files: [{ path: 'main.py', content: '# edit' }], removed: [], updatedBy: 't' });
    // Its first call's run and logs, stamped with its incarnation as B's run sink does (ADR 0190).
    const created = (await b.functions.get(key))!;
    const first = run({ function: key, startedAt: created.createdAt, logs: [{ stream: 'stdout', ts: created.createdAt, msg: 'new' }] });
    await b.runs.record([first], new Map([[key, created.createdAt]]));
    // A goes on: its cleanup is of the function it deleted, not of this one.
    g.open();
    await finishing;

    const now = await b.functions.get(key);
    assert.equal(now?.activeVersion, v.version);
    assert.deepEqual((await b.versions.list(key)).map((x) => x.version), [v.version], 'the new version is kept');
    assert.ok((await b.versions.get(key, v.version)) !== null);
    assert.equal((await b.deploys.list(key)).length, 1, 'the new deploy log is kept');
    assert.ok((await b.tokens.verify(token.secret, 'invoke', key)) !== null, 'the new invoke token still works');
    assert.equal((await b.workspaces.usage(ws)).functions, 1, 'the new function holds its slot');
    // ... so the quota still counts it: a second function in this workspace of 1 is refused.
    await assert.rejects(b.functions.create(functionKey('second', ws), settings()), { code: 'QUOTA_EXCEEDED' });
    assert.equal((await b.testCases.list(key)).length, 1, 'the new test case is kept');
    assert.ok((await b.drafts.get(key)) !== null, 'the new draft is kept');
    assert.deepEqual((await b.runs.list({ function: key })).items.map((r) => r.runId), [first.runId], 'the new run is kept');
    assert.deepEqual((await b.runs.get(first.runId))?.logs, first.logs, 'with its logs');
    assert.deepEqual((await a.functions.pendingDeletes?.())?.filter((n) => n === key), []);
  }

  it("a delete held after its tombstone while the name is created again: its cleanup leaves the new function alone", () => recreatedDuring('tombstone'));
  it("a delete held inside its cleanup while the name is created again: versions, deploy log, invoke token and slot of the new function are kept", () => recreatedDuring('purge'));
  it('the sweep of a pending delete, held inside its cleanup while the name is created again, keeps the new function too (ADR 0156 "Open")', () => recreatedDuring('sweep'));

  // ADR 0181's window: the server checked `ifNoVersions`, then another process's upload landed
  // before (or after) its delete's tombstone. Before it: the delete sees it after its tombstone and
  // takes itself back; after it: the upload sees the tombstone and takes its version back.
  it('a delete ifNoVersions and another process\'s upload around its tombstone: one of them is refused, and no version is deleted after its upload succeeded', async () => {
    const ws = await workspace();
    const upload = async (key: string): Promise<unknown> => b.versions.create({ function: key, entrypoint: 'main:handler', files: [await file(b, 'main.py', 'def handler(e, c):\n    return 1\n')], manifest: {}, createdBy: 't' });
    // The upload written before the tombstone (after the server's check): the delete is refused and undone.
    const before = functionKey('before', ws);
    const made = await a.functions.create(before, settings({ secrets: { KEY: 'v' } }));
    await upload(before);
    await assert.rejects(a.functions.delete(before, made.revision, { ifNoVersions: true }), { code: 'FUNCTION_CHANGED' });
    const back = await b.functions.get(before);
    assert.deepEqual([back?.revision, back?.secrets, back?.createdAt], [made.revision + 2, { KEY: 'v' }, made.createdAt]);
    assert.deepEqual((await b.versions.list(before)).map((v) => v.version), [1]);
    assert.deepEqual((await a.functions.pendingDeletes?.())?.filter((n) => n === before), []);
    // The upload written after the tombstone (the delete held there): the upload is refused, the delete goes on.
    const after = functionKey('after', await workspace());
    const second = await a.functions.create(after, settings());
    const g = gate();
    paused.set(`tombstone:${after}`, g);
    const deleting = a.functions.delete(after, second.revision, { ifNoVersions: true });
    await g.reached;
    await assert.rejects(upload(after), { code: 'FUNCTION_NOT_FOUND' });
    g.open();
    assert.equal((await deleting).cleanupError, null);
    assert.equal(await b.functions.get(after), null);
    assert.deepEqual(await b.versions.list(after), []);
  });

  // An upload that read the function, then wrote its version after another process deleted the
  // function and created the name again: its check after the write took any live function of the
  // name for its own, and the new function (another tenant's under a recycled workspace name) had
  // a version it never uploaded, numbered among its own.
  it('an upload held before its write while another process deletes and creates the name again: its version is taken back, not given to the new function', async () => {
    const ws = await workspace();
    const key = functionKey('reborn', ws);
    const made = await a.functions.create(key, settings());
    const main = await file(a, 'main.py', 'def handler(e, c):\n    return "old"\n');
    const g = gate();
    paused.set(`version:${key}`, g);
    const uploading = a.versions.create({ function: key, entrypoint: 'main:handler', files: [main], manifest: {}, createdBy: 'old' });
    await g.reached;
    await b.functions.delete(key, made.revision);
    await b.functions.create(key, settings());
    g.open();
    await assert.rejects(uploading, { code: 'FUNCTION_NOT_FOUND' });
    assert.deepEqual(await b.versions.list(key), [], 'the new function has no version it did not upload');
  });

  it('the sweep finishes a tombstone written before ADR 0156 (no purged field) and its slot', async () => {
    const ws = await workspace();
    const key = functionKey('legacy', ws);
    const made = await a.functions.create(key, settings());
    const main = await file(a, 'main.py', 'def handler(event, context):\n    return 1\n');
    await a.versions.create({ function: key, entrypoint: 'main:handler', files: [main], manifest: {}, createdBy: 't' });
    // A delete of the code before ADR 0156 that failed after its tombstone: the tombstone has no
    // `purged` field, the version and the slot are left. Written as that code wrote it.
    const client = new MongoClient(ferret.url);
    try {
      const functions = client.db(database).collection<{ _id: string; name: string; seq: number; deleted: boolean; purged?: boolean }>('functions');
      const doc = await functions.find({ name: key }).sort({ seq: -1 }).limit(1).next();
      assert.ok(doc !== null);
      const { secrets: _s, purged: _p, ...kept } = doc as typeof doc & { secrets?: unknown };
      await functions.insertOne({ ...kept, _id: `${key}/${doc.seq + 1}`, seq: doc.seq + 1, deleted: true });
    } finally {
      await client.close();
    }
    assert.equal(await a.functions.get(key), null);
    assert.equal(made.revision, 1);
    assert.ok(((await a.functions.pendingDeletes?.()) ?? []).includes(key), 'the sweep sees it');
    assert.equal(await a.functions.finishDelete?.(key), true);
    assert.deepEqual(await a.versions.list(key), []);
    assert.equal((await a.workspaces.usage(ws)).functions, 0, 'its slot is given back');
    assert.ok(!((await a.functions.pendingDeletes?.()) ?? []).includes(key), 'once');
  });

  it('two creates of one name: one wins, the other is FUNCTION_EXISTS; two changes from one revision: one wins, the other REVISION_CONFLICT', async () => {
    const ws = `ws-${randomBytes(3).toString('hex')}`;
    await a.workspaces.create(ws, NO_QUOTAS);
    const key = functionKey('twice', ws);
    const created = await Promise.allSettled([a.functions.create(key, settings()), b.functions.create(key, settings())]);
    assert.deepEqual(created.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(((created.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as { code: string }).code, 'FUNCTION_EXISTS');
    const main = await file(a, 'main.py', 'def handler(event, context):\n    return 1\n');
    for (let i = 0; i < 2; i++) await a.versions.create({ function: key, entrypoint: 'main:handler', files: [main], manifest: {}, createdBy: 't' });
    const first = await a.deploys.apply({ function: key, action: 'deploy', version: 1, actor: 't' });
    const revision = first.function.revision;
    // A deploy of 2 and a rollback in the two processes, both from the same read; then secrets.
    const raced = await Promise.allSettled([
      a.deploys.apply({ function: key, action: 'deploy', version: 2, actor: 't', expectedRevision: revision }),
      b.deploys.apply({ function: key, action: 'rollback', version: 1, actor: 't', expectedRevision: revision }),
    ]);
    assert.deepEqual(raced.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal(((raced.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as { code: string }).code, 'REVISION_CONFLICT');
    const now = (await a.functions.get(key))!;
    const secrets = await Promise.allSettled([
      a.functions.update(key, now.revision, { secrets: { A: '1' } }),
      b.functions.update(key, now.revision, { secrets: { B: '2' } }),
    ]);
    assert.deepEqual(secrets.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const won = (secrets.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ secrets?: Record<string, string> }>).value.secrets;
    assert.deepEqual((await b.functions.get(key))!.secrets, won, 'the winner, whole: no half state');
    assert.equal((await a.deploys.list(key)).length, 2, 'one deploy entry per change that landed');
  });
});
