/**
 * The data proxy's rules and wire decoding (controlplane/data, docs/data-binding.md), without I/O:
 * what is forwarded, answered locally or refused; the reply scanner; the run tag; the ledger;
 * credentials with rotation and revocation on a fake clock; `data` in the manifest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON, Long } from 'mongodb';
import { readCommand } from '../../controlplane/data/command.js';
import { decide } from '../../controlplane/data/policy.js';
import { decodeOpMsg, encodeOpMsg, FrameReader, summarizeReply, WireError } from '../../controlplane/data/wire.js';
import { runIdOfComment, WriteLedger } from '../../controlplane/data/writes.js';
import { DataCredentials } from '../../controlplane/data/credentials.js';
import { BOUND_DATABASE_MARK, bindingTarget, parseManifest } from '../../protocol/index.js';

const DB = 'default_shop';
/** An OP_MSG frame: a body section (a document, or raw BSON bytes) and document sequences. */
function frameOf(body: Record<string, unknown> | Buffer, sequences = new Map<string, Record<string, unknown>[]>(), flags = 0): Buffer {
  const parts: Buffer[] = [Buffer.alloc(16), Buffer.alloc(4), Buffer.from([0]), Buffer.isBuffer(body) ? body : Buffer.from(BSON.serialize(body))];
  parts[1]!.writeUInt32LE(flags, 0);
  for (const [id, docs] of sequences) {
    const payload = Buffer.concat([Buffer.from(`${id}\0`), ...docs.map((d) => Buffer.from(BSON.serialize(d)))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const frame = Buffer.concat(parts);
  frame.writeInt32LE(frame.length, 0);
  frame.writeInt32LE(2013, 12);
  return frame;
}
/** A BSON document (or array) already encoded, to nest in rawDocument. */
class Raw {
  constructor(readonly bytes: Buffer, readonly array = false) {}
}
/** A BSON document from ordered [key, value] pairs: keys may repeat (a JS object cannot say that). */
function rawDocument(pairs: [string, unknown][]): Buffer {
  const elements = pairs.map(([k, v]) => {
    if (v instanceof Raw) return Buffer.concat([Buffer.from([v.array ? 4 : 3]), Buffer.from(`${k}\0`), v.bytes]);
    const one = Buffer.from(BSON.serialize({ [k]: v }));
    return one.subarray(4, one.length - 1);
  });
  const doc = Buffer.concat([Buffer.alloc(4), ...elements, Buffer.from([0])]);
  doc.writeInt32LE(doc.length, 0);
  return doc;
}
const msg = (body: Record<string, unknown> | Buffer, sequences?: Map<string, Record<string, unknown>[]>) => readCommand(frameOf(body, sequences), DB);
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
    refused({ constructor: 'orders', $db: DB });
    refused({ toString: 'orders', $db: DB });
    refused({ find: 'orders', filter: { a: { b: { $where: '1' } } }, $db: DB });
    refused({ find: 'orders', filter: { $and: [{ a: 1 }, { $expr: { $function: {} } }] }, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $unionWith: { coll: 'x', db: 'default_crm' } }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $out: { db: 1, coll: 'x' } }], cursor: {}, $db: DB });
    refused({ delete: 'orders', $db: DB }, true, new Map([['deletes', [{ q: { a: new BSON.Code('1') }, limit: 1 }]]]));
    // A stage naming a reserved collection of the bound database (red team, December 2026: only the command's own was checked).
    refused({ aggregate: 'orders', pipeline: [{ $lookup: { from: 'system.views', as: 'x', pipeline: [] } }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $unionWith: 'system.js' }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $unionWith: { coll: 'system.js', pipeline: [] } }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $out: 'system.js' }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $merge: { into: { db: DB, coll: 'system.views' } } }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $merge: 'system.views' }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $facet: { a: [{ $graphLookup: { from: 'system.profile', startWith: '$a', connectFromField: 'a', connectToField: 'a', as: 'x' } }] } }], cursor: {}, $db: DB });
    let deep: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 120; i++) deep = { a: deep };
    refused({ find: 'orders', filter: deep, $db: DB });
  });

  it("refuses every command and stage naming the bound database's mark, in any case (red team round 39, ADR 0184)", () => {
    // A function that removed or replaced the mark made its database one a production store starts on.
    const refused = (body: Record<string, unknown>, sequences?: Map<string, Record<string, unknown>[]>) => {
      const d = decide(msg(body, sequences), DB, true, owns);
      assert.equal(d.kind, 'refuse', JSON.stringify(body));
    };
    const mark = BOUND_DATABASE_MARK;
    refused({ drop: mark, $db: DB });
    refused({ drop: mark.toUpperCase(), $db: DB });
    refused({ find: mark, $db: DB });
    refused({ delete: mark, $db: DB }, new Map([['deletes', [{ q: {}, limit: 0 }]]]));
    refused({ update: mark, $db: DB }, new Map([['updates', [{ q: {}, u: { $set: { a: 1 } } }]]]));
    refused({ insert: mark, $db: DB }, new Map([['documents', [{ a: 1 }]]]));
    refused({ findAndModify: mark, query: {}, remove: true, $db: DB });
    refused({ create: mark, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $match: { none: 1 } }, { $out: mark }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $merge: { into: { db: DB, coll: mark } } }], cursor: {}, $db: DB });
    refused({ aggregate: 'orders', pipeline: [{ $lookup: { from: mark, as: 'x', pipeline: [] } }], cursor: {}, $db: DB });
    // A view over it, or over system.js, read it by the view's name (red team round 40).
    refused({ create: 'seen', viewOn: mark, pipeline: [], $db: DB });
    refused({ create: 'seen', viewOn: 'system.js', pipeline: [], $db: DB });
    assert.equal(decide(msg({ create: 'recent', viewOn: 'orders', pipeline: [{ $match: { a: 1 } }], $db: DB }), DB, true, owns).kind, 'forward', 'a view on its own collection');
    assert.equal(decide(msg({ find: 'fastapi-platform.bindings', $db: DB }), DB, true, owns).kind, 'forward', 'another name is the function\'s');
  });

  it('refuses a repeated field, which a server and a checker could read differently', () => {
    // The server may read the first `find`, a checker the last: neither order gets through.
    for (const pairs of [[['find', 'system.users'], ['find', 'orders'], ['$db', DB]], [['find', 'orders'], ['$db', 'default_crm'], ['$db', DB]], [['find', 'orders'], ['$db', DB], ['filter', {}], ['filter', { $where: '1' }]]] as [string, unknown][][]) {
      const d = decide(msg(rawDocument(pairs)), DB, true, owns);
      assert.equal(d.kind, 'refuse', JSON.stringify(pairs));
    }
    // `$out: {db: <other>, db: <own>}`: a checker reading the last `db` would let it through.
    const spec = rawDocument([['db', 'default_crm'], ['db', DB], ['coll', 'x']]);
    const pipeline = rawDocument([['0', new Raw(rawDocument([['$out', new Raw(spec)]]))]]);
    const body = rawDocument([['aggregate', 'orders'], ['pipeline', new Raw(pipeline, true)], ['cursor', {}], ['$db', DB]]);
    assert.deepEqual(decide(msg(body), DB, true, owns), { kind: 'refuse', reason: '$out into another database is not allowed' });
  });

  it('does not look into documents to insert (data), but checks their structure', () => {
    const docs = new Map([['documents', [{ $where: '1', code: new BSON.Code('x'), n: { $function: 1 } }]]]);
    assert.equal(decide(msg({ insert: 'orders', $db: DB }, docs), DB, true, owns).kind, 'forward');
    const good = frameOf({ insert: 'orders', $db: DB }, docs);
    const broken = Buffer.from(good);
    broken.writeInt32LE(1_000, good.length - Buffer.from(BSON.serialize(docs.get('documents')![0]!)).length);
    assert.throws(() => readCommand(broken, DB), WireError);
  });

  it("reads the most fields of any one document, insert documents and embedded ones included, not arrays' elements (red team round 46)", () => {
    const wide = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
    assert.equal(msg({ insert: 'orders', documents: [wide(5000)], $db: DB }).widest, 5000);
    assert.equal(msg({ insert: 'orders', $db: DB }, new Map([['documents', [{ a: 1 }, { nested: wide(300) }]]])).widest, 300);
    assert.equal(msg({ update: 'orders', updates: [{ q: {}, u: { $set: wide(700) } }], $db: DB }).widest, 700);
    assert.equal(msg({ update: 'orders', $db: DB }, new Map([['updates', [{ q: wide(90), u: { $set: { a: 1 } } }]]])).widest, 90);
    // An array of many elements is one field; the insert's own list of documents is no document.
    assert.equal(msg({ insert: 'orders', documents: Array.from({ length: 50 }, () => ({ a: Array.from({ length: 10_000 }, (_, i) => i) })), $db: DB }).widest, 3);
    assert.equal(msg({ find: 'orders', filter: { a: 1 }, $db: DB }).widest, 3);
  });

  it('reads what the ledger needs: the run tag and findAndModify removes', () => {
    const c = msg({ findAndModify: 'orders', query: {}, remove: true, comment: 'fp:run=r1', $db: DB });
    assert.equal(c.comment, 'fp:run=r1');
    assert.equal(c.remove, true);
    assert.deepEqual(msg({ getMore: Long.fromString('1234567890123'), collection: 'orders', $db: DB }).getMore, '1234567890123');
    assert.deepEqual(msg({ killCursors: 'orders', cursors: [Long.fromNumber(42), 7], $db: DB }).cursors, ['42', '7']);
  });

  it('never fails on a mangled frame but with WireError', () => {
    const good = frameOf({ aggregate: 'orders', pipeline: [{ $match: { a: { $in: [1, 'x', null, new BSON.ObjectId(), 2.5, Long.fromNumber(3)] } } }, { $lookup: { from: 'b', as: 'c', pipeline: [] } }], cursor: {}, comment: 'x', $db: DB }, new Map([['documents', [{ a: new BSON.Binary(Buffer.from('hi')), r: /x/i }]]]));
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5_000; i++) {
      const bad = Buffer.from(good);
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) bad[20 + Math.floor(random() * (bad.length - 20))] = Math.floor(random() * 256);
      try {
        readCommand(bad, DB);
      } catch (err) {
        assert.ok(err instanceof WireError, String(err));
      }
    }
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

  it('reads write counts, cursor ids and the cursors killCursors closed from replies without decoding documents', () => {
    assert.deepEqual(summarizeReply(encodeOpMsg({ n: 3, nModified: 2, ok: 1 }, 1, 1)), { ok: true, n: 3, nModified: 2, cursorId: null, upserted: 0, lastErrorN: null, lastErrorUpserted: false, cursorsKilled: [] });
    // killCursors: the ids the server closed, not those it did not find (another collection's).
    const killed = summarizeReply(encodeOpMsg({ cursorsKilled: [Long.fromString('9007199254740993')], cursorsNotFound: [Long.fromString('7')], cursorsAlive: [], cursorsUnknown: [], ok: 1 }, 1, 1))!;
    assert.deepEqual(killed.cursorsKilled, ['9007199254740993']);
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
    const ledger = new WriteLedger({ maxRuns: 2 });
    ledger.record('f', 'r1', DB, 'orders', { inserted: 2 });
    ledger.record('f', 'r1', DB, 'orders', { updated: 1 });
    ledger.record('g', 'r1', DB, 'orders', { deleted: 1 });
    assert.deepEqual(ledger.take('f', 'r1'), [{ database: DB, collection: 'orders', inserted: 2, updated: 1, deleted: 0, upserted: 0 }]);
    assert.deepEqual(ledger.take('f', 'r1'), []);
    ledger.record('h', 'r2', DB, 'a', { inserted: 1 });
    ledger.record('h', 'r3', DB, 'a', { inserted: 1 });
    assert.deepEqual(ledger.take('g', 'r1'), [], 'the oldest run is dropped beyond the cap');
  });

  // Red team 3: a function names any run ids and collections it likes in its comments.
  it('a function\'s made-up run ids push out its own oldest runs, never another function\'s', () => {
    const ledger = new WriteLedger({ maxRuns: 10, maxRunsPerFunction: 4 });
    ledger.record('victim', 'real', DB, 'orders', { inserted: 1 });
    for (let i = 0; i < 100; i++) ledger.record('attacker', `fake-${i}`, DB, 'x', { deleted: 0 });
    assert.equal(ledger.size, 5);
    assert.deepEqual(ledger.peek('attacker', 'fake-95'), [], 'its oldest went first');
    assert.equal(ledger.peek('attacker', 'fake-99').length, 1);
    for (let f = 0; f < 3; f++) for (let i = 0; i < 4; i++) ledger.record(`attacker-${f}`, `fake-${i}`, DB, 'x', { deleted: 0 });
    assert.equal(ledger.size, 10, 'the global bound holds');
    assert.deepEqual(ledger.take('victim', 'real'), [{ database: DB, collection: 'orders', inserted: 1, updated: 0, deleted: 0, upserted: 0 }], 'the function holding the most runs lost them, not the victim');
  });

  it('lists at most maxCollectionsPerRun collections per run', () => {
    const ledger = new WriteLedger({ maxCollectionsPerRun: 3 });
    for (let i = 0; i < 50; i++) ledger.record('f', 'r', DB, `c${i}`, { deleted: 0 });
    ledger.record('f', 'r', DB, 'c0', { inserted: 2 });
    const writes = ledger.take('f', 'r');
    assert.deepEqual(writes.map((w) => w.collection), ['c0', 'c1', 'c2']);
    assert.equal(writes[0]!.inserted, 2, 'a listed collection still counts');
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

  it('keeps the grace of the last rotated credential only: rotations without end hold no more (red team round 7)', () => {
    const creds = new DataCredentials(() => 0);
    const grant = { functionKey: 'f', workspace: 'default', database: 'shop', physical: DB };
    const other = { ...grant, functionKey: 'g' };
    const kept = creds.credentialFor(other);
    const first = creds.credentialFor(grant);
    creds.rotate('f', 3_600_000);
    const second = creds.credentialFor(grant);
    assert.deepEqual(creds.check(first.user, first.password), grant, 'within its grace');
    creds.rotate('f', 3_600_000);
    creds.credentialFor(grant);
    assert.equal(creds.check(first.user, first.password), null, 'rotated out twice: ended');
    assert.deepEqual(creds.check(second.user, second.password), grant);
    // Before: one more entry per rotation and new instance, for good (10 002 here).
    for (let i = 0; i < 10_000; i++) {
      creds.rotate('f', 3_600_000);
      creds.credentialFor(grant);
    }
    assert.equal(creds.size, 3, 'the current one, the last rotated one, another function\'s');
    assert.deepEqual(creds.check(kept.user, kept.password), other);
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
