/**
 * What the queue and the timeline do not keep about an async run: its function, when it was
 * accepted, the run it replays, and the response of its latest attempt (the run's output).
 * In the async wing's SQLite file (`<stateDir>/async.db`, ../sqlite-db.ts), beside the queue.
 */
import type { Database as Db } from 'better-sqlite3';
import { openAsyncDb } from '../sqlite-db.js';
import { RESULT_DROPPED_HEADER, workspaceOfKey, type Pairs } from '../../../protocol/index.js';
import { WORKSPACE_OF_KEY_SQL } from '../sqlite-schema.js';
import type { QueuedTrigger } from './envelope.js';


export interface AsyncRunResult {
  status: number;
  headers: Pairs;
  body: Buffer;
  attempt: number;
}

/**
 * What the results of one workspace's async runs may keep together (ADR 0250): past `bytes`, the
 * oldest accepted runs' results are dropped (body and headers; RESULT_DROPPED_HEADER says so)
 * until the rest fit.
 */
export interface ResultBudget {
  workspace: string;
  bytes: number;
}

/** What a kept result counts against its workspace's budget: its body and its headers as stored (JSON). */
export function resultBytes(body: number, headersJson: string): number {
  return body + headersJson.length;
}

/** A row's kept result (not one dropped for the budget), and what it counts. */
const KEPT_SQL = `result_status IS NOT NULL AND result_headers NOT LIKE '[["${RESULT_DROPPED_HEADER}",%'`;
const KEPT_SIZE_SQL = 'length(result_body) + length(result_headers)';

/** The stored headers of a result dropped for the budget: the marker alone, with the bytes that went. */
export function droppedHeadersJson(bytes: number): string {
  return JSON.stringify([[RESULT_DROPPED_HEADER, String(bytes)]]);
}

export interface AsyncRunInfo {
  runId: string;
  function: string;
  acceptedAt: number;
  replayOf: string | null;
  /** What queued it (`async` for runs recorded before the trigger was kept). */
  trigger: QueuedTrigger;
  /**
   * The incarnation (createdAt) of the function it was accepted for; null for a run accepted
   * before it was kept, or without a registry that knows it (ADR 0235).
   */
  bornAt: number | null;
  result: AsyncRunResult | null;
}

/** What `create` records about a newly accepted run. */
export interface NewAsyncRun {
  runId: string;
  function: string;
  acceptedAt: number;
  replayOf: string | null;
  /** Default `async`. */
  trigger?: QueuedTrigger;
  /** The incarnation of the function it is accepted for (AsyncRunInfo.bornAt). */
  bornAt?: number;
}

export interface AsyncRunIndex {
  create(run: NewAsyncRun): Promise<void>;
  /** Forgets a run that was never queued (its idempotency key named an earlier run). */
  remove(runId: string): Promise<void>;
  /** Keeps the run's result (its latest attempt's); with `budget`, then drops the workspace's oldest past it (ADR 0250). */
  setResult(runId: string, result: AsyncRunResult, budget?: ResultBudget): Promise<void>;
  get(runId: string): Promise<AsyncRunInfo | null>;
  /** Runs that replay `runId`, oldest first. */
  replays(runId: string): Promise<string[]>;
  /**
   * The workspace's runs (or one function's), newest accepted first (ties: run id descending),
   * strictly after `after` in that order; at most `limit`. Runs past the retention are gone.
   */
  list(query: AsyncRunListQuery): Promise<AsyncRunEntry[]>;
  /** A deleted function's runs leave the listing (their own records stay until they expire or are pruned). */
  forgetFunction(fn: string): Promise<void>;
  close(): Promise<void>;
}

/** What `list` selects (docs/adr/0068-listing-async-runs-by-state.md). */
export interface AsyncRunListQuery {
  /** The workspace of the runs' function keys. */
  workspace: string;
  /** One function's key (in `workspace`). */
  function?: string;
  /** Accepted at or after (Unix ms). */
  since?: number;
  /** Accepted before (Unix ms). */
  until?: number;
  /** The last entry of the previous page. */
  after?: { acceptedAt: number; runId: string };
  limit: number;
}

/** A listed run: its index entry without the stored result. */
export type AsyncRunEntry = Omit<AsyncRunInfo, 'result'>;


interface Row {
  run_id: string; function: string; accepted_at: number; replay_of: string | null;
  result_status: number | null; result_headers: string | null; result_body: Buffer | null; result_attempt: number | null;
  trigger: string | null;
  born_at: number | null;
}

export async function openSqliteAsyncRuns(options: { stateDir: string }): Promise<AsyncRunIndex> {
  return new SqliteAsyncRuns(await openAsyncDb(options.stateDir), true);
}

export class SqliteAsyncRuns implements AsyncRunIndex {
  /** `ownsDb`: close() closes the connection. */
  constructor(private readonly db: Db, private readonly ownsDb: boolean) {}

  async create(run: NewAsyncRun): Promise<void> {
    this.createSync(run);
  }

  /** create, synchronously (to run inside the transaction that accepts a run). */
  createSync(run: NewAsyncRun): void {
    this.db.prepare('INSERT OR IGNORE INTO async_runs (run_id, function, accepted_at, replay_of, trigger, born_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(run.runId, run.function, run.acceptedAt, run.replayOf, run.trigger ?? 'async', run.bornAt ?? null);
  }

  async remove(runId: string): Promise<void> {
    this.removeSync(runId);
  }

  removeSync(runId: string): void {
    this.db.prepare('DELETE FROM async_runs WHERE run_id = ?').run(runId);
  }

  async setResult(runId: string, r: AsyncRunResult, budget?: ResultBudget): Promise<void> {
    this.db.transaction(() => {
      const before = budget === undefined ? 0 : this.keptBytes(runId);
      const headers = JSON.stringify(r.headers);
      this.db.prepare('UPDATE async_runs SET result_status = ?, result_headers = ?, result_body = ?, result_attempt = ? WHERE run_id = ?')
        .run(r.status, headers, r.body, r.attempt, runId);
      if (budget !== undefined) this.keepWithin(budget, resultBytes(r.body.length, headers) - before);
    })();
  }

  /** Forgets the workspaces' kept totals (rows were deleted behind them: the prune); the next write of each sums again. */
  forgetTotals(): void {
    this.totals.clear();
  }

  /** The workspaces' kept result bytes, each summed once (a scan of its runs), then kept by the changes (ADR 0250). */
  private readonly totals = new Map<string, { bytes: number; after: [number, string] | null }>();

  /** What a run's result counts now (0: none, or dropped already). */
  private keptBytes(runId: string): number {
    const row = this.db.prepare(`SELECT ${KEPT_SIZE_SQL} AS n FROM async_runs WHERE run_id = ? AND ${KEPT_SQL}`).get(runId) as { n: number } | undefined;
    return row?.n ?? 0;
  }

  /**
   * Drops the workspace's oldest accepted results (not those dropped already) until the rest fit
   * its budget (ADR 0250). The total is summed once a workspace (42 ms at 10,000 runs; a sum per
   * write cost 48 ms a write at 20,000), then kept by `delta`s; the walk goes on from the last
   * dropped run, so the dropped ones are not read again.
   */
  private keepWithin(budget: ResultBudget, delta: number): void {
    let t = this.totals.get(budget.workspace);
    if (t === undefined) {
      const sum = this.db.prepare(`SELECT COALESCE(SUM(${KEPT_SIZE_SQL}), 0) AS n FROM async_runs WHERE ${WORKSPACE_OF_KEY_SQL} = ? AND ${KEPT_SQL}`).get(budget.workspace) as { n: number };
      this.totals.set(budget.workspace, t = { bytes: sum.n, after: null });
    } else {
      t.bytes += delta;
    }
    if (t.bytes <= budget.bytes) return;
    const drop = this.db.prepare('UPDATE async_runs SET result_body = ?, result_headers = ? WHERE run_id = ?');
    const next = this.db.prepare(`SELECT run_id, accepted_at, ${KEPT_SIZE_SQL} AS n FROM async_runs WHERE ${WORKSPACE_OF_KEY_SQL} = ? AND (accepted_at, run_id) > (?, ?) AND ${KEPT_SQL}
      ORDER BY accepted_at, run_id LIMIT 100`);
    while (t.bytes > budget.bytes) {
      const rows = next.all(budget.workspace, t.after?.[0] ?? -Infinity, t.after?.[1] ?? '') as { run_id: string; accepted_at: number; n: number }[];
      if (rows.length === 0) {
        // Behind the walk: a later attempt of a run it passed. From the oldest again, next time.
        t.after = null;
        return;
      }
      for (const row of rows) {
        if (t.bytes <= budget.bytes) return;
        drop.run(Buffer.alloc(0), droppedHeadersJson(row.n), row.run_id);
        t.bytes -= row.n;
        t.after = [row.accepted_at, row.run_id];
      }
    }
  }

  async get(runId: string): Promise<AsyncRunInfo | null> {
    const row = this.db.prepare('SELECT * FROM async_runs WHERE run_id = ?').get(runId) as Row | undefined;
    if (row === undefined) return null;
    return {
      runId: row.run_id, function: row.function, acceptedAt: row.accepted_at, replayOf: row.replay_of, trigger: queuedTrigger(row.trigger), bornAt: row.born_at ?? null,
      result: row.result_status === null ? null : {
        status: row.result_status, headers: JSON.parse(row.result_headers ?? '[]') as Pairs,
        body: row.result_body ?? Buffer.alloc(0), attempt: row.result_attempt ?? 0,
      },
    };
  }

  async replays(runId: string): Promise<string[]> {
    const rows = this.db.prepare('SELECT run_id FROM async_runs WHERE replay_of = ? ORDER BY accepted_at, rowid').all(runId) as { run_id: string }[];
    return rows.map((r) => r.run_id);
  }

  async list(q: AsyncRunListQuery): Promise<AsyncRunEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.function !== undefined) {
      // One function's: its key names its workspace, which must be the one asked for.
      if (workspaceOfKey(q.function) !== q.workspace) return [];
      where.push('function = ?');
      params.push(q.function);
    } else {
      // The workspace index's own expression (red team 10: a LIKE on the key walked every
      // workspace's runs newer than the asked one's: the whole table for a workspace with none).
      where.push(`${WORKSPACE_OF_KEY_SQL} = ?`);
      params.push(q.workspace);
    }
    if (q.since !== undefined) {
      where.push('accepted_at >= ?');
      params.push(q.since);
    }
    if (q.until !== undefined) {
      where.push('accepted_at < ?');
      params.push(q.until);
    }
    if (q.after !== undefined) {
      // A row value: a range of the index, not a walk from its newest entry.
      where.push('(accepted_at, run_id) < (?, ?)');
      params.push(q.after.acceptedAt, q.after.runId);
    }
    const rows = this.db.prepare(`SELECT run_id, function, accepted_at, replay_of, trigger, born_at FROM async_runs WHERE ${where.join(' AND ')}
      ORDER BY accepted_at DESC, run_id DESC LIMIT ?`).all(...params, q.limit) as Row[];
    return rows.map((row) => ({ runId: row.run_id, function: row.function, acceptedAt: row.accepted_at, replayOf: row.replay_of, trigger: queuedTrigger(row.trigger), bornAt: row.born_at ?? null }));
  }

  /** Nothing to drop: the listing reads the runs' own rows, which pruning removes with the runs. */
  async forgetFunction(_fn: string): Promise<void> {}

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }
}

/** A stored trigger name; anything else (or none) is `async`. */
export function queuedTrigger(text: string | null | undefined): QueuedTrigger {
  return text === 'cron' || text === 'webhook' ? text : 'async';
}
