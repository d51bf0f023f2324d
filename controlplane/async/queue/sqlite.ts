/**
 * The embedded queue, in the async wing's SQLite file (`<stateDir>/async.db`, ../sqlite-db.ts:
 * WAL, synchronous=FULL so a resolved enqueue survives a power loss), apart from platform.db so
 * queue churn never contends with the store. Every change is one IMMEDIATE transaction, so two
 * processes (or two connections) sharing the file never lease the same job twice; inside another
 * transaction (accepting a run: ../sqlite-async.ts) it is a savepoint of it.
 * Why: docs/adr/0007-async-queue.md.
 */
import { randomBytes } from 'node:crypto';
import type { Database as Db, Statement } from 'better-sqlite3';
import { openAsyncDb } from '../sqlite-db.js';
// A job's workspace in SQL, as `workspaceOfKey` reads a function key (one dot at most).
import { WORKSPACE_OF_KEY_SQL } from '../sqlite-schema.js';
import { workspaceOfKey } from '../../../protocol/index.js';
import { ClockSteps } from './clock-steps.js';
import { QueueError } from './errors.js';
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS, DEFAULT_LEASE_MS, DEFAULT_LIST_LIMIT,
  type CancelResult, type ClaimedJob, type ClaimOptions, type DeadLetter, type DeadLetterInfo, type EnqueueResult,
  type FunctionQueueStats, type Job, type JobInfo, type Lease, type NewJob, type Queue, type QueueOptions, type QueueStats,
} from './types.js';
import { checkJob, checkMax, positiveMs } from './validate.js';



/** What a claim passes over (ClaimOptions, defaults filled in). */
interface Skip {
  workspaces: readonly string[];
  functions: readonly string[];
}

export interface SqliteQueueOptions extends QueueOptions, QueueClock {
  /** The state directory; created when missing. */
  stateDir: string;
  now?: () => number;
  busyTimeoutMs?: number;
}

/** A clock for the queue: the wall clock (`now`), and a monotonic one to tell its steps (clock-steps.ts). */
export interface QueueClock {
  now?: () => number;
  /** With `now` injected, steps are followed only when this is too (tests move `now` on purpose). */
  monotonic?: () => number;
}

interface JobRow {
  run_id: string;
  function: string;
  payload?: Buffer;
  payload_bytes: number;
  attempt: number;
  not_before: number;
  enqueued_at: number;
  idempotency_key: string | null;
  consumer: string | null;
  lease_until: number | null;
  deliveries: number;
  token: string | null;
}

const INFO_COLUMNS = `run_id, function, length(payload) AS payload_bytes, attempt, not_before, enqueued_at,
  idempotency_key, consumer, lease_until, deliveries, token`;

export async function openSqliteQueue(options: SqliteQueueOptions): Promise<Queue> {
  const db = await openAsyncDb(options.stateDir, options.busyTimeoutMs);
  return sqliteQueueOn(db, options, true);
}

/** The queue on an open async.db connection; `ownsDb`: close() closes the connection. */
export function sqliteQueueOn(db: Db, options: QueueOptions & QueueClock, ownsDb: boolean): SqliteQueue {
  const leaseMs = positiveMs(options.leaseMs, DEFAULT_LEASE_MS, 'leaseMs');
  const windowMs = positiveMs(options.idempotencyWindowMs, DEFAULT_IDEMPOTENCY_WINDOW_MS, 'idempotencyWindowMs');
  const now = options.now ?? Date.now;
  const steps = options.now === undefined ? new ClockSteps(now, () => performance.now())
    : options.monotonic === undefined ? null : new ClockSteps(now, options.monotonic);
  return new SqliteQueue(db, now, leaseMs, windowMs, ownsDb, steps);
}

function info(row: JobRow, now: number): JobInfo {
  const leased = row.consumer !== null;
  return {
    runId: row.run_id,
    function: row.function,
    attempt: row.attempt,
    notBefore: row.not_before,
    enqueuedAt: row.enqueued_at,
    idempotencyKey: row.idempotency_key,
    state: leased ? 'leased' : row.not_before > now ? 'delayed' : 'ready',
    consumer: row.consumer,
    deliveries: row.deliveries,
    payloadBytes: row.payload_bytes,
  };
}

export class SqliteQueue implements Queue {
  private closed = false;
  /** The read that spares an idle claim its write transaction (claim); prepared once. */
  private claimable: [ready: Statement, expired: Statement] | null = null;

  constructor(
    private readonly db: Db,
    private readonly now: () => number,
    private readonly leaseMs: number,
    private readonly windowMs: number,
    private readonly ownsDb: boolean,
    private readonly steps: ClockSteps | null = null,
  ) {}

  private check(): void {
    if (this.closed) throw new QueueError('QUEUE_CLOSED', 'the queue is closed');
  }

  /**
   * The wall clock, once the stored times have moved by the step it made since the last look
   * (clock-steps.ts): every time the queue writes or compares goes through here first.
   */
  private time(): number {
    const step = this.steps?.step() ?? 0;
    if (step !== 0) {
      try {
        this.db.transaction(() => {
          this.db.prepare('UPDATE jobs SET not_before = not_before + @step, ready_at = ready_at + @step, lease_until = lease_until + @step').run({ step });
          this.db.prepare('UPDATE idempotency SET expires_at = expires_at + @step').run({ step });
        }).immediate();
      } catch (err) {
        this.steps!.unseen(step); // not lost: moved at the next look
        throw err;
      }
    }
    return this.now();
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction (takes the write lock first: no upgrade deadlocks). */
  private tx<T>(fn: () => T): T {
    this.check();
    return this.db.transaction(fn).immediate();
  }

  async enqueue(job: NewJob): Promise<EnqueueResult> {
    return this.enqueueSync(job);
  }

  /** enqueue, synchronously (to run inside the transaction that accepts a run). */
  enqueueSync(job: NewJob): EnqueueResult {
    checkJob(job);
    return this.tx(() => {
      const now = this.time();
      if (job.idempotencyKey !== undefined) {
        this.db.prepare('DELETE FROM idempotency WHERE expires_at <= ?').run(now);
        const seen = this.db.prepare('SELECT run_id, fingerprint FROM idempotency WHERE key = ?').get(job.idempotencyKey) as
          { run_id: string; fingerprint: string | null } | undefined;
        if (seen) {
          const differs = job.fingerprint !== undefined && seen.fingerprint !== null && seen.fingerprint !== job.fingerprint;
          return differs ? { runId: seen.run_id, created: false, mismatch: true } : { runId: seen.run_id, created: false };
        }
      }
      if (this.db.prepare('SELECT 1 FROM jobs WHERE run_id = ?').get(job.runId)) {
        throw new QueueError('QUEUE_RUN_EXISTS', 'this run is queued already', { runId: job.runId });
      }
      const notBefore = job.notBefore ?? now;
      this.db
        .prepare(`INSERT INTO jobs (run_id, function, payload, attempt, not_before, ready_at, enqueued_at, idempotency_key)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(job.runId, job.function, Buffer.from(job.payload), job.attempt ?? 1, notBefore, Math.max(notBefore, now), Math.max(now, job.bornAt ?? now), job.idempotencyKey ?? null);
      if (job.idempotencyKey !== undefined) {
        this.db.prepare('INSERT INTO idempotency (key, run_id, expires_at, fingerprint) VALUES (?, ?, ?, ?)')
          .run(job.idempotencyKey, job.runId, now + this.windowMs, job.fingerprint ?? null);
      }
      return { runId: job.runId, created: true };
    });
  }

  async claim(consumer: string, max: number, options: ClaimOptions = {}): Promise<ClaimedJob[]> {
    checkMax(max);
    const skip: Skip = { workspaces: options.skipWorkspaces ?? [], functions: options.skipFunctions ?? [] };
    // Every idle dispatcher worker claims every poll (200 ms): when nothing is claimable, a read
    // answers without the write lock, a transaction or compiling SQL (an idle platform spent ~3 ms
    // of CPU a second, and its garbage, on empty claims). A job that arrives right after is
    // claimed at the next poll, as if it had arrived after the claim.
    this.check();
    const at = this.time();
    this.claimable ??= [
      this.db.prepare('SELECT 1 FROM jobs WHERE ready_at <= ? AND consumer IS NULL LIMIT 1'),
      this.db.prepare('SELECT 1 FROM jobs WHERE lease_until <= ? AND consumer IS NOT NULL LIMIT 1'),
    ];
    if (this.claimable[0].get(at) === undefined && this.claimable[1].get(at) === undefined) return [];
    return this.tx(() => {
      const now = this.now();
      // Expired leases first (as Redis's XAUTOCLAIM comes before XREADGROUP), then ready jobs in order.
      // Skipped workspaces' and functions' jobs stay where they are, a dead consumer's too (a key is
      // `name` in `default`, else `name.workspace`: protocol/function-key.ts). Each part reads an index in
      // order and stops at `max` (red team 10: one query ordered by `consumer IS NULL` sorted
      // every ready job on each claim, ~60 ms for 300 000 queued, on the event loop).
      const rows = [...this.expiredLeases(now, skip, max)];
      if (rows.length < max) rows.push(...this.readyJobs(now, skip, max - rows.length));
      const lease = this.db.prepare(`UPDATE jobs SET consumer = ?, lease_until = ?, deliveries = deliveries + 1, token = ?
        WHERE seq = ? RETURNING ${INFO_COLUMNS}, payload`);
      return rows.map(({ seq }) => {
        const row = lease.get(consumer, now + this.leaseMs, randomBytes(9).toString('base64url'), seq) as JobRow;
        return { ...info(row, now), state: 'leased', consumer, payload: row.payload!, token: row.token! };
      });
    });
  }

  /** Leases past their time, oldest in queue order first: few (one per claim in flight), by the lease index. */
  private expiredLeases(now: number, skip: Skip, max: number): { seq: number }[] {
    const marks = (list: readonly string[]): string => list.map(() => '?').join(', ');
    const skipped = (skip.workspaces.length === 0 ? '' : ` AND ${WORKSPACE_OF_KEY_SQL} NOT IN (${marks(skip.workspaces)})`)
      + (skip.functions.length === 0 ? '' : ` AND function NOT IN (${marks(skip.functions)})`);
    return this.db.prepare(`SELECT seq FROM jobs INDEXED BY jobs_lease WHERE lease_until <= ? AND consumer IS NOT NULL${skipped}
      ORDER BY ready_at, seq LIMIT ?`).all(now, ...skip.workspaces, ...skip.functions, max) as { seq: number }[];
  }

  /**
   * Ready jobs in queue order. Without anything skipped, the queue-order index read from its
   * start. With skipped workspaces, the head of each other workspace's ready jobs (by the workspace
   * index: its workspaces found by a loose index scan, one step each), merged; with skipped
   * functions, the same by function (the function index). A skipped backlog is never read through.
   */
  private readyJobs(now: number, skip: Skip, max: number): { seq: number }[] {
    if (skip.workspaces.length === 0 && skip.functions.length === 0) {
      return this.db.prepare('SELECT seq FROM jobs WHERE consumer IS NULL AND ready_at <= ? ORDER BY ready_at, seq LIMIT ?').all(now, max) as { seq: number }[];
    }
    // By function when functions are skipped (a workspace skipped passes over its functions), else by workspace.
    const byFunction = skip.functions.length > 0;
    const part = byFunction ? 'function' : WORKSPACE_OF_KEY_SQL;
    const parts = (this.db.prepare(`WITH RECURSIVE w(k) AS (
        SELECT (SELECT min(${part}) FROM jobs WHERE consumer IS NULL)
        UNION ALL
        SELECT (SELECT min(${part}) FROM jobs WHERE consumer IS NULL AND ${part} > w.k) FROM w WHERE w.k IS NOT NULL
      ) SELECT k FROM w WHERE k IS NOT NULL`).all() as { k: string }[]).map((r) => r.k)
      .filter((k) => byFunction ? !skip.functions.includes(k) && !skip.workspaces.includes(workspaceOfKey(k)) : !skip.workspaces.includes(k));
    const head = this.db.prepare(`SELECT seq, ready_at FROM jobs WHERE ${part} = ? AND consumer IS NULL AND ready_at <= ?
      ORDER BY ready_at, seq LIMIT ?`);
    const found: { seq: number; ready_at: number }[] = [];
    for (const k of parts) found.push(...(head.all(k, now, max) as { seq: number; ready_at: number }[]));
    return found.sort((a, b) => a.ready_at - b.ready_at || a.seq - b.seq).slice(0, max);
  }

  /** The row of a lease still held, or QUEUE_LEASE_LOST. */
  private held(lease: Lease): JobRow {
    const row = this.db.prepare(`SELECT ${INFO_COLUMNS}, payload FROM jobs WHERE run_id = ?`).get(lease.runId) as JobRow | undefined;
    if (!row || row.consumer !== lease.consumer || row.token !== lease.token) {
      throw new QueueError('QUEUE_LEASE_LOST', 'the lease is no longer held', { runId: lease.runId });
    }
    return row;
  }

  async ack(lease: Lease): Promise<void> {
    this.tx(() => {
      this.held(lease);
      this.db.prepare('DELETE FROM jobs WHERE run_id = ?').run(lease.runId);
    });
  }

  async nack(lease: Lease, notBefore: number): Promise<void> {
    this.tx(() => {
      const row = this.held(lease);
      const now = this.time();
      // A new seq puts the retry behind the jobs already waiting, as a new stream entry does in Redis.
      this.db.prepare('DELETE FROM jobs WHERE run_id = ?').run(lease.runId);
      this.db
        .prepare(`INSERT INTO jobs (run_id, function, payload, attempt, not_before, ready_at, enqueued_at, idempotency_key)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(row.run_id, row.function, row.payload, row.attempt + 1, notBefore, Math.max(notBefore, now), row.enqueued_at, row.idempotency_key);
    });
  }

  async extend(lease: Lease): Promise<void> {
    this.tx(() => {
      this.held(lease);
      this.db.prepare('UPDATE jobs SET lease_until = ? WHERE run_id = ?').run(this.time() + this.leaseMs, lease.runId);
    });
  }

  async deadLetter(lease: Lease, reason: string): Promise<void> {
    this.tx(() => {
      const row = this.held(lease);
      this.db.prepare('DELETE FROM jobs WHERE run_id = ?').run(lease.runId);
      this.db
        .prepare(`INSERT OR REPLACE INTO dead (run_id, function, payload, attempt, enqueued_at, idempotency_key, reason, dead_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(row.run_id, row.function, row.payload, row.attempt, row.enqueued_at, row.idempotency_key, reason, this.now());
    });
  }

  async cancel(runId: string): Promise<CancelResult> {
    return this.tx(() => this.cancelSync(runId));
  }

  /** cancel, synchronously (to run inside the transaction that also writes `cancelled`: ../sqlite-async.ts). */
  cancelSync(runId: string): CancelResult {
    const row = this.db.prepare('SELECT consumer FROM jobs WHERE run_id = ?').get(runId) as { consumer: string | null } | undefined;
    if (!row) return 'not_found';
    if (row.consumer !== null) return 'leased';
    this.db.prepare('DELETE FROM jobs WHERE run_id = ?').run(runId);
    return 'cancelled';
  }

  async peek(runId: string): Promise<Job | null> {
    this.check();
    const row = this.db.prepare(`SELECT ${INFO_COLUMNS}, payload FROM jobs WHERE run_id = ?`).get(runId) as JobRow | undefined;
    return row ? { ...info(row, this.now()), payload: row.payload! } : null;
  }

  async list(limit = DEFAULT_LIST_LIMIT): Promise<JobInfo[]> {
    this.check();
    const now = this.now();
    const rows = this.db
      .prepare(`SELECT ${INFO_COLUMNS} FROM jobs ORDER BY (consumer IS NULL AND ready_at > ?), ready_at, seq LIMIT ?`)
      .all(now, limit) as JobRow[];
    return rows.map((r) => info(r, now));
  }

  async listDead(limit = DEFAULT_LIST_LIMIT): Promise<DeadLetterInfo[]> {
    this.check();
    const rows = this.db
      .prepare(`SELECT run_id, function, length(payload) AS payload_bytes, attempt, enqueued_at, idempotency_key, reason, dead_at
        FROM dead ORDER BY seq LIMIT ?`)
      .all(limit) as DeadRow[];
    return rows.map((r) => ({ ...deadFields(r), payloadBytes: r.payload_bytes }));
  }

  async getDead(runId: string): Promise<DeadLetter | null> {
    this.check();
    const row = this.db.prepare('SELECT * FROM dead WHERE run_id = ?').get(runId) as DeadRow | undefined;
    return row ? { ...deadFields(row), payload: row.payload! } : null;
  }

  async stats(): Promise<QueueStats> {
    this.check();
    const now = this.now();
    const s = this.db
      .prepare(`SELECT
          coalesce(sum(consumer IS NULL AND ready_at > ?), 0) AS delayed,
          coalesce(sum(consumer IS NULL AND ready_at <= ?), 0) AS ready,
          coalesce(sum(consumer IS NOT NULL), 0) AS leased,
          (SELECT count(*) FROM dead) AS dead FROM jobs`)
      .get(now, now) as QueueStats;
    return { delayed: s.delayed, ready: s.ready, leased: s.leased, dead: s.dead };
  }

  async functionStats(): Promise<FunctionQueueStats[]> {
    this.check();
    const now = this.now();
    const rows = this.db
      .prepare(`SELECT function,
          coalesce(sum(consumer IS NULL AND ready_at <= ?), 0) AS ready,
          coalesce(sum(consumer IS NULL AND ready_at > ?), 0) AS delayed,
          coalesce(sum(consumer IS NOT NULL), 0) AS leased,
          min(CASE WHEN consumer IS NULL AND ready_at <= ? THEN ready_at END) AS oldest
        FROM jobs GROUP BY function ORDER BY function`)
      .all(now, now, now) as { function: string; ready: number; delayed: number; leased: number; oldest: number | null }[];
    return rows.map((r) => ({ function: r.function, ready: r.ready, delayed: r.delayed, leased: r.leased, oldestReadyAt: r.oldest }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDb) this.db.close();
  }
}

interface DeadRow {
  run_id: string;
  function: string;
  payload?: Buffer;
  payload_bytes: number;
  attempt: number;
  enqueued_at: number;
  idempotency_key: string | null;
  reason: string;
  dead_at: number;
}

function deadFields(r: DeadRow): Omit<DeadLetter, 'payload'> {
  return {
    runId: r.run_id, function: r.function, attempt: r.attempt, enqueuedAt: r.enqueued_at,
    idempotencyKey: r.idempotency_key, reason: r.reason, deadAt: r.dead_at,
  };
}
