/**
 * The embedded queue (SQLite, <stateDir>/queue.db): the shared conformance suite, then what only
 * it promises: its own WAL file in the state directory, and a schema newer than the code refused.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ASYNC_DB_FILE, openSqliteAsyncRuns, openSqliteQueue, openSqliteTimeline } from '../../controlplane/async/index.js';
import { rejectsWithCode } from '../conformance/fixtures.js';
import { queueConformance } from '../conformance/queue-suite.js';

queueConformance('sqlite', async (options) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
  return {
    open: () => openSqliteQueue({ stateDir, ...options }),
    destroy: () => rm(stateDir, { recursive: true, force: true }),
  };
});

describe('sqlite queue', () => {
  it('keeps the async wing\'s WAL-mode file in the state directory', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const q = await openSqliteQueue({ stateDir });
    await q.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x') });
    assert.ok(existsSync(join(stateDir, ASYNC_DB_FILE)));
    assert.ok(existsSync(join(stateDir, `${ASYNC_DB_FILE}-wal`)));
    await q.close();
    const db = new Database(join(stateDir, ASYNC_DB_FILE), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('answers an idle claim without the write lock: a writer holding it does not make an empty claim wait or fail', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const q = await openSqliteQueue({ stateDir, busyTimeoutMs: 200 });
    t.after(() => q.close());
    await q.enqueue({ runId: 'later', function: 'f', payload: Buffer.from('x'), notBefore: Date.now() + 60_000 });
    const writer = new Database(join(stateDir, ASYNC_DB_FILE));
    writer.exec('BEGIN IMMEDIATE');
    try {
      // only a delayed job: nothing claimable (a claim that took the lock would fail SQLITE_BUSY after 200 ms)
      assert.deepEqual(await q.claim('c', 1), []);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
    await q.enqueue({ runId: 'now', function: 'f', payload: Buffer.from('y') });
    assert.deepEqual((await q.claim('c', 1)).map((j) => j.runId), ['now']);
  });

  it('adds the fingerprint column to an async.db from before it; a key kept without one matches any repeat', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const old = new Database(join(stateDir, ASYNC_DB_FILE));
    old.exec('CREATE TABLE idempotency (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, expires_at INTEGER NOT NULL)');
    old.prepare('INSERT INTO idempotency VALUES (?, ?, ?)').run('f k', 'old-run', Date.now() + 60_000);
    old.pragma('user_version = 1');
    old.close();
    const q = await openSqliteQueue({ stateDir });
    t.after(() => q.close());
    assert.deepEqual(await q.enqueue({ runId: 'r2', function: 'f', payload: Buffer.from('x'), idempotencyKey: 'f k', fingerprint: 'sha256:a' }), { runId: 'old-run', created: false });
    assert.deepEqual(await q.enqueue({ runId: 'r3', function: 'f', payload: Buffer.from('x'), idempotencyKey: 'f k2', fingerprint: 'sha256:a' }), { runId: 'r3', created: true });
    assert.deepEqual(await q.enqueue({ runId: 'r4', function: 'f', payload: Buffer.from('y'), idempotencyKey: 'f k2', fingerprint: 'sha256:b' }), { runId: 'r3', created: false, mismatch: true });
  });

  it('refuses a queue file written by a newer platform', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const db = new Database(join(stateDir, ASYNC_DB_FILE));
    db.pragma('user_version = 99');
    db.close();
    await rejectsWithCode(openSqliteQueue({ stateDir }), 'QUEUE_INVALID');
  });

  it('merges the separate files of an older platform (queue.db, timeline.db, async-runs.db) once, losing no run', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const legacy = (file: string, sql: string): void => {
      const db = new Database(join(stateDir, file));
      db.pragma('journal_mode = WAL');
      db.exec(sql);
      db.close();
    };
    legacy('queue.db', `CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, function TEXT NOT NULL,
      payload BLOB NOT NULL, attempt INTEGER NOT NULL, not_before INTEGER NOT NULL, ready_at INTEGER NOT NULL, enqueued_at INTEGER NOT NULL,
      idempotency_key TEXT, consumer TEXT, lease_until INTEGER, deliveries INTEGER NOT NULL DEFAULT 0, token TEXT);
      CREATE TABLE idempotency (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
      CREATE TABLE dead (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, function TEXT NOT NULL, payload BLOB NOT NULL,
      attempt INTEGER NOT NULL, enqueued_at INTEGER NOT NULL, idempotency_key TEXT, reason TEXT NOT NULL, dead_at INTEGER NOT NULL);
      INSERT INTO jobs (run_id, function, payload, attempt, not_before, ready_at, enqueued_at) VALUES ('old-run', 'f', x'6869', 1, 0, 0, 0);`);
    legacy('timeline.db', `CREATE TABLE transitions (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, state TEXT NOT NULL, at INTEGER NOT NULL, detail TEXT);
      CREATE TABLE attempts (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, attempt INTEGER NOT NULL, started_at INTEGER NOT NULL,
      duration_ms REAL NOT NULL, cold INTEGER NOT NULL, status TEXT NOT NULL, error_code TEXT, error_class TEXT, error TEXT);
      INSERT INTO transitions (run_id, state, at) VALUES ('old-run', 'queued', 5);`);
    legacy('async-runs.db', `CREATE TABLE async_runs (run_id TEXT PRIMARY KEY, function TEXT NOT NULL, accepted_at INTEGER NOT NULL, replay_of TEXT,
      result_status INTEGER, result_headers TEXT, result_body BLOB, result_attempt INTEGER, trigger TEXT);
      INSERT INTO async_runs (run_id, function, accepted_at, trigger) VALUES ('old-run', 'f', 5, 'cron');`);
    const q = await openSqliteQueue({ stateDir });
    t.after(() => q.close());
    const [job] = await q.claim('c1', 5);
    assert.deepEqual([job?.runId, Buffer.from(job!.payload).toString()], ['old-run', 'hi']);
    const timeline = await openSqliteTimeline({ stateDir });
    t.after(() => timeline.close());
    assert.deepEqual((await timeline.get('old-run'))?.transitions.map((x) => x.state), ['queued']);
    const runs = await openSqliteAsyncRuns({ stateDir });
    t.after(() => runs.close());
    assert.equal((await runs.get('old-run'))?.trigger, 'cron');
    for (const file of ['queue.db', 'timeline.db', 'async-runs.db']) {
      assert.equal(existsSync(join(stateDir, file)), false, `${file} still in use`);
      assert.ok(existsSync(join(stateDir, `${file}.migrated`)), `${file} kept as .migrated`);
    }
  });
});

/**
 * Wall-clock steps (reliability round 9, measured with libfaketime on a real platform: a retry
 * scheduled 1 s ahead before the clock stepped back an hour waited the hour; a step forward past
 * the lease ran each attempt in flight a second time at once). The queue's wall clock and a
 * monotonic one are injected here: the wall clock steps, the monotonic one goes on.
 */
describe('sqlite queue, the wall clock stepping', () => {
  async function clockedQueue(t: { after: (fn: () => Promise<void>) => void }) {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-clock-'));
    const clock = { wall: 1_800_000_000_000, mono: 1_000 };
    const q = await openSqliteQueue({ stateDir, now: () => clock.wall, monotonic: () => clock.mono });
    t.after(async () => {
      await q.close();
      await rm(stateDir, { recursive: true, force: true });
    });
    /** Real time passing: both clocks. */
    const pass = (ms: number): void => {
      clock.wall += ms;
      clock.mono += ms;
    };
    return { q, clock, pass };
  }

  it('a retry due in 1 s before the clock steps back an hour is claimed 1 s later, not an hour later', async (t) => {
    const { q, clock, pass } = await clockedQueue(t);
    await q.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x') });
    const [job] = await q.claim('c1', 1);
    await q.nack({ runId: 'r1', consumer: 'c1', token: job!.token }, clock.wall + 1_000);
    clock.wall -= 3_600_000; // stepped back
    pass(500);
    assert.deepEqual(await q.claim('c1', 1), [], 'not due yet');
    pass(600);
    const [again] = await q.claim('c1', 1);
    assert.equal(again?.runId, 'r1', 'the retry is claimed once its 1 s has passed');
    assert.equal(again?.attempt, 2);
  });

  it('a step forward past the lease does not hand an attempt in flight to another consumer', async (t) => {
    const { q, clock, pass } = await clockedQueue(t);
    await q.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x') });
    const [job] = await q.claim('c1', 1);
    assert.equal(job?.runId, 'r1');
    clock.wall += 3_600_000; // stepped forward
    pass(1_000);
    assert.deepEqual(await q.claim('c2', 1), [], 'the lease still holds');
    await q.extend({ runId: 'r1', consumer: 'c1', token: job!.token });
    await q.ack({ runId: 'r1', consumer: 'c1', token: job!.token });
    assert.deepEqual(await q.stats(), { delayed: 0, ready: 0, leased: 0, dead: 0 });
  });

  it('a step seen while another process holds the file\'s lock is applied at the next claim', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-queue-clock-'));
    const clock = { wall: 1_800_000_000_000, mono: 1_000 };
    const q = await openSqliteQueue({ stateDir, now: () => clock.wall, monotonic: () => clock.mono, busyTimeoutMs: 50 });
    const other = new Database(join(stateDir, ASYNC_DB_FILE));
    t.after(async () => {
      other.close();
      await q.close();
      await rm(stateDir, { recursive: true, force: true });
    });
    await q.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x') });
    const [job] = await q.claim('c1', 1);
    await q.nack({ runId: 'r1', consumer: 'c1', token: job!.token }, clock.wall + 1_000);
    clock.wall -= 3_600_000;
    clock.wall += 1_100;
    clock.mono += 1_100;
    other.exec('BEGIN IMMEDIATE');
    await assert.rejects(q.claim('c1', 1), (err: unknown) => (err as { code?: string }).code === 'SQLITE_BUSY');
    other.exec('ROLLBACK');
    assert.equal((await q.claim('c1', 1))[0]?.runId, 'r1', 'the step was not lost with the failed claim');
  });

  it('a lease still expires after its time when nothing steps', async (t) => {
    const { q, pass } = await clockedQueue(t);
    await q.enqueue({ runId: 'r1', function: 'f', payload: Buffer.from('x') });
    assert.equal((await q.claim('c1', 1))[0]?.runId, 'r1');
    pass(29_000);
    assert.deepEqual(await q.claim('c2', 1), []);
    pass(2_000);
    assert.equal((await q.claim('c2', 1))[0]?.runId, 'r1', 'redelivered after the lease');
  });
});
