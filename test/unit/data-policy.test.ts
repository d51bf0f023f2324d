/**
 * The data proxy's rules and wire decoding (controlplane/data, docs/data-binding.md), without I/O:
 * what is forwarded, answered locally or refused; the reply scanner; the run tag; the ledger;
 * credentials with rotation and revocation on a fake clock; `data` in the manifest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, Long } from 'mongodb';
import { decide } from '../../controlplane/data/policy.js';
import { decodeOpMsg, encodeOpMsg, FrameReader, summarizeReply, WireError } from '../../controlplane/data/wire.js';
import { runIdOfComment, WriteLedger } from '../../controlplane/data/writes.js';
import { DataCredentials } from '../../controlplane/data/credentials.js';
import { bindingTarget, parseManifest } from '../../protocol/index.js';

const DB = 'default_shop';
const msg = (body: Record<string, unknown>, sequences = new Map<string, Record<string, unknown>[]>()) => ({ flags: 0, body: { ...body }, sequences });
const owns = (id: string) => id === '42';

describe('data proxy policy', () => {
  it('forwards the allowed commands on the bound database, with their collection and write kind', () => {
    assert.deepEqual(decide(msg({ insert: 'orders', documents: [{ $weird: 1 }], $db: DB }), DB, true, owns), { kind: 'forward', command: 'insert', collection: 'orders', write: 'insert', cursor: false, cursorIds: [] });
    const find = decide(msg({ find: 'orders', filter: { a: 1 }, $db: DB }), DB, true, owns);
    assert.equal(find.kind, 'forward');
    assert.equal(decide(msg({ getMore: Long.fromNumber(42), collection: 'orders', $db: DB }), DB, true, owns).kind, 'forward');
    assert.equal(decide(msg({ aggregate: 'orders', pipeline: [{ $lookup: { from: 'other', as: 'x', localField: 'a', foreignField: 'b' } }, { $merge: { into: { db: DB, coll: 'x' } } }], cursor: {}, $db: DB }), DB, true, owns).kind, 'forward');
  });

  it('answers the handshake and auth locally, even unauthenticated', () => {
    for (const command of ['hello', 'isMaster', 'ping', 'saslStart']) assert.equal(decide(msg({ [command]: 1, $db: 'admin' }), DB, false, owns).kind, 'local');
  });

  it('refuses everything else', () => {
    const refused = (body: Record<string, unknown>, authenticated = true, sequences?: Map<string, Record<string, unknown>[]>) => {
      const d = decide(msg(body, sequences), DB, authenticated, owns);
      assert.equal(d.kind, 'refuse', JSON.stringify(body));
    };
    refused({ find: 'orders', $db: DB }, false);
    refused({ find: 'c', $db: 'default_crm' });
    refused({ listDatabases: 1, $db: 'admin' });
    refused({ createUser: 'x', pwd: 'y', roles: [], $db: DB });
    refused({ dropDatabase: 1, $db: DB });
    refused({ eval: '1', $db: DB });
    refused({ mapReduce: 'orders', $db: DB });
    refused({ find: 'orders', filter: { $where: 'true' }, $db: DB });
    refused({ find: 'orders', filter: { $expr: { $function: { body: 'x', args: [], lang: 'js' } } }, $db: DB });
    refused({ find: 'orders', filter: { a: new BSON.Code('function(){}') }, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $out: { db: 'default_crm', coll: 'x' } }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $merge: { into: { db: 'default_crm', coll: 'x' } } }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $lookup: { from: { db: 'default_crm', coll: 'c' }, as: 'x', pipeline: [] } }], cursor: {}, $db: DB });
    refused({ aggregate: 1, pipeline: [{ $currentOp: {} }], cursor: {}, $db: DB });
    refused({ getMore: Long.fromNumber(7), collection: 'orders', $db: DB });
    refused({ killCursors: 'orders', cursors: [Long.fromNumber(7)], $db: DB });
    refused({ find: 'system.users', $db: DB });
    refused({ find: 'orders', $db: DB, $internal: 1 });
    refused({ update: 'orders', $db: DB }, true, new Map([['updates', [{ q: { $where: '1' }, u: {} }]]]));
    refused({ insert: 'orders', $db: DB }, true, new Map([['other', [{}]]]));
  });
});

describe('data proxy wire', () => {
  it('round-trips an OP_MSG and refuses malformed ones', () => {
    const frame = encodeOpMsg({ find: 'x', $db: DB }, 5, 0);
    assert.deepEqual(decodeOpMsg(frame).body, { find: 'x', $db: DB });
    const broken = Buffer.from(frame);
    broken[20] = 9; // unknown section kind
    assert.throws(() => decodeOpMsg(broken), WireError);
    assert.throws(() => decodeOpMsg(frame.subarray(0, 24)), WireError);
  });

  it('cuts a stream into whole messages, however it is chunked, and refuses a bad length at once', () => {
    const a = encodeOpMsg({ ping: 1, $db: DB }, 1, 0);
    const b = encodeOpMsg({ find: 'x'.repeat(300), $db: DB }, 2, 0);
    const stream = Buffer.concat([a, b, a]);
    for (const size of [1, 3, 7, 64, stream.length]) {
      const reader = new FrameReader(1024);
      const frames: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) frames.push(...reader.push(stream.subarray(at, at + size)));
      assert.deepEqual(frames.map((f) => f.length), [a.length, b.length, a.length], `chunks of ${size}`);
      assert.equal(reader.pending, 0);
    }
    const huge = Buffer.alloc(8);
    huge.writeInt32LE(2048, 0);
    assert.throws(() => new FrameReader(1024).push(huge), WireError);
    const tiny = Buffer.alloc(4);
    tiny.writeInt32LE(-1, 0);
    assert.throws(() => new FrameReader(1024).push(tiny), WireError);
  });

  it('reads write counts and cursor ids from replies without decoding documents', () => {
    assert.deepEqual(summarizeReply(encodeOpMsg({ n: 3, nModified: 2, ok: 1 }, 1, 1)), { ok: true, n: 3, nModified: 2, cursorId: null, upserted: 0, lastErrorN: null });
    const cursor = summarizeReply(encodeOpMsg({ cursor: { firstBatch: [{ a: 'x'.repeat(100) }], id: Long.fromString('1234567890123'), ns: 'a.b' }, ok: 1 }, 1, 1))!;
    assert.equal(cursor.cursorId, '1234567890123');
    assert.equal(summarizeReply(encodeOpMsg({ ok: 0, errmsg: 'no' }, 1, 1))!.ok, false);
  });
});

describe('runs and writes', () => {
  it('takes only well-formed run tags', () => {
    assert.equal(runIdOfComment('fp:run=abc-123'), 'abc-123');
    assert.equal(runIdOfComment('fp:run='), null);
    assert.equal(runIdOfComment('fp:run=a b'), null);
    assert.equal(runIdOfComment({ run: 'x' }), null);
  });

  it('keeps writes per function and run, until taken', () => {
    const ledger = new WriteLedger(2);
    ledger.record('f', 'r1', DB, 'orders', { inserted: 2 });
    ledger.record('f', 'r1', DB, 'orders', { updated: 1 });
    ledger.record('g', 'r1', DB, 'orders', { deleted: 1 });
    assert.deepEqual(ledger.take('f', 'r1'), [{ database: DB, collection: 'orders', inserted: 2, updated: 1, deleted: 0, upserted: 0 }]);
    assert.deepEqual(ledger.take('f', 'r1'), []);
    ledger.record('h', 'r2', DB, 'a', { inserted: 1 });
    ledger.record('h', 'r3', DB, 'a', { inserted: 1 });
    assert.deepEqual(ledger.take('g', 'r1'), [], 'the oldest run is dropped beyond the cap');
  });
});

describe('data credentials', () => {
  it('checks, rotates with grace and revokes', () => {
    let now = 0;
    const creds = new DataCredentials(() => now);
    const grant = { functionKey: 'f', workspace: 'default', database: 'shop', physical: DB };
    const first = creds.credentialFor(grant);
    assert.equal(creds.credentialFor(grant), first);
    assert.deepEqual(creds.check(first.user, first.password), grant);
    assert.equal(creds.check(first.user, 'wrong'), null);
    assert.equal(creds.rotate('f', 1000), 1);
    const second = creds.credentialFor(grant);
    assert.notEqual(second.user, first.user);
    assert.equal(creds.live(first.user), true);
    now = 1000;
    assert.equal(creds.live(first.user), false);
    assert.equal(creds.check(first.user, first.password), null);
    creds.revoke('f');
    assert.equal(creds.check(second.user, second.password), null);
  });
});

describe('data in the manifest', () => {
  it('parses data.mongo with create defaulting to true, and refuses bad names', () => {
    assert.deepEqual(parseManifest({ kind: 'function', name: 'a', data: { mongo: { database: 'shop' } } }).data, { mongo: { database: 'shop', create: true } });
    assert.throws(() => parseManifest({ kind: 'function', name: 'a', data: { mongo: { database: 'Shop!' } } }), (err: { code?: string }) => err.code === 'BAD_MANIFEST');
    assert.throws(() => parseManifest({ kind: 'function', name: 'a', data: { mongo: { database: 'x' }, redis: {} } }), (err: { code?: string }) => err.code === 'BAD_MANIFEST');
    assert.deepEqual(bindingTarget('crm.acme', 'default'), { workspace: 'acme', database: 'crm' });
    assert.deepEqual(bindingTarget('shop', 'acme'), { workspace: 'acme', database: 'shop' });
  });
});
