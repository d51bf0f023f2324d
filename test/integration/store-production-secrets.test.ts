/**
 * Secrets at rest in the production store, at the document level, on a real FerretDB
 * (docs/adr/0009-secrets-at-rest.md): the upgrade of a schema-1 database, token documents planted
 * by someone who can write the database but has no key, and no old sealed value left behind in
 * older revision documents after a removal, a rotation without grace, or a key rotation.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { MongoClient, type Document } from 'mongodb';
import { generateKey, Keyring } from '../../controlplane/secrets/index.js';
import { TokenIndex } from '../../controlplane/service/tokens.js';
import type { Store } from '../../controlplane/store/index.js';
import { openMongoStore } from '../../controlplane/store/production/index.js';
import { SCHEMA_VERSION } from '../../controlplane/store/production/context.js';
import { BOUND_DATABASE_MARK, BOUND_DATABASE_MARK_ID } from '../../protocol/index.js';
import { settings, uniqueName } from '../conformance/fixtures.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('ferretdb');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
let ferret: ServerProcess | null = null;
let client: MongoClient | null = null;
const stores: Store[] = [];
if (!skip) {
  ferret = await startFerret();
  client = await MongoClient.connect(ferret.url);
  after(async () => {
    await Promise.all(stores.map((s) => s.close().catch(() => {})));
    await client?.close();
    await ferret?.destroy();
  });
}

const freshDatabase = (): string => `fp_sec_${randomBytes(5).toString('hex')}`;

/** A collection of `database` with string ids, as the store writes them. */
const collection = (database: string, name: string) => client!.db(database).collection<Document & { _id: string }>(name);

async function open(database: string, keyring: Keyring): Promise<Store> {
  const store = await openMongoStore({ url: ferret!.url, database, keyring });
  stores.push(store);
  return store;
}

/** Every revision document of a function, as stored. */
function revisions(database: string, name: string): Promise<Document[]> {
  return collection(database, 'functions').find({ name }).toArray();
}

describe('production store: secrets at rest (FerretDB)', { skip }, () => {
  it('upgrades a schema-1 database once: sha256 token documents re-keyed, clear webhook secrets sealed', async () => {
    const database = freshDatabase();
    const name = uniqueName();
    const adminSecret = `fpa_${randomBytes(32).toString('base64url')}`;
    const hookSecret = `whsec_${randomBytes(12).toString('hex')}`;
    await collection(database, 'meta').insertOne({ _id: 'schema', version: 1, at: 1 });
    await collection(database, 'tokens').createIndex({ hash: 1 }, { name: 'by_hash', unique: true });
    await collection(database, 'tokens').insertOne({ _id: 'tok_legacy', kind: 'admin', scope: null, label: 'admin', hash: sha256(adminSecret), createdAt: 1, seq: 1000, revokedAt: null });
    const { env: _env, ...rest } = settings();
    await collection(database, 'functions').insertOne({
      _id: `${name}/1`, name, seq: 1, base: 1, deleted: false, ...rest, env: [], hookSecrets: { github: { current: hookSecret } },
      status: 'active', activeVersion: null, deploySeq: 0, lastDeploy: null, createdAt: 1, updatedAt: 1,
    });
    const ring = new Keyring([generateKey()]);
    const store = await open(database, ring);
    const token = await store.tokens.verify(adminSecret, 'admin');
    assert.deepEqual([token?.id, token?.keyId], ['tok_legacy', ring.currentId]);
    assert.deepEqual((await store.functions.get(name))?.hookSecrets, { github: { current: hookSecret } });
    const tokenDoc = await collection(database, 'tokens').findOne({ _id: 'tok_legacy' });
    assert.deepEqual([tokenDoc?.['hash'], tokenDoc?.['keyId']], [undefined, ring.currentId]);
    assert.equal(JSON.stringify(await revisions(database, name)).includes(hookSecret), false);
    assert.equal((await collection(database, 'meta').findOne({ _id: 'schema' }))?.['version'], SCHEMA_VERSION);
    // A second token under the new scheme coexists (schema 1's unique index on `hash` is gone).
    await store.tokens.issue({ kind: 'admin' });
    await store.tokens.issue({ kind: 'invoke', scope: name });
  });

  it('a token document planted without the key grants nothing after a reload, and is never upgraded', async () => {
    const database = freshDatabase();
    const ring = new Keyring([generateKey()]);
    const first = await open(database, ring);
    const real = await first.tokens.issue({ kind: 'admin', label: 'admin' });
    const planted = `fpa_${'B'.repeat(43)}`;
    const stranger = new Keyring([generateKey()]);
    await collection(database, 'tokens').insertMany([
      { _id: 'tok_plain', kind: 'admin', scope: null, label: 'admin', hash: sha256(planted), createdAt: 1, seq: 1, revokedAt: null },
      { _id: 'tok_no_key', kind: 'admin', scope: null, label: 'admin', digest: sha256(planted), createdAt: 1, seq: 2, revokedAt: null },
      { _id: 'tok_current_id', kind: 'admin', scope: null, label: 'admin', digest: sha256(`${planted}x`), keyId: ring.currentId, createdAt: 1, seq: 3, revokedAt: null },
      { _id: 'tok_other_key', kind: 'admin', scope: null, label: 'admin', digest: stranger.tokenDigest(`${planted}y`), keyId: ring.currentId, createdAt: 1, seq: 4, revokedAt: null },
    ]);
    const second = await open(database, ring);
    for (const secret of [planted, `${planted}x`, `${planted}y`]) assert.equal(await second.tokens.verify(secret, 'admin'), null);
    const index = await TokenIndex.load(second.tokens, ring);
    for (const secret of [planted, `${planted}x`, `${planted}y`]) assert.equal(index.lookup(secret), undefined);
    assert.equal(index.lookup(real.secret)?.id, real.record.id);
    assert.equal((await collection(database, 'tokens').findOne({ _id: 'tok_plain' }))?.['digest'], undefined, 'never upgraded');
  });

  it('leaves no removed or rotated-out sealed value in any revision document', async () => {
    const database = freshDatabase();
    const oldKey = generateKey();
    const ring = new Keyring([oldKey]);
    const store = await open(database, ring);
    const name = uniqueName();
    const fn = await store.functions.create(name, settings({ secrets: { OLD: 'old-value', KEEP: 'kept' } }));
    const hooked = await store.functions.update(name, fn.revision, { hookSecrets: { gh: { current: 'whsec_one' } } });
    const sealedBefore = JSON.stringify(await revisions(database, name));
    const oldEnvelopes = [...sealedBefore.matchAll(/fpenc:v1:[^"]+/g)].map((m) => m[0]);
    assert.ok(oldEnvelopes.length >= 3);
    const changed = await store.functions.update(name, hooked.revision, { secrets: { KEEP: 'kept' }, hookSecrets: { gh: { current: 'whsec_two' } } });
    await store.deploys.apply({ function: name, action: 'pause', actor: 't', expectedRevision: changed.revision });
    const after1 = JSON.stringify(await revisions(database, name));
    for (const envelope of oldEnvelopes) assert.equal(after1.includes(envelope), false, 'an old envelope is still stored');
    // A key rotation re-seals the newest revision and empties the older ones.
    const both = await open(database, new Keyring([generateKey(), oldKey]));
    assert.equal(await both.keys.reencrypt(), 2);
    const docs = await revisions(database, name);
    const newest = docs.reduce((a, b) => ((a['seq'] as number) > (b['seq'] as number) ? a : b));
    for (const doc of docs) if (doc !== newest) assert.deepEqual([doc['secrets'], doc['hookSecrets']], [undefined, undefined]);
    assert.equal(JSON.stringify(newest).includes(ring.currentId), false, 'nothing left under the old key');
    await store.functions.delete(name, (await both.functions.get(name))!.revision);
    assert.equal(JSON.stringify(await revisions(database, name)).includes('fpenc:'), false, 'a deleted function leaves no sealed value');
  });
  it("refuses a data binding's database whatever its functions wrote there: a planted schema-1 store's admin token is never keyed (red team round 39, ADR 0184)", async () => {
    // What a tenant of another install wrote through its binding, the database named as this install's FP_MONGO_DB.
    const database = freshDatabase();
    const planted = `fpa_${'A'.repeat(43)}`;
    await collection(database, BOUND_DATABASE_MARK).insertOne({ _id: BOUND_DATABASE_MARK_ID, at: 1 });
    await collection(database, 'meta').insertOne({ _id: 'schema', version: 1, at: 1 });
    await collection(database, 'tokens').insertOne({ _id: 'tok_planted', kind: 'admin', scope: null, label: 'admin', hash: sha256(planted), createdAt: 1, seq: 1, revokedAt: null });
    for (const adoptDatabase of [false, true]) {
      await assert.rejects(openMongoStore({ url: ferret!.url, database, keyring: new Keyring([generateKey()]), adoptDatabase }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'STORE_DATABASE_FOREIGN');
        assert.match(err.message, /is a data binding's/);
        return true;
      });
    }
    const token = await collection(database, 'tokens').findOne({ _id: 'tok_planted' });
    assert.deepEqual([token?.['hash'], token?.['keyId']], [sha256(planted), undefined], 'not upgraded');
    assert.equal((await collection(database, 'meta').findOne({ _id: 'schema' }))?.['version'], 1, 'nothing written');
  });

  // The race of ADR 0184 (red39 left it untested): a data proxy marks the database while a first start
  // writes its schema record. The proxy looked before the record (none: it marks); the store looked
  // for a mark before its record (none yet), so it looks again after it, and stops there.
  it("a first start that finds a data binding's mark after writing its schema record stops: STORE_DATABASE_FOREIGN, the database never used (loose4, ADR 0184)", async () => {
    const database = freshDatabase();
    const marked = async (): Promise<void> => {
      await collection(database, BOUND_DATABASE_MARK).insertOne({ _id: BOUND_DATABASE_MARK_ID, at: 1 });
    };
    await assert.rejects(openMongoStore({ url: ferret!.url, database, keyring: new Keyring([generateKey()]), testHooks: { afterSchemaWrite: marked } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORE_DATABASE_FOREIGN');
      assert.match(err.message, /is a data binding's/);
      return true;
    });
    assert.equal(await collection(database, 'meta').findOne({ _id: 'platform' }), null, 'no platform id written: the database is not this install\'s');
  });

  it('a check before writing (checkBeforeWrite) reads an older database as found: refused, it is not upgraded (ADR 0171)', async () => {
    // Before, the upgrade (ensureSchema) ran first, and a start refused SECRETS_KEY_UNKNOWN left the
    // database at the new schema, which the older build then refused (STORE_SCHEMA_TOO_NEW).
    const database = freshDatabase();
    const first = new Keyring([generateKey()]);
    const store = await open(database, first);
    await store.functions.create(uniqueName(), settings({ secrets: { DB_PASSWORD: 'pw' } }));
    await store.close();
    await collection(database, 'meta').updateOne({ _id: 'schema' }, { $set: { version: SCHEMA_VERSION - 1 } });
    const seen: { keyId: string | null; fields: number }[][] = [];
    const refusal = new Error('refused on what the database holds');
    await assert.rejects(openMongoStore({ url: ferret!.url, database, keyring: new Keyring([generateKey()]), checkBeforeWrite: (usage) => {
      seen.push(usage);
      throw refusal;
    } }), (err: unknown) => err === refusal);
    assert.deepEqual(seen.map((usage) => usage.filter((u) => u.fields > 0).map((u) => [u.keyId, u.fields])), [[[first.currentId, 1]]]);
    assert.equal((await collection(database, 'meta').findOne({ _id: 'schema' }))?.['version'], SCHEMA_VERSION - 1, 'not upgraded');
  });

  it("a database with another application's collections and no schema record: refused, STORE_DATABASE_FOREIGN naming it, nothing written (ADR 0183)", async () => {
    const database = freshDatabase();
    await collection(database, 'orders').insertOne({ _id: 'o1', total: 12 });
    await assert.rejects(open(database, new Keyring([generateKey()])), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'STORE_DATABASE_FOREIGN');
      assert.match(err.message, new RegExp(`the MongoDB database "${database}" has no fastapi-platform schema record but holds data \\(orders\\)`));
      assert.deepEqual(err.details?.['collections'], ['orders']);
      return true;
    });
    const names = (await client!.db(database).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !n.startsWith('system.'));
    assert.deepEqual(names, ['orders'], 'the refused open wrote to the database');
  });
  it("another platform's data without its schema record: refused before the key check could be skipped; adopted, the check runs on it (ADR 0183)", async () => {
    // Before, no schema record read as a new database: the key check before writing was skipped,
    // and the open wrote its schema, indexes and identity into the other platform's data.
    const database = freshDatabase();
    const theirs = new Keyring([generateKey()]);
    const other = await open(database, theirs);
    await other.functions.create(uniqueName(), settings({ secrets: { DB_PASSWORD: 'pw' } }));
    await other.close();
    await collection(database, 'meta').deleteMany({});
    const refusal = new Error('refused on what the database holds');
    const seen: { keyId: string | null; fields: number }[][] = [];
    const check = (usage: { keyId: string | null; fields: number }[]): void => {
      seen.push(usage);
      throw refusal;
    };
    await assert.rejects(openMongoStore({ url: ferret!.url, database, keyring: new Keyring([generateKey()]), checkBeforeWrite: check }), { code: 'STORE_DATABASE_FOREIGN' });
    assert.equal(seen.length, 0);
    await assert.rejects(openMongoStore({ url: ferret!.url, database, keyring: new Keyring([generateKey()]), checkBeforeWrite: check, adoptDatabase: true }), (err: unknown) => err === refusal);
    assert.deepEqual(seen.map((usage) => usage.filter((u) => u.fields > 0).map((u) => [u.keyId, u.fields])), [[[theirs.currentId, 1]]]);
    assert.equal(await collection(database, 'meta').countDocuments(), 0, 'a refused open wrote its schema record');
  });
  it('what an interrupted first start wrote (the default workspace, empty collections) is a new database: it opens', async () => {
    const database = freshDatabase();
    await collection(database, 'workspaces').insertOne({ _id: 'default/1', name: 'default', seq: 1 });
    await client!.db(database).createCollection('functions');
    const store = await open(database, new Keyring([generateKey()]));
    assert.ok(await collection(database, 'meta').findOne({ _id: 'schema' }));
    await store.close();
  });
});
