/**
 * The durable RunTimeline: its own SQLite file (`<stateDir>/timeline.db`, WAL), so the
 * dispatcher's writes never contend with the store's or the queue's writers.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database, { type Database as Db } from 'better-sqlite3';
import { ASYNC_RUN_STATES, type AsyncRunState } from '../../../protocol/index.js';
import type { AttemptError, AttemptRecord, RunTimeline, RunTimelineView } from './types.js';

export const TIMELINE_DB_FILE = 'timeline.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS transitions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  state TEXT NOT NULL,
  at INTEGER NOT NULL,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS transitions_run ON transitions (run_id, seq);
CREATE TABLE IF NOT EXISTS attempts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms REAL NOT NULL,
  cold INTEGER NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT,
  error_class TEXT,
  error TEXT                      -- JSON of AttemptError, or null
);
CREATE INDEX IF NOT EXISTS attempts_run ON attempts (run_id, seq);`;

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
  await mkdir(options.stateDir, { recursive: true });
  const db = new Database(join(options.stateDir, TIMELINE_DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return new SqliteRunTimeline(db);
}

class SqliteRunTimeline implements RunTimeline {
  constructor(private readonly db: Db) {}

  async transition(runId: string, state: AsyncRunState, at: number, detail?: string): Promise<void> {
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
      transitions: this.db.prepare('SELECT state, at, detail FROM transitions WHERE run_id = ? ORDER BY seq').all(runId) as TransitionRow[],
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
    if (this.db.open) this.db.close();
  }
}

function asState(value: string): AsyncRunState {
  const state = ASYNC_RUN_STATES.find((s) => s === value);
  if (state === undefined) throw new Error(`timeline.db holds an unknown run state: ${value}`);
  return state;
}
