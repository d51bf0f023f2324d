/**
 * FerretDB's SQLite backend answers a write that waited longer than its `busy_timeout` for the
 * database's one write lock with InternalError "database is locked (5) (SQLITE_BUSY)" (ops round 4;
 * the soak round saw 28 of them). The production store's edge passed it through: the API answered
 * 500 INTERNAL_ERROR with FerretDB's stack in the log, per request. It is now STORE_UNAVAILABLE (503,
 * "try again shortly"), naming FerretDB's SQLite lock. Real FerretDB (busy timeout 300 ms here); the
 * lock is held by a real SQLite connection on its database file, as a long write would.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MongoClient, MongoServerError } from 'mongodb';
import { isStoreError } from '../../controlplane/store/index.js';
import { unavailableAsStoreError } from '../../controlplane/store/production/unavailable.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('ferretdb');

describe('production store: FerretDB (SQLite) whose database is locked', { skip }, () => {
  let ferret: ServerProcess;
  let client: MongoClient;
  before(async () => {
    ferret = await startFerret({ busyTimeoutMs: 300 });
    client = new MongoClient(ferret.url, { serverSelectionTimeoutMS: 2000 });
  });
  after(async () => {
    await client?.close();
    await ferret?.destroy();
  });

  it('a write that waited past the busy timeout fails STORE_UNAVAILABLE naming the lock; once it is free the write goes through', async () => {
    const runs = client.db('fp').collection('runs');
    await runs.insertOne({ _id: 'r0' } as never);
    const port = unavailableAsStoreError({ insert: (id: string) => runs.insertOne({ _id: id } as never) });
    const holder = new Database(join(ferret.dir, 'fp.sqlite'));
    try {
      holder.exec('BEGIN IMMEDIATE');
      await assert.rejects(port.insert('r1'), (err: unknown) => {
        assert.ok(isStoreError(err), `a StoreError, not ${String(err)}`);
        assert.equal(err.code, 'STORE_UNAVAILABLE');
        assert.equal(err.message, "the store's FerretDB (SQLite backend) gave up waiting for its database's write lock (database is locked); try again shortly");
        const cause = (err as Error & { cause?: unknown }).cause;
        assert.ok(cause instanceof MongoServerError && /SQLITE_BUSY/.test(cause.message));
        return true;
      });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    await port.insert('r1');
    assert.equal(await runs.countDocuments({}), 2);
  });
});
