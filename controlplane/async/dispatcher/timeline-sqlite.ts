/**
 * The durable RunTimeline, in the async wing's SQLite file (`<stateDir>/async.db`,
 * ../sqlite-db.ts), beside the queue: the `queued` transition of a new run is written in the
 * same transaction as its job.
 */
import type { Database as Db } from 'better-sqlite3';
import { openAsyncDb } from '../sqlite-db.js';
import { ASYNC_RUN_STATES, type AsyncRunState } from '../../../protocol/index.js';
import type { AttemptError, AttemptRecord, RunTimeline, RunTimelineView } from './types.js';


interface TransitionRow { state: string; at: number; detail: string | null }
interface AttemptRow {
  attempt: number; started_at: number; duration_ms: number; cold: number; status: string;
  error_code: string | null; error_class: string | null; error: string | null;
}

export interface SqliteTimelineOptions {
  /** The state directory; created when missing. */
  stateDir: string;
}

export async function openSqliteTimeline(options: SqliteTimelineOptions): Promise<RunTimeline> {
  return new SqliteRunTimeline(await openAsyncDb(options.stateDir), true);
}

export class SqliteRunTimeline implements RunTimeline {
  /** `ownsDb`: close() closes the connection. */
  constructor(private readonly db: Db, private readonly ownsDb: boolean) {}

  async transition(runId: string, state: AsyncRunState, at: number, detail?: string): Promise<void> {
    this.transitionSync(runId, state, at, detail);
  }

  /** transition, synchronously (to run inside the transaction that accepts a run). */
  transitionSync(runId: string, state: AsyncRunState, at: number, detail?: string): void {
    this.db.prepare('INSERT INTO transitions (run_id, state, at, detail) VALUES (?, ?, ?, ?)').run(runId, state, at, detail ?? null);
  }

  async attempt(runId: string, r: AttemptRecord): Promise<void> {
    this.db
      .prepare(`INSERT INTO attempts (run_id, attempt, started_at, duration_ms, cold, status, error_code, error_class, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(runId, r.attempt, r.startedAt, r.durationMs, r.cold ? 1 : 0, r.status, r.errorCode, r.errorClass,
        r.error === null ? null : JSON.stringify(r.error));
  }

  async get(runId: string): Promise<RunTimelineView | null> {
    const read = this.db.transaction(() => ({
      transitions: this.db.prepare("SELECT state, at, detail FROM transitions WHERE run_id = ? ORDER BY state <> 'queued', seq").all(runId) as TransitionRow[],
      attempts: this.db.prepare(`SELECT attempt, started_at, duration_ms, cold, status, error_code, error_class, error
        FROM attempts WHERE run_id = ? ORDER BY seq`).all(runId) as AttemptRow[],
    }));
    const { transitions, attempts } = read();
    if (transitions.length === 0 && attempts.length === 0) return null;
    const states = transitions.map((t) => ({ state: asState(t.state), at: t.at, detail: t.detail }));
    return {
      state: states.at(-1)?.state ?? 'running',
      transitions: states,
      attempts: attempts.map((a) => ({
        attempt: a.attempt, startedAt: a.started_at, durationMs: a.duration_ms, cold: a.cold === 1,
        status: a.status === 'succeeded' ? 'succeeded' : 'failed',
        errorCode: a.error_code, errorClass: a.error_class,
        error: a.error === null ? null : (JSON.parse(a.error) as AttemptError),
      })),
    };
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }
}

function asState(value: string): AsyncRunState {
  const state = ASYNC_RUN_STATES.find((s) => s === value);
  if (state === undefined) throw new Error(`async.db holds an unknown run state: ${value}`);
  return state;
}
