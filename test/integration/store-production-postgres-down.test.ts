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
import { freePort, serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

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
        assert.doesNotMatch(err.message, /postgres|SQLSTATE|failed to connect/i);
        assert.ok((err as Error & { cause?: unknown }).cause instanceof MongoServerError);
        return true;
      });
    }
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
