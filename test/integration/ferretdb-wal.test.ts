/**
 * FerretDB's SQLite WAL comes back to a bounded size once reads stop overlapping (wal1).
 *
 * The soak round saw the production store's WAL reach 231 MB: on FerretDB's SQLite backend every
 * query but an insert scans, reads overlap under load, and SQLite starts its WAL over only when no
 * read is open. When it did start over, the file kept its size for good (SQLite reuses it). Every
 * FerretDB the platform, its tests and benchmarks start now gets `journal_size_limit`
 * (platform/ferretdb-sqlite.ts): at the first start-over the file is cut back to the limit.
 *
 * A cursor left open (a read FerretDB holds until it is exhausted or killed) stands in for the
 * overlapping scans: deterministic, no timing. Real FerretDB, as the test helpers start it.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { FERRETDB_WAL_LIMIT_BYTES } from '../../platform/ferretdb-sqlite.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

const MIB = 1024 * 1024;

describe("FerretDB's SQLite WAL", { skip: serverSkip('ferretdb'), timeout: 180_000 }, () => {
  let ferret: ServerProcess;
  let client: MongoClient;

  before(async () => {
    ferret = await startFerret();
    client = new MongoClient(ferret.url, { directConnection: true });
  });
  after(async () => {
    await client?.close();
    await ferret?.destroy();
  });

  it('grows while a read is open, and is cut back to the limit once none is', async () => {
    const db = client.db('walcheck');
    const wal = join(ferret.dir, 'walcheck.sqlite-wal');
    const small = db.collection('small');
    await small.insertMany(Array.from({ length: 5 }, (_, i) => ({ i })));
    // Two of five documents read: FerretDB keeps the rest of the query (and its SQLite read) open.
    const held = small.find({}).batchSize(2);
    assert.notEqual(await held.next(), null);

    const big = db.collection('big');
    const chunk = 'x'.repeat(MIB);
    for (let i = 0; i < Math.ceil((FERRETDB_WAL_LIMIT_BYTES + 8 * MIB) / MIB); i++) await big.insertOne({ i, chunk });
    const grown = statSync(wal).size;
    assert.ok(grown > FERRETDB_WAL_LIMIT_BYTES + 4 * MIB, `the open read kept the WAL from starting over: ${grown} bytes`);

    await held.close();
    // The next commits checkpoint the WAL, then start it over (and cut it back) with no read open.
    let size = grown;
    for (let i = 0; i < 20 && size > FERRETDB_WAL_LIMIT_BYTES; i++) {
      await small.insertOne({ after: i });
      size = existsSync(wal) ? statSync(wal).size : 0;
    }
    assert.ok(size <= FERRETDB_WAL_LIMIT_BYTES, `the WAL is ${size} bytes after the read closed (limit ${FERRETDB_WAL_LIMIT_BYTES}, it had grown to ${grown})`);
  });
});
