/**
 * A bound database's WAL counts against FP_DATA_MAX_DATABASE_BYTES (wal1).
 *
 * On the platform's own FerretDB (SQLite backend) a function that keeps a cursor open holds a
 * read on its database, and SQLite cannot start that database's WAL over while any read is open.
 * Writing and deleting in turn then grew the WAL without bound while the cap, measured by dbStats
 * (data and indexes), stayed near zero: the disk the state directory shares with every function
 * and the platform filled up. The platform's data setup (platform/data.ts, real FerretDB, real
 * proxy) now adds the WAL file, past its usual bound (FERRETDB_WAL_LIMIT_BYTES), to each measure.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import type { PlatformConfig } from '../../platform/config.js';
import { startData } from '../../platform/data.js';
import { findBinary, serverSkip } from '../helpers/servers.js';

const MIB = 1024 * 1024;
const CAP = 8 * MIB;

type MongoError = { code?: number; message: string };
const quota = (err: unknown): boolean => (err as MongoError).code === 14031 && (err as MongoError).message.includes('DATA_QUOTA_EXCEEDED');

describe('a bound database held open by a cursor', { skip: serverSkip('ferretdb'), timeout: 180_000 }, () => {
  it('takes no more writes once its WAL reaches the cap, and takes them again once the cursor is closed', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-data-wal-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const config = { data: 'auto', store: 'embedded', ferretdbPath: findBinary('ferretdb')!, dataBackendTimeoutMs: 10_000, dataMaxDatabaseBytes: CAP } as unknown as PlatformConfig;
    const setup = await startData(config, stateDir, false, process.env.PATH, () => undefined);
    assert.ok(setup !== null, 'the platform started its FerretDB');
    t.after(() => setup.close());
    const { env } = setup.bindings.runtimeBinding('hog.walq', { database: 'hog', create: true });
    const client = new MongoClient(env.FP_MONGO_URI!, { serverSelectionTimeoutMS: 10_000, retryWrites: false });
    t.after(() => client.close());
    const db = client.db(env.FP_MONGO_DATABASE!);
    const wal = join(stateDir, 'data', 'ferretdb', 'sqlite', `${env.FP_MONGO_DATABASE}.sqlite-wal`);
    const walSize = (): number => (existsSync(wal) ? statSync(wal).size : 0);

    const small = db.collection('small');
    await small.insertMany(Array.from({ length: 5 }, (_, i) => ({ i })));
    const held = small.find({}).batchSize(2); // two of five read: FerretDB keeps the read open
    assert.notEqual(await held.next(), null);

    // Write a MiB and delete it, again and again: the data stays near zero, the WAL grows (to 16 MiB
    // uncounted, the server's own, then counted). Refused
    // writes are tried again a little later (the size is measured again at most once a second);
    // 40 refusals in a row, over several measures, mean the cap holds.
    const big = db.collection('big');
    const chunk = 'x'.repeat(MIB);
    let refusedInARow = 0;
    let refusals = 0;
    for (let i = 0; i < 2_000 && refusedInARow < 40 && walSize() < 6 * CAP; i++) {
      try {
        await big.insertOne({ _id: `c${i}` as never, chunk });
        await big.deleteOne({ _id: `c${i}` as never });
        refusedInARow = 0;
      } catch (err) {
        if (!quota(err)) throw err;
        refusals++;
        refusedInARow++;
        await sleep(100);
      }
    }
    const grown = walSize();
    assert.ok(grown < 6 * CAP, `the WAL grew to ${grown} bytes past a cap of ${CAP} (${refusals} writes refused)`);
    assert.ok(refusedInARow >= 40, `writes are refused while the WAL is at the cap (${grown} bytes)`);

    // The cursor closed and a document deleted (deletes are never refused): the WAL starts over,
    // is cut back to 16 MiB (journal_size_limit), none of it counted, and writes are taken again.
    await held.close();
    await small.deleteOne({ i: 4 });
    let taken = false;
    for (let i = 0; i < 100 && !taken; i++) {
      try {
        await small.insertOne({ again: i });
        taken = true;
      } catch (err) {
        if (!quota(err)) throw err;
        await small.deleteOne({});
        await sleep(100);
      }
    }
    assert.ok(taken, `writes are taken again once the cursor is closed (WAL ${walSize()} bytes)`);
  });
});
