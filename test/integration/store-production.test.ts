/**
 * The production store (MongoDB driver) against a real FerretDB 1.24 with its SQLite backend: the
 * shared conformance suite, then what only this adapter promises (data kept by the server across a
 * reopen, races between two store instances, large blobs in chunks, the schema guard, log TTL).
 * Each `open` uses a fresh database on one shared server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import type { Store } from '../../controlplane/store/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { SCHEMA_VERSION } from '../../controlplane/store/production/context.js';
import { file, rejectsWithCode, run, settings, uniqueName } from '../conformance/fixtures.js';
import { storeConformance } from '../conformance/store-suite.js';
import { incarnationClockTests } from '../conformance/store-deletes.js';
import { ferretdbOpenCursors, serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';
import type { Keyring } from '../../controlplane/secrets/index.js';
import { testKey } from '../helpers/keyring.js';

/** The mongodb driver's own serverSelectionTimeoutMS, what a store that ignored its setting would wait. */
const MONGODB_DRIVER_DEFAULT_TIMEOUT_MS = 30_000;

const { masterKey, keyring: ring } = testKey();

const skip = serverSkip('ferretdb');
let ferret: (ServerProcess & { metricsUrl: string | null }) | null = null;
const databases = new Map<Store, string>();
if (!skip) {
  ferret = await startFerret({ debug: true });
  // A store a failed test left open would keep its client (and this process) alive: close all first.
  after(async () => {
    await Promise.all([...databases.keys()].map((s) => s.close().catch(() => {})));
    await ferret?.destroy();
  });
}

function freshDatabase(): string {
  return `fp_test_${randomBytes(5).toString('hex')}`;
}

/** Faults to inject after a delete's tombstone, by function key (interruptDelete). */
const afterTombstone = new Map<string, () => Promise<void>>();

async function open(database = freshDatabase(), extra: { now?: () => number; logRetentionMs?: number; keyring?: Keyring; supersedeBudgetMs?: number; onUpgraded?: (from: number, to: number) => void } = {}): Promise<Store> {
  const testHooks = { afterTombstone: async (name: string) => afterTombstone.get(name)?.() };
  const store = await openMongoStore({ keyring: ring, url: ferret!.url, database, testHooks, ...extra });
  databases.set(store, database);
  // Closing the client closes its connections, and FerretDB the cursors on them: what a store left
  // open is seen before that (below, 'leaves no cursor open on the server').
  const close = store.close.bind(store);
  store.close = async () => {
    const open = await settledOpenCursors();
    if (open !== 0) leftOpen.push(`${open} by the store on ${database}`);
    await close();
  };
  return store;
}

/** Cursors a store left open on the server, as seen when it was closed. */
const leftOpen: string[] = [];

/** FerretDB's open cursors once work a test abandoned on purpose (a zero supersede budget) has ended: up to 6 s. */
async function settledOpenCursors(): Promise<number> {
  let open = await ferretdbOpenCursors(ferret!);
  for (let i = 0; i < 60 && open !== 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    open = await ferretdbOpenCursors(ferret!);
  }
  return open;
}

describe('production store (FerretDB)', { skip }, () => {
  storeConformance('production (MongoDB wire, FerretDB)', () => open(), {
    // Every byte FerretDB persisted for this store's database: its SQLite file and WAL.
    async rawBytes(store) {
      const database = databases.get(store)!;
      const names = (await readdir(ferret!.dir)).filter((n) => n.startsWith(`${database}.sqlite`));
      assert.ok(names.length > 0, `no SQLite file for ${database} in ${ferret!.dir}`);
      return Buffer.concat(await Promise.all(names.map((n) => readFile(join(ferret!.dir, n)))));
    },
    keyring: ring,
    masterKey,
    reopen: (store, keyring) => open(databases.get(store)!, { keyring }),
    // FerretDB stopped right after the tombstone: the cleanup fails (server selection times out),
    // then FerretDB starts again on the same port and data directory.
    async interruptDelete(store, name, revision) {
      afterTombstone.set(name, () => ferret!.stop('SIGKILL'));
      try {
        const { cleanupError } = await store.functions.delete(name, revision);
        assert.notEqual(cleanupError, null, 'the cleanup ran against a stopped FerretDB');
      } finally {
        afterTombstone.delete(name);
        await ferret!.start();
      }
    },
  });

  describe('production specifics', () => {
    incarnationClockTests((now) => open(freshDatabase(), { now }));

    // Two processes whose clocks differ by an hour (ADR 0211): the one behind creates the name again
    // after the one ahead deleted it; the new function's createdAt is after the tombstone's, so the
    // ahead process's late cleanup (runs and logs up to its createdAt, ADR 0190) leaves the new runs.
    it('gives a function created again by a process whose clock is behind a createdAt after the one deleted by a process ahead', async () => {
      const database = freshDatabase();
      const ahead = await open(database, { now: () => Date.now() + 3_600_000 });
      const behind = await open(database, { now: () => Date.now() });
      try {
        const key = uniqueName();
        const old = await ahead.functions.create(key, settings());
        const own = run({ function: key });
        await ahead.runs.record([own], new Map([[key, old.createdAt]]));
        await ahead.functions.delete(key, old.revision);
        const made = await behind.functions.create(key, settings());
        assert.ok(made.createdAt > old.createdAt, `${made.createdAt} after ${old.createdAt}`);
        const fresh = run({ function: key });
        await behind.runs.record([fresh], new Map([[key, made.createdAt]]));
        for (const name of (await ahead.functions.pendingDeletes?.()) ?? []) await ahead.functions.finishDelete?.(name);
        assert.deepEqual((await behind.runs.list({ function: key })).items.map((r) => r.runId), [fresh.runId]);
      } finally {
        await Promise.all([ahead.close(), behind.close()]);
      }
    });

    it('writes a batch of async records even when its superseded bookkeeping outlasts its budget; reads find the newest attempt', async () => {
      // A budget of 0: the lookups and updates (a scan each on FerretDB's SQLite backend at scale)
      // are left to finish alone; the records are written all the same (reliability round, N1).
      const store = await open(freshDatabase(), { supersedeBudgetMs: 0 });
      const first = run({ trigger: 'async', attempt: 1, status: 'failed', httpStatus: 500 });
      await store.runs.record([first]);
      await store.runs.record([{ ...first, attempt: 2, status: 'succeeded', httpStatus: 200 }]);
      await store.runs.record([{ ...first, attempt: 3, status: 'succeeded', httpStatus: 201 }]);
      assert.deepEqual((await store.runs.get(first.runId))?.attempt, 3);
      assert.deepEqual((await store.runs.attempts(first.runId)).map((a) => [a.attempt, a.httpStatus]), [[1, 500], [2, 200], [3, 201]]);
    });

    it('keeps everything in the server: a second store on the same database sees it all', async () => {
      const database = freshDatabase();
      const name = uniqueName();
      const first = await open(database);
      const fn = await first.functions.create(name, settings({ env: { 'DOTTED.NAME': 'x', $DOLLAR: 'y' } }));
      const main = await file(first, 'main.py', 'def handler(event, context):\n    return 1\n');
      const version = await first.versions.create({ function: name, entrypoint: 'main:handler', files: [main], manifest: { 'a.b': { $c: [1, null] } }, createdBy: 'alice' });
      const deployed = await first.deploys.apply({ function: name, action: 'deploy', version: 1, actor: 'alice', expectedRevision: fn.revision });
      const runs = [run({ function: name, startedAt: 1 }), run({ function: name, startedAt: 2, status: 'failed', httpStatus: 500 })];
      await first.runs.record(runs);
      const admin = await first.tokens.issue({ kind: 'admin' });
      await first.close();

      const second = await open(database);
      try {
        assert.deepEqual(await second.functions.get(name), deployed.function);
        assert.deepEqual((await second.functions.get(name))?.env, { 'DOTTED.NAME': 'x', $DOLLAR: 'y' });
        assert.deepEqual(await second.versions.get(name, 1), version);
        assert.deepEqual(await second.deploys.list(name), [deployed.entry]);
        assert.deepEqual(await second.runs.get(runs[1]!.runId), runs[1]);
        assert.equal((await second.tokens.verify(admin.secret, 'admin'))?.id, admin.record.id);
        assert.equal((await second.versions.create({ function: name, entrypoint: 'main:handler', files: [main], manifest: {}, createdBy: 'b' })).version, 2);
      } finally {
        await second.close();
      }
    });

    it('numbers versions without gaps or duplicates when two store instances race', async () => {
      const database = freshDatabase();
      const [a, b] = await Promise.all([open(database), open(database)]);
      try {
        const name = uniqueName();
        await a.functions.create(name, settings());
        const f = await file(a, 'main.py', 'same');
        const made = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).versions.create({ function: name, entrypoint: 'main:handler', files: [f], manifest: {}, createdBy: 't' })));
        assert.deepEqual(made.map((v) => v.version).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8]);
        const history = await a.versions.list(name);
        assert.deepEqual(history.map((v) => v.version), [8, 7, 6, 5, 4, 3, 2, 1]);
        // Concurrent deploys without an expected revision all land, each logged once, in order.
        await Promise.all([1, 2, 3, 4].map((v) => (v % 2 ? a : b).deploys.apply({ function: name, action: 'deploy', version: v, actor: 't' })));
        const log = await b.deploys.list(name);
        assert.deepEqual(log.map((e) => e.seq), [4, 3, 2, 1]);
        assert.equal((await a.functions.get(name))?.activeVersion, log[0]?.toVersion);
        for (let i = 0; i < log.length - 1; i++) assert.equal(log[i]?.fromVersion, log[i + 1]?.toVersion, 'each entry starts where the previous ended');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('re-logs a deploy whose log write was lost', async () => {
      const database = freshDatabase();
      const store = await open(database);
      const client = await MongoClient.connect(ferret!.url);
      try {
        const name = uniqueName();
        await store.functions.create(name, settings());
        await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'x')], manifest: {}, createdBy: 't' });
        const applied = await store.deploys.apply({ function: name, action: 'deploy', version: 1, actor: 'alice' });
        await client.db(database).collection('deploys').deleteMany({ function: name }); // as if the process died between the two writes
        assert.deepEqual(await store.deploys.list(name), [applied.entry]);
      } finally {
        await client.close();
        await store.close();
      }
    });

    it('stores blobs larger than one document in chunks, byte-exact', async () => {
      const store = await open();
      try {
        const data = randomBytes(9 * 1024 * 1024 + 123);
        const put = await store.blobs.put(data);
        assert.equal(put.size, data.length);
        assert.equal(Buffer.compare((await store.blobs.get(put.sha256))!, data), 0);
        assert.equal(await store.blobs.localPath(put.sha256), null);
      } finally {
        await store.close();
      }
    });

    it('refuses a database written by a newer schema', async () => {
      const database = freshDatabase();
      await (await open(database)).close();
      const client = await MongoClient.connect(ferret!.url);
      try {
        await client.db(database).collection<{ _id: string; version: number }>('meta').updateOne({ _id: 'schema' }, { $set: { version: SCHEMA_VERSION + 1 } });
      } finally {
        await client.close();
      }
      await rejectsWithCode(open(database), 'STORE_SCHEMA_TOO_NEW');
    });

    it('upgrades a schema-3 audit log: every entry gets its number within its workspace (red team 6)', async () => {
      const database = freshDatabase();
      await (await open(database)).close();
      const client = await MongoClient.connect(ferret!.url);
      try {
        const db = client.db(database);
        const actor = { tokenId: 'tok_a', label: 'x', role: 'owner' };
        await db.collection('audit').insertMany(['a', 'b', 'a', null, 'a'].map((workspace, i) => ({ _id: i + 1, at: 1000 + i, actor, address: '127.0.0.1', workspace, action: 'deploy', target: `t${i}`, detail: '{}' })) as never);
        await db.collection<{ _id: string; version: number }>('meta').updateOne({ _id: 'schema' }, { $set: { version: 3 } });
      } finally {
        await client.close();
      }
      // The open that moved it says so (the platform logs it: an older build refuses it from then on; ops round 2).
      const upgrades: [number, number][] = [];
      const store = await open(database, { onUpgraded: (from, to) => upgrades.push([from, to]) });
      assert.deepEqual(upgrades, [[3, SCHEMA_VERSION]]);
      await (await open(database, { onUpgraded: (from, to) => upgrades.push([from, to]) })).close();
      assert.equal(upgrades.length, 1, 'an open at the current schema says nothing');
      try {
        assert.deepEqual((await store.audit.list({ workspace: 'a' })).items.map((e) => [e.target, e.seq, e.workspaceSeq]), [['t4', 5, 3], ['t2', 3, 2], ['t0', 1, 1]]);
        assert.equal((await store.audit.append({ at: 2000, actor: { tokenId: 'tok_a', label: 'x', role: 'owner' }, address: '127.0.0.1', workspace: 'a', action: 'deploy', target: 't5', detail: {} })).workspaceSeq, 4);
      } finally {
        await store.close();
      }
    });

    it('numbers the entries an older process appended after the move to schema 4 (a rolling upgrade), at the next open', async () => {
      // Measured (upgrade round 1): an older build's process still serving beside the upgraded one
      // appends entries without wseq; a workspace saw them with seq null, last, and past a cursor never.
      const database = freshDatabase();
      const store = await open(database);
      const actor = { tokenId: 'tok_a', label: 'x', role: 'owner' as const };
      try {
        for (const target of ['t1', 't2']) await store.audit.append({ at: 1000, actor, address: '127.0.0.1', workspace: 'a', action: 'deploy', target, detail: {} });
      } finally {
        await store.close();
      }
      const client = await MongoClient.connect(ferret!.url);
      try {
        // What the schema-3 build writes: the next _id, no wseq.
        await client.db(database).collection('audit').insertMany([3, 4].map((id) => ({ _id: id, at: 2000 + id, actor, address: '127.0.0.1', workspace: 'a', action: 'deploy', target: `old${id}`, detail: '{}' })) as never);
      } finally {
        await client.close();
      }
      const reopened = await open(database);
      try {
        const first = await reopened.audit.list({ workspace: 'a', limit: 2 });
        assert.deepEqual(first.items.map((e) => [e.target, e.workspaceSeq]), [['old4', 4], ['old3', 3]]);
        const rest = await reopened.audit.list({ workspace: 'a', limit: 2, cursor: first.nextCursor! });
        assert.deepEqual(rest.items.map((e) => [e.target, e.workspaceSeq]), [['t2', 2], ['t1', 1]]);
        assert.equal((await reopened.audit.append({ at: 3000, actor, address: '127.0.0.1', workspace: 'a', action: 'deploy', target: 't5', detail: {} })).workspaceSeq, 5);
      } finally {
        await reopened.close();
      }
    });

    it('expires logs after the retention (FerretDB has no TTL index: the store sweeps) and keeps the run', async () => {
      let now = Date.now();
      const store = await open(freshDatabase(), { now: () => now, logRetentionMs: 60_000 });
      try {
        const r = run({ function: uniqueName(), startedAt: now });
        await store.runs.record([r]);
        assert.deepEqual((await store.runs.get(r.runId))?.logs, r.logs);
        now += 61_000;
        assert.equal(await store.runs.prune(0), 0, 'no run is older than the cutoff');
        const after = await store.runs.get(r.runId);
        assert.deepEqual(after?.logs, []);
        assert.equal(after?.status, r.status);
      } finally {
        await store.close();
      }
    });

    it('fails fast when no server answers: after its own server-selection timeout, not the driver\'s 30 s', async () => {
      const started = Date.now();
      await assert.rejects(openMongoStore({ keyring: ring, url: 'mongodb://127.0.0.1:1/', serverSelectionTimeoutMs: 300 }));
      // The only other wait it could be is the driver's default; a loaded machine adds ms, not 29 s.
      assert.ok(Date.now() - started < MONGODB_DRIVER_DEFAULT_TIMEOUT_MS, `failed after ${Date.now() - started} ms`);
    });
  });

  // Last, after every port's conformance tests and the specifics above: a read the store left
  // unfinished keeps a cursor, and with it an SQLite read, open on FerretDB for as long as the
  // driver's connection lives, and SQLite cannot start its WAL over meanwhile (wal1, ADR 0157).
  it('leaves no cursor open on the server', async () => {
    const open = await settledOpenCursors();
    if (open !== 0) leftOpen.push(`${open} by stores still open`);
    assert.deepEqual(leftOpen, [], 'cursors left open on FerretDB');
  });
});
