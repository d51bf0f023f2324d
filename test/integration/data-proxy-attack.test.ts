/**
 * The data proxy's scope, attacked (docs/data-binding.md, ADR 0021): an attacker holding its own
 * binding's URI builds clients from scratch (pymongo, raw sockets) and tries to leave its database.
 * Real FerretDB behind the proxy, a real Python process in front. Every attempt must be refused,
 * the proxy must stay up, and the other binding must be unaffected.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Binary, BSON, Long, MongoClient } from 'mongodb';
import { createConnection, type Socket } from 'node:net';
import { bindingUri, DataCredentials, DataProxy, DEFAULT_FERRETDB_MAX_FIELDS, physicalDatabase, WriteLedger } from '../../controlplane/index.js';
import { BOUND_DATABASE_MARK, BOUND_DATABASE_MARK_ID } from '../../protocol/index.js';
import { encodeOpMsg, FrameReader, readHeader } from '../../controlplane/data/wire.js';
import { repoPath } from '../helpers/runtime-process.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('ferretdb');

/** Runs a Python script with the venv's interpreter (pymongo is in runtime/requirements.txt); FP_TEST_PYTHON names another. */
function runPython(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const python = process.env.FP_TEST_PYTHON ?? repoPath('.venv', 'bin', 'python');
    const child = spawn(python, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Asks commands on a raw connection one at a time: each answer's body, or null once the proxy hung up. */
function askOn(socket: Socket): (doc: Record<string, unknown>) => Promise<Record<string, unknown> | null> {
  const reader = new FrameReader(1 << 20);
  const answers: (Record<string, unknown> | null)[] = [];
  let wake: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    for (const frame of reader.push(chunk)) answers.push(BSON.deserialize(frame.subarray(21)));
    wake?.();
  });
  socket.on('close', () => {
    answers.push(null);
    wake?.();
  });
  socket.on('error', () => undefined);
  let id = 0;
  return async (doc) => {
    if (!socket.destroyed) socket.write(encodeOpMsg(doc, ++id, 0));
    while (answers.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const answer = answers.shift()!;
    if (answer === null) answers.unshift(null); // closed: every later question gets null too
    return answer;
  };
}

describe('data proxy under attack', { skip }, () => {
  let ferret: ServerProcess;
  let proxy: DataProxy;
  let dir: string;
  const credentials = new DataCredentials();
  const ledger = new WriteLedger();
  const shop = { functionKey: 'shop-fn', workspace: 'default', database: 'shop', physical: physicalDatabase('default', 'shop') };
  const crm = { functionKey: 'crm-fn.acme', workspace: 'acme', database: 'crm', physical: physicalDatabase('acme', 'crm') };
  let shopUri: string;
  let crmUri: string;
  let shopSock: string;
  let crmClient: MongoClient;

  before(async () => {
    ferret = await startFerret();
    dir = mkdtempSync(join(tmpdir(), 'fp-data-'));
    proxy = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger });
    shopSock = await proxy.listen(shop.functionKey, join(dir, 'shop', 'mongo.sock'));
    const crmSock = await proxy.listen(crm.functionKey, join(dir, 'crm', 'mongo.sock'));
    shopUri = bindingUri(shopSock, shop.physical, credentials.credentialFor(shop));
    crmUri = bindingUri(crmSock, crm.physical, credentials.credentialFor(crm));
    crmClient = new MongoClient(crmUri, { serverSelectionTimeoutMS: 5000 });
    await crmClient.db(crm.physical).collection('c').insertMany([{ secret: 1 }, { secret: 2 }, { secret: 3 }]);
  });
  after(async () => {
    await crmClient?.close();
    await proxy?.close();
    await ferret?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses every way out of the bound database, and stays up for everyone', async () => {
    // A live cursor of the other binding, opened through its own proxy socket.
    const raw = await crmClient.db(crm.physical).command({ find: 'c', batchSize: 1 });
    const cursorId = String((raw.cursor as { id: unknown }).id);
    assert.notEqual(cursorId, '0');

    // The other binding's credential, leaked, used on the attacker's own socket (the other
    // socket is not in the attacker's box).
    const leaked = bindingUri(shopSock, crm.physical, credentials.credentialFor(crm));
    const run = await runPython(repoPath('test', 'integration', 'data-attacker.py'), [shopUri, shopSock, shop.physical, crm.physical, cursorId, leaked]);
    assert.equal(run.code, 0, run.stderr);
    const results = JSON.parse(run.stdout) as Record<string, string | number>;
    const allowed = Object.entries(results).filter(([, v]) => typeof v === 'string' && !v.startsWith('refused') && v !== 'closed');
    assert.deepEqual(allowed, [], `attacks that were not refused: ${JSON.stringify(allowed)}`);
    // The scope refusals carry the platform's code; the leaked credential fails authentication.
    assert.match(String(results['other-db-find']), /^refused:13:DATA_SCOPE_FORBIDDEN/);
    assert.match(String(results['list-databases']), /^refused:13:DATA_SCOPE_FORBIDDEN/);
    // Refused by the proxy itself, not by a server that lacks the stage.
    assert.match(String(results['lookup-system-collection']), /^refused:13:DATA_SCOPE_FORBIDDEN/);
    assert.match(String(results['unionwith-system-collection']), /^refused:13:DATA_SCOPE_FORBIDDEN/);
    assert.match(String(results['other-binding-credential']), /^refused:18:DATA_AUTH_FAILED/);
    for (const name of ['raw-huge-length', 'raw-negative-length', 'raw-garbage-section', 'raw-bad-bson', 'raw-op-query-find', 'raw-op-query-admin-cmd', 'raw-op-compressed', 'raw-op-insert-legacy', 'raw-more-to-come', 'raw-exhaust', 'raw-checksum', 'raw-connection-flood']) {
      assert.equal(results[name], 'closed', name);
    }
    assert.equal(results['raw-unauthenticated-find'], 'refused');
    assert.equal(results['own-db-still-works'], 1);

    // Nothing reached the other database, and its binding still works, its cursor included.
    const crmDb = crmClient.db(crm.physical);
    assert.deepEqual((await crmDb.listCollections().toArray()).map((c) => c.name).sort(), ['c']);
    assert.equal(await crmDb.collection('c').countDocuments(), 3);
    const more = await crmDb.command({ getMore: Long.fromString(cursorId), collection: 'c' });
    assert.equal((more.cursor as { nextBatch: unknown[] }).nextBatch.length, 2);
    // The attacker's one tagged write is in its own run's ledger, under its own function only.
    assert.deepEqual(ledger.take('crm-fn.acme', 'attack-run'), []);
    assert.deepEqual(ledger.take('shop-fn', 'attack-run').map((w) => [w.database, w.collection, w.inserted]), [[shop.physical, 'items', 1]]);
  });

  it('answers thousands of commands sent in one write, in order, and keeps the connection', async () => {
    // Refusals are answered at once, without the server: every one of them, in order, on the same connection.
    const count = 5_000;
    const frames = Array.from({ length: count }, (_, i) => encodeOpMsg({ find: 'c', $db: shop.physical }, i + 1, 0));
    const socket = createConnection(shopSock);
    after(() => socket.destroy());
    const reader = new FrameReader(1 << 20);
    const answered: number[] = [];
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const all = new Promise<void>((resolve) => socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) answered.push(readHeader(frame).responseTo);
      if (answered.length === count) resolve();
    }));
    socket.write(Buffer.concat(frames));
    await Promise.race([all, closed]);
    assert.equal(answered.length, count, 'the proxy closed the connection before answering every command');
    assert.deepEqual(answered.slice(0, 3), [1, 2, 3]);
    assert.equal(answered[count - 1], count);
    assert.equal(socket.destroyed, false);
  });

  it('stops a revoked credential mid-connection and a rotated one after its grace', async () => {
    let now = 1_000;
    const creds = new DataCredentials(() => now);
    const local = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials: creds, ledger });
    const grant = { functionKey: 'rot-fn', workspace: 'default', database: 'rot', physical: physicalDatabase('default', 'rot') };
    const sock = await local.listen(grant.functionKey, join(dir, 'rot', 'mongo.sock'));
    try {
      const old = creds.credentialFor(grant);
      const client = new MongoClient(bindingUri(sock, grant.physical, old), { serverSelectionTimeoutMS: 5000, retryWrites: false });
      await client.db(grant.physical).collection('x').insertOne({ a: 1 });
      assert.equal(creds.rotate(grant.functionKey, 30_000), 1);
      const fresh = creds.credentialFor(grant);
      assert.notEqual(fresh.password, old.password);
      await client.db(grant.physical).collection('x').insertOne({ a: 2 }); // within the grace
      now += 30_000;
      await assert.rejects(client.db(grant.physical).collection('x').insertOne({ a: 3 }), (err: { code?: number; message: string }) => err.code === 13 && err.message.startsWith('DATA_CREDENTIALS_REVOKED'));
      await client.close();
      const second = new MongoClient(bindingUri(sock, grant.physical, fresh), { serverSelectionTimeoutMS: 5000 });
      assert.equal(await second.db(grant.physical).collection('x').countDocuments(), 2);
      creds.revoke(grant.functionKey);
      await assert.rejects(second.db(grant.physical).collection('x').countDocuments(), (err: { code?: number }) => err.code === 13);
      await second.close();
    } finally {
      await local.close();
    }
  });

  it('bounds the connections of all the functions of one workspace together, not each function alone (red team round 46)', async () => {
    // Each connection that asked something is two of the platform's descriptors (the function's, the
    // server's). Per function alone, 39 bound functions of one workspace filled this host's 20 000.
    const local = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger, maxConnectionsPerFunction: 6, maxConnectionsPerWorkspace: 16 });
    const held: Socket[] = [];
    try {
      const served = async (functionKey: string, workspace: string, n: number): Promise<number> => {
        const grant = { functionKey, workspace, database: 'many', physical: physicalDatabase(workspace, 'many') };
        const sock = await local.listen(functionKey, join(dir, functionKey, 'mongo.sock'));
        const { user, password } = credentials.credentialFor(grant);
        const answers = await Promise.all(Array.from({ length: n }, async () => {
          const socket = createConnection(sock);
          held.push(socket);
          const ask = askOn(socket);
          const auth = await ask({ saslStart: 1, mechanism: 'PLAIN', payload: new Binary(Buffer.from(`\0${user}\0${password}`)), $db: '$external' });
          return auth?.done === true && (await ask({ find: 'c', $db: grant.physical }))?.ok === 1;
        }));
        return answers.filter(Boolean).length;
      };
      let many = 0;
      for (let i = 0; i < 4; i++) many += await served(`many${i}.burst`, 'burst', 6);
      assert.equal(many, 16, 'the workspace held more connections than its bound');
      // Another workspace is not refused for it.
      assert.equal(await served('calm.other', 'other', 6), 6);
      // Closed connections give their places back.
      for (const socket of held.splice(0)) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(await served('many9.burst', 'burst', 6), 6);
    } finally {
      for (const socket of held) socket.destroy();
      await local.close();
    }
  });

  it("one workspace's messages begun and never finished do not fill what the proxy holds for every workspace (red team round 46)", async () => {
    // Per function and in all, not per workspace: four functions of one workspace at their bound
    // filled the proxy's total (by default 4 × 256 MiB = 1 GiB), and every other workspace's
    // connection was closed at its next message. No credential is needed to begin a message.
    const MIB = 1024 * 1024;
    const local = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger, maxHeldBytesPerFunction: 4 * MIB, maxHeldBytes: 16 * MIB });
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const sock = await local.listen(`hog${i}.hogs`, join(dir, `hog${i}`, 'mongo.sock'));
        const socket = createConnection(sock);
        socket.on('error', () => undefined);
        held.push(socket);
        const begun = Buffer.alloc(4 * MIB - 8);
        begun.writeInt32LE(8 * MIB, 0); // the message's length: more than is ever sent
        socket.write(begun);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const grant = { functionKey: 'calm.calm', workspace: 'calm', database: 'calm', physical: physicalDatabase('calm', 'calm') };
      const sock = await local.listen(grant.functionKey, join(dir, 'calm', 'mongo.sock'));
      const { user, password } = credentials.credentialFor(grant);
      const socket = createConnection(sock);
      held.push(socket);
      const ask = askOn(socket);
      const auth = await ask({ saslStart: 1, mechanism: 'PLAIN', payload: new Binary(Buffer.from(`\0${user}\0${password}`)), $db: '$external' });
      assert.equal(auth?.done, true, 'the other workspace\'s connection was closed at its authentication');
      assert.equal((await ask({ find: 'c', filter: { note: 'x'.repeat(200) }, $db: grant.physical }))?.ok, 1, 'the other workspace\'s find was closed');
    } finally {
      for (const socket of held) socket.destroy();
      await local.close();
    }
  });

  it("refuses a document wider than the embedded FerretDB's bound before the server sees it (red team round 46)", async () => {
    // FerretDB 1.x's work grows with the square of a document's fields: 80 000 took it 23 s to
    // insert and 36 s to read back; a 16 MiB insert holds 1.4 million.
    const local = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger, maxFieldsPerDocument: DEFAULT_FERRETDB_MAX_FIELDS });
    const grant = { functionKey: 'wide-fn', workspace: 'default', database: 'wide', physical: physicalDatabase('default', 'wide') };
    const sock = await local.listen(grant.functionKey, join(dir, 'wide', 'mongo.sock'));
    const client = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000, retryWrites: false });
    try {
      const wide = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
      const c = client.db(grant.physical).collection('c');
      await assert.rejects(c.insertOne(wide(DEFAULT_FERRETDB_MAX_FIELDS + 1)), /DATA_DOCUMENT_TOO_WIDE: a document of this command has 4098 fields/); // with its _id
      await assert.rejects(c.updateOne({}, { $set: { inner: wide(50_000) } }, { upsert: true }), /DATA_DOCUMENT_TOO_WIDE/);
      await c.insertOne({ ...wide(DEFAULT_FERRETDB_MAX_FIELDS - 1) });
      await c.insertOne({ many: Array.from({ length: 50_000 }, (_, i) => i) }); // an array's elements are one field
      assert.equal(await c.countDocuments(), 2);
    } finally {
      await client.close();
      await local.close();
    }
  });

  it("marks a bound database before the function's first write, and the function cannot remove the mark (red team round 39, ADR 0184)", async () => {
    // A tenant whose database's name is another install's FP_MONGO_DB (`stg_platform`) planted a
    // schema-1 record and an admin token document: that install's first start keyed the token (root).
    const grant = { functionKey: 'planter.stg', workspace: 'stg', database: 'platform', physical: physicalDatabase('stg', 'platform') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'planter', 'mongo.sock'));
    const planter = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000, retryWrites: false });
    const direct = new MongoClient(ferret.url, { directConnection: true });
    try {
      await Promise.all([
        planter.db(grant.physical).collection('meta').insertOne({ _id: 'schema' as never, version: 1, at: 1 }),
        planter.db(grant.physical).collection('tokens').insertOne({ kind: 'admin', hash: 'planted' }),
      ]);
      const marks = await direct.db(grant.physical).collection(BOUND_DATABASE_MARK).find({}).toArray();
      assert.deepEqual(marks.map((m) => m._id), [BOUND_DATABASE_MARK_ID], 'the database carries its mark');
      // The function's own listing is as before the mark, with a filter of its own or none.
      const listed = async (filter: Record<string, unknown>) => (await planter.db(grant.physical).listCollections(filter, { nameOnly: true }).toArray()).map((c) => c.name).sort();
      assert.deepEqual(await listed({}), ['meta', 'tokens']);
      assert.deepEqual(await listed({ name: { $in: ['meta', BOUND_DATABASE_MARK] } }), ['meta']);
      const refusedScope = (err: { code?: number; message: string }) => err.code === 13 && err.message.startsWith('DATA_SCOPE_FORBIDDEN');
      await assert.rejects(planter.db(grant.physical).collection(BOUND_DATABASE_MARK).drop(), refusedScope);
      await assert.rejects(planter.db(grant.physical).collection(BOUND_DATABASE_MARK).deleteMany({}), refusedScope);
      await assert.rejects(planter.db(grant.physical).collection('meta').aggregate([{ $match: { none: 1 } }, { $out: BOUND_DATABASE_MARK }]).toArray(), refusedScope);
      assert.equal(await direct.db(grant.physical).collection(BOUND_DATABASE_MARK).countDocuments(), 1, 'still marked');
    } finally {
      await planter.close();
      await direct.close();
    }
  });

  it("serves no binding made before another install's store started in its database, reads included, and leaves that store unmarked (red team round 39, ADR 0184)", async () => {
    // A tenant bound `platform` of workspace `stg2` and sent nothing; an install then started with
    // FP_MONGO_DB=stg2_platform. Before, the binding read that install's store (and could write it).
    const grant = { functionKey: 'sleeper.stg2', workspace: 'stg2', database: 'platform', physical: physicalDatabase('stg2', 'platform') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'sleeper', 'mongo.sock'));
    const sleeper = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000, retryWrites: false, retryReads: false });
    const direct = new MongoClient(ferret.url, { directConnection: true });
    try {
      await direct.db(grant.physical).collection('meta').insertOne({ _id: 'schema' as never, version: 4, at: 1 });
      await direct.db(grant.physical).collection('functions').insertOne({ name: 'theirs', env: [{ name: 'DB_PASSWORD', value: 'plain' }] });
      const forbidden = (err: { code?: number; message: string }) => err.code === 13 && err.message.startsWith('DATA_DATABASE_FORBIDDEN');
      await assert.rejects(sleeper.db(grant.physical).collection('functions').findOne({}), forbidden);
      await assert.rejects(sleeper.db(grant.physical).collection('functions').insertOne({ name: 'planted' }), forbidden);
      assert.equal(await direct.db(grant.physical).collection(BOUND_DATABASE_MARK).countDocuments(), 0, 'the store is not marked');
      assert.equal(await direct.db(grant.physical).collection('functions').countDocuments(), 1);
      // A binding's first read marks a database that is no store (its next store start refuses it).
      const fresh = { functionKey: 'reader.stg3', workspace: 'stg3', database: 'platform', physical: physicalDatabase('stg3', 'platform') };
      const freshSock = await proxy.listen(fresh.functionKey, join(dir, 'reader', 'mongo.sock'));
      const reader = new MongoClient(bindingUri(freshSock, fresh.physical, credentials.credentialFor(fresh)), { serverSelectionTimeoutMS: 5000 });
      try {
        assert.equal(await reader.db(fresh.physical).collection('x').findOne({}), null);
        assert.equal(await direct.db(fresh.physical).collection(BOUND_DATABASE_MARK).countDocuments(), 1);
      } finally {
        await reader.close();
      }
    } finally {
      await sleeper.close();
      await direct.close();
    }
  });

  it('answers DATA_BACKEND_UNAVAILABLE when the server is down, and recovers when it is back', async () => {
    const grant = { functionKey: 'down-fn', workspace: 'default', database: 'down', physical: physicalDatabase('default', 'down') };
    const sock = await proxy.listen(grant.functionKey, join(dir, 'down', 'mongo.sock'));
    const client = new MongoClient(bindingUri(sock, grant.physical, credentials.credentialFor(grant)), { serverSelectionTimeoutMS: 5000, retryWrites: false, retryReads: false });
    try {
      await client.db(grant.physical).collection('x').insertOne({ a: 1 });
      await ferret.stop('SIGKILL');
      // The function is told the server is down, never where the server is.
      await assert.rejects(client.db(grant.physical).collection('x').findOne({}), (err: { code?: number; message: string }) => err.code === 6 && err.message.startsWith('DATA_BACKEND_UNAVAILABLE') && !err.message.includes(String(ferret.port)) && !err.message.includes('127.0.0.1'));
      await ferret.start();
      assert.equal(await client.db(grant.physical).collection('x').countDocuments(), 1);
    } finally {
      await client.close();
    }
  });
});
