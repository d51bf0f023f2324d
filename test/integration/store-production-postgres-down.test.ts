/**
 * FerretDB on PostgreSQL with its PostgreSQL down (ops round 3): FerretDB itself answers, and each
 * command fails with InternalError saying PostgreSQL could not be reached. The production store's
 * edge must read that as the store being unreachable (STORE_UNAVAILABLE: the API and webhooks
 * answer 503, the log says the store did not answer), as it does for a MongoDB that is down. Before,
 * a PostgreSQL restart answered webhook deliveries and API calls 500 INTERNAL_ERROR. Real FerretDB,
 * real driver; the PostgreSQL it names is a free port nothing listens on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient, MongoServerError } from 'mongodb';
import { DataBindings } from '../../controlplane/index.js';
import { isStoreError } from '../../controlplane/store/index.js';
import { isPlatformError } from '../../protocol/index.js';
import { unavailableAsStoreError } from '../../controlplane/store/production/unavailable.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { findPostgres, freePort, serverSkip, startFerret, startPostgres, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('ferretdb');

describe('production store: FerretDB whose PostgreSQL is down', { skip }, () => {
  let ferret: ServerProcess;
  let client: MongoClient;
  before(async () => {
    ferret = await startFerret({ postgresqlUrl: `postgres://127.0.0.1:${await freePort()}/ferretdb` });
    client = new MongoClient(ferret.url, { serverSelectionTimeoutMS: 2000 });
  });
  after(async () => {
    await client?.close();
    await ferret?.destroy();
  });

  it('FerretDB answers each command with its own error (the server is up, its backend is not)', async () => {
    await assert.rejects(client.db('fp').collection('functions').findOne({}), (err: unknown) => err instanceof MongoServerError && err.code === 1);
  });

  it('reads and writes through the store edge fail STORE_UNAVAILABLE, with a plain message and the cause kept', async () => {
    const port = unavailableAsStoreError({
      find: () => client.db('fp').collection('functions').findOne({}),
      insert: () => client.db('fp').collection('runs').insertOne({ runId: 'r1' }),
    });
    for (const call of [port.find, port.insert]) {
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(isStoreError(err), `a StoreError, not ${String(err)}`);
        assert.equal(err.code, 'STORE_UNAVAILABLE');
        assert.doesNotMatch(err.message, /SQLSTATE|failed to connect|127\.0\.0\.1|user=|\.go:/i);
        assert.match(err.message, /^the store's PostgreSQL \(behind FerretDB\) could not be reached; try again shortly$/);
        assert.ok((err as Error & { cause?: unknown }).cause instanceof MongoServerError);
        return true;
      });
    }
  });
});

/**
 * ops round 4: a PostgreSQL at its connection limit (`max_connections`, all taken by other clients)
 * refuses FerretDB's new connections with SQLSTATE 53300. The store said "the store (MongoDB) did
 * not answer", sending the operator to a MongoDB that is not there (reliability round 10). The words
 * now name PostgreSQL behind FerretDB and its connection limit. A real PostgreSQL 15.
 */
describe('production store: FerretDB whose PostgreSQL is at its connection limit', { skip: skip || (findPostgres() === null ? 'skipped: PostgreSQL not installed (apt-get install postgresql)' : false) }, () => {
  let pg: ServerProcess;
  let ferret: ServerProcess;
  let client: MongoClient;
  const holders: ChildProcess[] = [];
  before(async () => {
    pg = await startPostgres(['max_connections=3', 'superuser_reserved_connections=0']);
    ferret = await startFerret({ postgresqlUrl: pg.url });
    client = new MongoClient(ferret.url, { serverSelectionTimeoutMS: 2000 });
  });
  after(async () => {
    for (const h of holders) h.kill('SIGKILL');
    await client?.close();
    await ferret?.destroy();
    await pg?.destroy();
  });

  it('says so, naming PostgreSQL and max_connections, without its address or FerretDB\'s words', async () => {
    const psql = (sql: string): ChildProcess => spawn('psql', ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'postgres', '-c', sql], { stdio: 'ignore' });
    // Every slot taken by another client (FerretDB has none yet: it connects at its first command).
    for (let i = 0; i < 3; i++) holders.push(psql('select pg_sleep(120)'));
    for (;;) {
      const code = await new Promise<number | null>((resolve) => psql('select 1').once('exit', resolve));
      if (code !== 0) break; // a fourth client is refused: the three hold their slots
      await new Promise((r) => setTimeout(r, 50));
    }
    const port = unavailableAsStoreError({ insert: () => client.db('fp').collection('runs').insertOne({ runId: 'r1' }) });
    await assert.rejects(port.insert(), (err: unknown) => {
      assert.ok(isStoreError(err), `a StoreError, not ${String(err)}`);
      assert.equal(err.code, 'STORE_UNAVAILABLE');
      assert.equal(err.message, "the store's PostgreSQL (behind FerretDB) refused a connection: its connection limit (max_connections) is reached; try again shortly");
      assert.match(String((err as Error & { cause?: Error }).cause?.message), /SQLSTATE 53300/);
      return true;
    });
  });
});

// The same round: a binding's deploy through that FerretDB answered the deployer with FerretDB's
// call stack, PostgreSQL's address and the user it logged in as. The answer names the refusal; the
// operator's log keeps the server's words.
describe('data bindings: a command the server refuses', { skip }, () => {
  let ferret: ServerProcess;
  let dir: string;
  before(async () => {
    ferret = await startFerret({ postgresqlUrl: `postgres://127.0.0.1:${await freePort()}/ferretdb` });
    dir = mkdtempSync(join(tmpdir(), 'fp-data-refused-'));
  });
  after(async () => {
    await ferret?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers DATA_BACKEND_UNAVAILABLE without the server\'s words, and logs them', async () => {
    const lines: string[] = [];
    const bindings = new DataBindings({ backend: { host: '127.0.0.1', port: ferret.port }, socketRoot: dir, sandboxed: false, log: (line) => lines.push(line) });
    try {
      await assert.rejects(bindings.check('notes', { database: 'app', create: true }), (err: unknown) => {
        assert.ok(isPlatformError(err) && err.code === 'DATA_BACKEND_UNAVAILABLE', String(err));
        assert.doesNotMatch(err.message, /postgres|SQLSTATE|failed to connect|\.go:|127\.0\.0\.1/i);
        assert.match(err.message, /could not be asked about default_app \(InternalError/);
        return true;
      });
      assert.ok(lines.some((line) => /^data: the database server could not be asked about default_app: .*failed to connect/.test(line)), lines.join('\n'));
    } finally {
      await bindings.close();
    }
  });
});
