/**
 * The bindings' server may be the store's own (FP_DATA_MONGO_URL = FP_MONGO_URL): the platform's
 * database (FP_MONGO_DB, `fastapi_platform` by default) looks like database `platform` of a
 * workspace `fastapi`. Such a workspace must get none of it: no binding, no listing, no drop.
 * Real FerretDB, the platform's DataBindings as platform/data.ts makes them in production.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { DataBindings } from '../../controlplane/index.js';
import { generateKey, Keyring } from '../../controlplane/secrets/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { BOUND_DATABASE_MARK, BOUND_DATABASE_MARK_ID, workspaceOfKey } from '../../protocol/index.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

describe('data bindings on the store\'s own server', { skip: serverSkip('ferretdb') }, () => {
  let ferret: ServerProcess;
  let client: MongoClient;
  let bindings: DataBindings;
  let dir: string;

  before(async () => {
    ferret = await startFerret();
    client = new MongoClient(ferret.url, { directConnection: true });
    await client.db('fastapi_platform').collection('functions').insertOne({ name: 'secret-fn' });
    await client.db('fastapi_shop').collection('orders').insertOne({ item: 'pen' });
    // Another install on the same server, FP_MONGO_DB=stg_platform (a production store writes this first).
    await client.db('stg_platform').collection('meta').insertOne({ _id: 'schema' as never, version: 4, at: 1 });
    await client.db('stg_platform').collection('tokens').insertOne({ digest: 'another-install' });
    await client.db('stg_notes').collection('meta').insertOne({ _id: 'other' as never }); // a tenant's own `meta` is data
    dir = mkdtempSync(join(tmpdir(), 'fp-data-reserved-'));
    bindings = new DataBindings({ backend: { host: '127.0.0.1', port: ferret.port }, socketRoot: dir, sandboxed: false, workspaceOf: workspaceOfKey, reserved: ['fastapi_platform'] });
  });
  after(async () => {
    await bindings?.close();
    await client?.close();
    await ferret?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a binding to the platform\'s database, existing or to be created', async () => {
    for (const create of [true, false]) {
      await assert.rejects(bindings.check('reader.fastapi', { database: 'platform', create }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'DATA_DATABASE_FORBIDDEN');
        assert.match(err.message, /fastapi_platform is the platform's own database/);
        return true;
      });
    }
    await bindings.check('reader.fastapi', { database: 'shop', create: false }); // the workspace's own is fine
  });

  // red39 left a window: a database bound before marks existed (a tenant's data written before the
  // upgrade) was marked only at its binding's next command, and an install started on that name
  // meanwhile opened it. The binding is made at start-up for every bound function (the registry
  // loads them) and at a deploy: the mark is written then, with no command of the function.
  it("marks a bound database when the binding is made, before any command: a store started on it later refuses it (loose4, ADR 0184)", async () => {
    await client.db('late_ledger').collection('entries').insertOne({ n: 1 }); // written before marks existed
    bindings.runtimeBinding('books.late', { database: 'ledger', create: false });
    let marks = 0;
    for (let i = 0; i < 100 && marks === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      marks = await client.db('late_ledger').collection(BOUND_DATABASE_MARK).countDocuments();
    }
    assert.equal(marks, 1, 'marked without a command through the proxy');
    await assert.rejects(openMongoStore({ url: ferret.url, database: 'late_ledger', keyring: new Keyring([generateKey()]), adoptDatabase: true }),
      (err: Error & { code?: string }) => err.code === 'STORE_DATABASE_FOREIGN' && /is a data binding's/.test(err.message));
    assert.deepEqual(await client.db('late_ledger').collection('entries').countDocuments(), 1, 'its data as it was');
    await bindings.remove('books.late');
  });

  it('gives a version stored with such a binding no credential', () => {
    const { env } = bindings.runtimeBinding('reader.fastapi', { database: 'platform', create: true });
    assert.deepEqual(env, {});
    assert.equal(bindings.bindingOf('reader.fastapi'), null);
  });

  it('neither lists nor drops it', async () => {
    assert.deepEqual(await bindings.serverDatabases('fastapi'), ['shop']);
    await assert.rejects(bindings.drop('fastapi', 'platform'), { code: 'DATA_DATABASE_NOT_FOUND' });
    assert.deepEqual(await client.db('fastapi_platform').collection('functions').findOne({}, { projection: { _id: 0 } }), { name: 'secret-fn' });
    assert.deepEqual(await bindings.drop('fastapi', 'shop'), { physical: 'fastapi_shop' });
    assert.deepEqual(await bindings.serverDatabases('fastapi'), []);
  });

  it("refuses another install's store on the same server: no binding, no listing, no drop (red team round 14)", async () => {
    // Before: only this install's FP_MONGO_DB was reserved; a function of a workspace `stg` bound
    // `platform` and read that install's tokens and runs, and the workspace's owner could drop it.
    for (const create of [true, false]) {
      await assert.rejects(bindings.check('reader.stg', { database: 'platform', create }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'DATA_DATABASE_FORBIDDEN');
        assert.match(err.message, /stg_platform holds a platform's store/);
        return true;
      });
    }
    await bindings.check('reader.stg', { database: 'notes', create: false });
    await bindings.check('reader.stg', { database: 'fresh', create: true });
    assert.deepEqual(await bindings.serverDatabases('stg'), ['notes'], 'the check created no database');
    await assert.rejects(bindings.drop('stg', 'platform'), { code: 'DATA_DATABASE_NOT_FOUND' });
    assert.equal((await client.db('stg_platform').collection('tokens').findOne({}, { projection: { _id: 0 } }))?.digest, 'another-install');
  });

  it("takes a bound database's planted schema record for its functions' data: listed, bound, dropped (red team round 39, ADR 0184)", async () => {
    // Before: a function's `meta` {_id: 'schema'} hid its database from the workspace's listing, its
    // drop and the workspace delete's check (WORKSPACE_NOT_EMPTY): it outlived its workspace.
    await client.db('acme_notes').collection(BOUND_DATABASE_MARK).insertOne({ _id: BOUND_DATABASE_MARK_ID as never, at: 1 });
    await client.db('acme_notes').collection('meta').insertOne({ _id: 'schema' as never, version: 4, at: 1 });
    assert.deepEqual(await bindings.serverDatabases('acme'), ['notes']);
    await bindings.check('writer.acme', { database: 'notes', create: false });
    assert.deepEqual(await bindings.drop('acme', 'notes'), { physical: 'acme_notes' });
    assert.deepEqual(await bindings.serverDatabases('acme'), []);
  });
});
