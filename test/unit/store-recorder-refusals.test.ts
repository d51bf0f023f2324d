/**
 * A record the store refuses for what it holds (not an outage) neither holds nor loses any other
 * (ADR 0173): the recorder splits the refused batch down to it, writes the rest at once, writes it
 * reduced, or drops it alone, counted. An outage is still retried as the same batch for ever.
 * The classifier (controlplane/store/refusal.ts), the reduced form and the production store's
 * shaping (`storable`) are here too; the real stores' answers: test/integration/run-sink-refusals.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferedRecorder, RecordingRunSink, SampleRecorder, type DropReason, type RunStore } from '../../controlplane/store/index.js';
import { storable } from '../../controlplane/store/production/runs.js';
import { REDUCED_ERROR_TYPE, REDUCED_RUN_LINE, reducedRun } from '../../controlplane/store/reduced-run.js';
import { isRefusal } from '../../controlplane/store/refusal.js';
import type { RunSample } from '../../controlplane/store/metrics/types.js';
import { FaultLog, sinkRefusals } from '../../controlplane/fault-log.js';
import type { RunRecord } from '../../protocol/index.js';
import { run } from '../conformance/fixtures.js';

/** What MongoDB and FerretDB answer for a document they cannot hold (an invalid key, ±Infinity, a nested array). */
const badValue = (): Error => Object.assign(new Error('invalid value: { "ts": +Inf } (infinity values are not allowed)'), { name: 'MongoBulkWriteError', code: 2, writeErrors: [{ code: 2, index: 0, errmsg: 'infinity values are not allowed' }] });
/** A long backoff: a test that finishes fast proves a refusal waited for none. */
const slowRetry = { retryBaseMs: 60_000, retryMaxMs: 60_000 };

describe('BufferedRecorder: a refused record', () => {
  it('is split out of its batch: the others are written at once, it is written reduced, nothing waits for a backoff', async () => {
    const written: string[][] = [];
    const ids: string[] = [];
    const refusals: [number, string][] = [];
    const rec = new BufferedRecorder<string>({
      ...slowRetry,
      batchSize: 8,
      refused: isRefusal,
      reduce: (item) => `${item}:reduced`,
      write: async (batch, id) => {
        ids.push(id);
        if (batch.includes('poison')) throw badValue();
        written.push([...batch]);
      },
      onRefuse: (_err, count, action) => refusals.push([count, action]),
    });
    for (const item of ['a', 'b', 'c', 'poison', 'd', 'e', 'f', 'g']) rec.record(item);
    assert.equal(await rec.flush(2000), true, 'written without any backoff');
    assert.deepEqual(written.flat().sort(), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'poison:reduced']);
    assert.deepEqual(refusals, [[8, 'split'], [4, 'split'], [2, 'split'], [1, 'reduced']]);
    assert.equal(new Set(ids).size, ids.length, 'every part has a batch id of its own');
    const stats = rec.stats();
    assert.deepEqual([stats.written, stats.reduced, stats.refusedWrites, stats.dropped, stats.consecutiveFailures], [8, 1, 4, 0, 0]);
  });

  it('is dropped alone, counted `refused`, when its reduced form is refused too; records behind it are written', async () => {
    const written: string[] = [];
    const drops: [number, DropReason][] = [];
    const rec = new BufferedRecorder<string>({
      ...slowRetry,
      batchSize: 4,
      refused: isRefusal,
      reduce: (item) => `${item}!`,
      write: async (batch) => {
        if (batch.some((item) => item.startsWith('poison'))) throw badValue();
        written.push(...batch);
      },
      onDrop: (n, reason) => drops.push([n, reason]),
    });
    for (const item of ['a', 'poison', 'b', 'c', 'd', 'poison2', 'e']) rec.record(item);
    assert.equal(await rec.flush(2000), true);
    assert.deepEqual(written.sort(), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(drops, [[1, 'refused'], [1, 'refused']]);
    assert.equal(rec.stats().droppedByReason.refused, 2);
  });

  it('an outage (anything not a refusal) is still retried as the same batch with the same id, nothing split or dropped', async () => {
    const attempts: { batch: string[]; id: string }[] = [];
    let failures = 3;
    const rec = new BufferedRecorder<string>({
      retryBaseMs: 5, retryMaxMs: 10,
      batchSize: 4,
      refused: isRefusal,
      reduce: (item) => `${item}!`,
      write: async (batch, id) => {
        attempts.push({ batch: [...batch], id });
        // What the driver says when FerretDB closes the connection, or PostgreSQL is down.
        if (failures-- > 0) throw Object.assign(new Error('connection 11 to 127.0.0.1:27017 closed'), { name: 'MongoNetworkError' });
      },
    });
    for (const item of ['a', 'b', 'c']) rec.record(item);
    assert.equal(await rec.flush(2000), true);
    assert.equal(attempts.length, 4);
    assert.ok(attempts.every((a) => a.id === attempts[0]!.id && a.batch.join() === 'a,b,c'));
    const stats = rec.stats();
    assert.deepEqual([stats.written, stats.reduced, stats.refusedWrites, stats.dropped, stats.failedWrites], [3, 0, 0, 0, 3]);
  });

  it('an outage met while isolating a refused record retries that part, then goes on isolating', async () => {
    const written: string[] = [];
    let outage = 0;
    const rec = new BufferedRecorder<string>({
      retryBaseMs: 5, retryMaxMs: 10,
      batchSize: 4,
      refused: isRefusal,
      write: async (batch) => {
        if (batch.length === 2 && outage++ < 2) throw new Error('write timed out after 10000 ms');
        if (batch.includes('poison')) throw badValue();
        written.push(...batch);
      },
    });
    for (const item of ['a', 'b', 'poison', 'c']) rec.record(item);
    assert.equal(await rec.flush(2000), true);
    assert.deepEqual(written.sort(), ['a', 'b', 'c']);
    assert.equal(rec.stats().droppedByReason.refused, 1, 'no reduce given: the refused record alone is dropped');
  });

  it('a record waiting in a split part is still found by reads (GET /runs/:id looks in the buffer)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const rec = new BufferedRecorder<string>({
      ...slowRetry,
      batchSize: 4,
      refused: isRefusal,
      write: async (batch) => {
        if (batch.includes('poison')) throw badValue();
        await gate;
      },
    });
    for (const item of ['a', 'b', 'poison', 'c']) rec.record(item);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(rec.find((item) => item === 'c'), 'c');
    assert.deepEqual(rec.filter((item) => item !== 'poison').sort(), ['a', 'b', 'c']);
    assert.equal(rec.stats().inFlight, 4, 'both parts held ([a, b] being written, [poison, c] next) count as in flight');
    release();
    assert.equal(await rec.flush(2000), true);
  });
});

describe('SampleRecorder: a refused batch of samples', () => {
  it('is split by function-minute: only the refused one is dropped', async () => {
    const written: string[] = [];
    const sample = (fn: string, minute: number): RunSample => ({ function: fn, runId: `${fn}-${minute}`, startedAt: minute * 60_000 + 1, durationMs: 1, status: 'succeeded', cold: false });
    const rec = new SampleRecorder({
      ...slowRetry,
      refused: isRefusal,
      write: async (batch) => {
        const minutes = [...batch.minutes()].map((m) => m.function);
        if (minutes.includes('bad.fn')) throw badValue();
        written.push(...minutes);
      },
    });
    for (const fn of ['a.fn', 'b.fn', 'bad.fn', 'c.fn', 'd.fn']) rec.record(sample(fn, 1000));
    assert.equal(await rec.flush(2000), true);
    assert.deepEqual(written.sort(), ['a.fn', 'b.fn', 'c.fn', 'd.fn']);
    assert.equal(rec.stats().droppedByReason.refused, 1);
  });
});

describe('RecordingRunSink: one workspace\'s refused record', () => {
  it('holds no other workspace\'s records: they are stored, it is stored reduced, and told', async () => {
    const stored = new Map<string, RunRecord>();
    const runs: RunStore = {
      record: async (batch: readonly RunRecord[]) => {
        // A store that cannot hold a field of one record (here: a log line's key), like FerretDB's `.`.
        if (batch.some((r) => r.logs.some((l) => 'a.b' in l))) throw badValue();
        for (const r of batch) stored.set(r.runId, r);
      },
    } as unknown as RunStore;
    const told: string[] = [];
    const sink = new RecordingRunSink({ runs, tuning: { ...slowRetry, batchSize: 50 }, onRefuse: (target, _err, count, action) => told.push(`${target}:${count}:${action}`) });
    const poison = run({ function: 'evil.fn', status: 'failed', error: { type: 'Evil', message: 'secret text' }, logs: [{ ts: 1, stream: 'stdout', msg: 'x', 'a.b': 1 } as never] });
    const victims = Array.from({ length: 9 }, (_, i) => run({ function: `ws${i}.hello` }));
    sink.record(victims[0]!);
    sink.record(poison);
    for (const v of victims.slice(1)) sink.record(v);
    assert.equal(await sink.flush(2000), true);
    for (const v of victims) assert.deepEqual(stored.get(v.runId), v);
    const kept = stored.get(poison.runId);
    assert.equal(kept?.status, 'failed');
    assert.equal(kept?.function, 'evil.fn');
    assert.equal(kept?.error?.type, REDUCED_ERROR_TYPE);
    assert.deepEqual(kept?.logs.map((l) => l.msg), [REDUCED_RUN_LINE]);
    assert.ok(told.includes('runs:1:reduced'), told.join());
    assert.equal(sink.stats().runs.reduced, 1);
    assert.equal(sink.droppedByReason().runs_refused, 0);
  });
});

describe('isRefusal', () => {
  const cases: [string, unknown, boolean][] = [
    ['FerretDB BadValue (invalid key, ±Infinity, nested array)', badValue(), true],
    ['MongoDB DottedFieldName', Object.assign(new Error('x'), { name: 'MongoServerError', code: 57 }), true],
    ['MongoDB BSONObjectTooLarge', Object.assign(new Error('x'), { name: 'MongoServerError', code: 10334 }), true],
    ['FerretDB on PostgreSQL: NUL in jsonb (SQLSTATE 22P05)', Object.assign(new Error('ERROR: unsupported Unicode escape sequence (SQLSTATE 22P05)'), { name: 'MongoServerError', code: 1 }), true],
    ['FerretDB on PostgreSQL: index row too big (SQLSTATE 54000)', Object.assign(new Error('index row requires 9000 bytes (SQLSTATE 54000)'), { name: 'MongoServerError', code: 1 }), true],
    ['a BSON document over 16 MiB (the serializer\'s buffer)', Object.assign(new RangeError('The value of "offset" is out of range.'), { code: 'ERR_OUT_OF_RANGE' }), true],
    ['nesting too deep', new RangeError('Maximum call stack size exceeded'), true],
    ['a BigInt for SQLite\'s JSON', new TypeError('Do not know how to serialize a BigInt'), true],
    ['SQLite: too big', Object.assign(new Error('string or blob too big'), { name: 'SqliteError', code: 'SQLITE_TOOBIG' }), true],
    ['duplicates only (the store replaces those)', Object.assign(new Error('dup'), { code: 11000, writeErrors: [{ code: 11000, index: 0 }] }), false],
    ['a duplicate and a refusal', Object.assign(new Error('x'), { code: 11000, writeErrors: [{ code: 11000, index: 0 }, { code: 2, index: 1 }] }), true],
    ['a bulk write closed with no write errors (FerretDB closing on a NaN, a network error)', Object.assign(new Error('connection 11 to 127.0.0.1:34602 closed'), { name: 'MongoBulkWriteError', writeErrors: [] }), false],
    ['FerretDB on PostgreSQL: PostgreSQL down', Object.assign(new Error('failed to connect to `host=127.0.0.1` (SQLSTATE 08006)'), { name: 'MongoServerError', code: 1 }), false],
    ['FerretDB InternalError of another kind', Object.assign(new Error('something else'), { name: 'MongoServerError', code: 1 }), false],
    ['the store unavailable', Object.assign(new Error('the store (MongoDB) did not answer'), { name: 'StoreError', code: 'STORE_UNAVAILABLE' }), false],
    ['SQLite busy', Object.assign(new Error('database is locked'), { name: 'SqliteError', code: 'SQLITE_BUSY' }), false],
    ['SQLite disk full', Object.assign(new Error('full'), { name: 'SqliteError', code: 'SQLITE_FULL' }), false],
    ['a write timeout', new Error('write timed out after 10000 ms'), false],
    ['Redis out of memory', Object.assign(new Error('OOM command not allowed'), { name: 'ReplyError' }), false],
    ['not an error', 'boom', false],
  ];
  for (const [what, err, expected] of cases) it(`${expected ? 'refusal' : 'outage'}: ${what}`, () => assert.equal(isRefusal(err), expected));
});

describe('the reduced form and the production store\'s shaping', () => {
  it('reducedRun keeps what the platform measured, leaves out what the function wrote, and is marked', () => {
    const r = run({ function: 'ws.fn', status: 'failed', httpStatus: 500, errorCode: 'FUNCTION_ERROR', errorClass: 'user_error', error: { type: 'X\u0000', message: 'y', stack: 's', file: 'f', line: 1 }, path: '/p\u0000', method: 'GET', durationMs: NaN, logs: [{ ts: 1, stream: 'stdout', msg: 'secret' }], writes: [{ database: 'd', collection: 'c', inserted: 1, updated: 0, deleted: 0, upserted: 0 }] });
    const reduced = reducedRun(r);
    assert.deepEqual([reduced.runId, reduced.function, reduced.status, reduced.httpStatus, reduced.errorCode, reduced.errorClass, reduced.startedAt, reduced.durationMs], [r.runId, 'ws.fn', 'failed', 500, 'FUNCTION_ERROR', 'user_error', r.startedAt, 0]);
    assert.equal(reduced.error?.type, REDUCED_ERROR_TYPE);
    assert.deepEqual(reduced.logs.map((l) => [l.stream, l.msg]), [['platform', REDUCED_RUN_LINE]]);
    assert.equal(reduced.path, undefined);
    assert.equal(reduced.method, undefined);
    assert.equal(reduced.writes, undefined);
    assert.doesNotMatch(JSON.stringify(reduced), /secret|\\u0000/);
  });

  it('storable: NUL becomes U+FFFD, NaN and ±Infinity null, everything else is kept as it is (the same object when clean)', () => {
    const clean = run();
    assert.equal(storable(clean), clean);
    const dirty = run({ durationMs: NaN, logs: [{ ts: Infinity, stream: 'stdout', msg: 'a\u0000b' }, { ts: -Infinity, stream: 'stdout', msg: 'ok' }], error: { type: 'E', message: 'm', line: 1e300 } });
    const out = storable(dirty);
    assert.equal(out.durationMs, null);
    assert.deepEqual(out.logs.map((l) => [l.ts, l.msg]), [[null, 'a\uFFFDb'], [null, 'ok']]);
    assert.equal(out.error?.line, 1e300, 'a huge finite number is kept');
    assert.ok(Number.isNaN(dirty.durationMs), 'the record itself is not changed');
  });
});

describe('the operator\'s log of refusals', () => {
  it('a split says nothing; a reduced or dropped record is told once per kind an interval, without the record\'s text in the kind', () => {
    const lines: string[] = [];
    const faults = new FaultLog((line) => lines.push(line), { intervalMs: 60_000 });
    const told = sinkRefusals(faults);
    told('runs', badValue(), 8, 'split');
    assert.deepEqual(lines, []);
    told('runs', badValue(), 1, 'reduced');
    told('runs', Object.assign(new Error('another document, other words'), { code: 2 }), 1, 'reduced');
    told('history', badValue(), 1, 'dropped');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^controlplane: the store refused one of the run records as it was; it was written reduced .*nothing else waits for it: invalid value/);
    assert.match(lines[1]!, /usage rollups .* dropped \(even its reduced form was refused\)/);
    faults.close();
    assert.match(lines[2] ?? '', /1 more/);
  });
});

