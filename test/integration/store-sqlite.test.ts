/**
 * The embedded store (SQLite + blob files): the shared conformance suite, then what only this
 * adapter promises: its on-disk layout, migrations, a restart keeping everything.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Store } from '../../controlplane/store/index.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../controlplane/store/sqlite/migrations.js';
import { file, rejectsWithCode, run, settings, uniqueName } from '../conformance/fixtures.js';
import { storeConformance } from '../conformance/store-suite.js';
import { incarnationClockTests } from '../conformance/store-deletes.js';
import { testKey } from '../helpers/keyring.js';

const { masterKey, keyring: ring } = testKey();

const dirs = new Map<Store, string>();
const created: string[] = [];
after(async () => {
  await Promise.all(created.map((d) => rm(d, { recursive: true, force: true })));
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-store-'));
  created.push(dir);
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

storeConformance(
  'sqlite',
  async () => {
    const dir = await freshDir();
    const store = await openSqliteStore({ keyring: ring, stateDir: dir });
    dirs.set(store, dir);
    return store;
  },
  {
    // Every byte in the state directory: the database, its WAL and every blob.
    async rawBytes(store) {
      const dir = dirs.get(store)!;
      return Buffer.concat(await Promise.all((await filesUnder(dir)).map((p) => readFile(p))));
    },
    keyring: ring,
    masterKey,
    // One transaction: no point where the function is gone but its cleanup is not done (ADR 0156).
    async interruptDelete(store, name, revision) {
      assert.equal((await store.functions.delete(name, revision)).cleanupError, null);
    },
    async reopen(store, keyring) {
      const dir = dirs.get(store)!;
      const next = await openSqliteStore({ keyring, stateDir: dir });
      dirs.set(next, dir);
      return next;
    },
  },
);

describe('sqlite store specifics', () => {
  incarnationClockTests(async (now) => openSqliteStore({ keyring: ring, stateDir: await freshDir(), now }));

  it('keeps everything across a restart of the process (close, reopen the same directory)', async () => {
    const dir = await freshDir();
    const name = uniqueName();
    const first = await openSqliteStore({ keyring: ring, stateDir: dir });
    const fn = await first.functions.create(name, settings({ auth: 'token' }));
    const main = await file(first, 'main.py', 'def handler(event, context):\n    return {"ok": True}\n');
    const version = await first.versions.create({ function: name, entrypoint: 'main:handler', files: [main], manifest: { name }, createdBy: 'alice' });
    const deployed = await first.deploys.apply({ function: name, action: 'deploy', version: 1, actor: 'alice', expectedRevision: fn.revision });
    const runs = [run({ function: name, startedAt: 1 }), run({ function: name, startedAt: 2, status: 'failed', httpStatus: 500 })];
    await first.runs.record(runs);
    const admin = await first.tokens.issue({ kind: 'admin', label: 'first start' });
    const invoke = await first.tokens.issue({ kind: 'invoke', scope: name });
    await first.close();

    const second = await openSqliteStore({ keyring: ring, stateDir: dir });
    try {
      assert.deepEqual(await second.functions.get(name), deployed.function);
      assert.deepEqual(await second.versions.get(name, 1), version);
      assert.deepEqual(await second.deploys.list(name), [deployed.entry]);
      assert.deepEqual(await second.runs.get(runs[1]!.runId), runs[1]);
      assert.equal((await second.runs.list({ function: name })).items.length, 2);
      assert.equal((await second.tokens.verify(admin.secret, 'admin'))?.id, admin.record.id);
      assert.equal((await second.tokens.verify(invoke.secret, 'invoke', name))?.id, invoke.record.id);
      assert.equal((await second.blobs.get(main.sha256))?.toString(), 'def handler(event, context):\n    return {"ok": True}\n');
      const next = await second.versions.create({ function: name, entrypoint: 'main:handler', files: [main], manifest: {}, createdBy: 'bob' });
      assert.equal(next.version, 2, 'numbering continues after a restart');
    } finally {
      await second.close();
    }
  });

  it('lays out one state directory: platform.db in WAL mode and blobs/<aa>/<rest>', async () => {
    const dir = await freshDir();
    const store = await openSqliteStore({ keyring: ring, stateDir: join(dir, 'nested', 'state') });
    const data = Buffer.from('layout');
    const { sha256 } = await store.blobs.put(data);
    await store.blobs.put(data);
    await store.close();
    const state = join(dir, 'nested', 'state');
    assert.ok((await stat(join(state, 'platform.db'))).isFile());
    const blobFiles = (await filesUnder(join(state, 'blobs'))).map((p) => p.slice(state.length + 1));
    assert.deepEqual(blobFiles, [`blobs/${sha256.slice(0, 2)}/${sha256.slice(2)}`], 'same content stored once');
    const db = new Database(join(state, 'platform.db'), { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('records applied migrations once and refuses a database newer than the code', async () => {
    const dir = await freshDir();
    await (await openSqliteStore({ keyring: ring, stateDir: dir })).close();
    await (await openSqliteStore({ keyring: ring, stateDir: dir })).close();
    const db = new Database(join(dir, 'platform.db'));
    try {
      const rows = db.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all();
      assert.deepEqual(rows, Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
      db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'from the future', 0);
    } finally {
      db.close();
    }
    await rejectsWithCode(openSqliteStore({ keyring: ring, stateDir: dir }), 'STORE_SCHEMA_TOO_NEW');
  });

  it('keeps the runs of a database from before attempts (schema 3) as attempt 1, listed and readable', async () => {
    const dir = await freshDir();
    const db = new Database(join(dir, 'platform.db'));
    const old = run({ function: 'legacy-fn' });
    const { attempt: _attempt, logs, ...summary } = old;
    try {
      db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
      for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_version VALUES (?, ?, 0)').run(m.version, m.name);
      }
      db.prepare('INSERT INTO runs (run_id, function, status, run_trigger, started_at, summary, logs) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(old.runId, old.function, old.status, old.trigger, old.startedAt, JSON.stringify(summary), JSON.stringify(logs));
    } finally {
      db.close();
    }
    const store = await openSqliteStore({ keyring: ring, stateDir: dir });
    try {
      assert.deepEqual(await store.runs.get(old.runId), old);
      assert.deepEqual((await store.runs.list({ function: 'legacy-fn' })).items.map((r) => [r.runId, r.attempt]), [[old.runId, 1]]);
    } finally {
      await store.close();
    }
  });

  it('refuses an UPDATE of a version at the database level', async () => {
    const dir = await freshDir();
    const store = await openSqliteStore({ keyring: ring, stateDir: dir });
    const name = uniqueName();
    await store.functions.create(name, settings());
    await store.versions.create({ function: name, entrypoint: 'main:handler', files: [await file(store, 'main.py', 'x')], manifest: {}, createdBy: 't' });
    await store.close();
    const db = new Database(join(dir, 'platform.db'));
    try {
      assert.throws(() => db.prepare("UPDATE versions SET entrypoint = 'evil:handler'").run(), /immutable/);
      assert.throws(() => db.prepare("UPDATE versions SET files = '[]'").run(), /immutable/);
      // The start check is the one column an update may write (ADR 0252).
      db.prepare("UPDATE versions SET start_check = '{}'").run();
    } finally {
      db.close();
    }
  });

  it('uses the injected clock for timestamps', async () => {
    let now = 1_000;
    const store = await openSqliteStore({ keyring: ring, stateDir: await freshDir(), now: () => now });
    try {
      const name = uniqueName();
      const fn = await store.functions.create(name, settings());
      now = 2_000;
      const updated = await store.functions.update(name, fn.revision, { env: {} });
      assert.deepEqual([fn.createdAt, updated.createdAt, updated.updatedAt], [1_000, 1_000, 2_000]);
    } finally {
      await store.close();
    }
  });
});
