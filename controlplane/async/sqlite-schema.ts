/**
 * The tables of the embedded async wing's file, async.db (sqlite-db.ts): the queue's, the run
 * timeline's and the run index's. Every statement is idempotent (IF NOT EXISTS).
 */
import { DEFAULT_WORKSPACE } from '../../protocol/index.js';

/**
 * The workspace of an async run's function key (protocol/function-key.ts: `<name>` in the default
 * workspace, `<name>.<workspace>` elsewhere), as SQL: the expression of the workspace indexes (the run
 * listing's, the queue's claim), which a query must write exactly so for SQLite to use them.
 */
export const WORKSPACE_OF_KEY_SQL = `(CASE WHEN instr(function, '.') = 0 THEN '${DEFAULT_WORKSPACE}' ELSE substr(function, instr(function, '.') + 1) END)`;

/** The queue (queue/sqlite.ts). */
export const QUEUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL UNIQUE,
  function TEXT NOT NULL,
  payload BLOB NOT NULL,
  attempt INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  ready_at INTEGER NOT NULL,        -- max(not_before, time queued): the queue order
  enqueued_at INTEGER NOT NULL,
  idempotency_key TEXT,
  consumer TEXT,                    -- null while not leased
  lease_until INTEGER,
  deliveries INTEGER NOT NULL DEFAULT 0,
  token TEXT
);
CREATE INDEX IF NOT EXISTS jobs_order ON jobs (ready_at, seq);
CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_function ON jobs (function, consumer, ready_at); -- functionStats: covered, no table read; claim with skipped functions: each other function's ready head
-- claim with skipped workspaces (red team 10): each other workspace's ready jobs in queue order.
CREATE INDEX IF NOT EXISTS jobs_ready_workspace ON jobs (${WORKSPACE_OF_KEY_SQL}, ready_at, seq) WHERE consumer IS NULL;
CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, run_id TEXT NOT NULL, expires_at INTEGER NOT NULL, fingerprint TEXT);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
CREATE TABLE IF NOT EXISTS dead (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL UNIQUE,
  function TEXT NOT NULL,
  payload BLOB NOT NULL,
  attempt INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  idempotency_key TEXT,
  reason TEXT NOT NULL,
  dead_at INTEGER NOT NULL
);
`;

/** The run timeline (dispatcher/timeline-sqlite.ts). */
export const TIMELINE_SCHEMA = `
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
CREATE INDEX IF NOT EXISTS attempts_run ON attempts (run_id, seq);
`;

/** The run index (runs/runs-sqlite.ts). */
export const RUNS_SCHEMA = `
CREATE TABLE IF NOT EXISTS async_runs (
  run_id TEXT PRIMARY KEY,
  function TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  replay_of TEXT,
  result_status INTEGER,
  result_headers TEXT,
  result_body BLOB,
  result_attempt INTEGER,
  trigger TEXT,
  born_at INTEGER                 -- the incarnation (createdAt) of the function it was accepted for (ADR 0235)
);
CREATE INDEX IF NOT EXISTS async_runs_replay ON async_runs (replay_of);
CREATE INDEX IF NOT EXISTS async_runs_accepted ON async_runs (accepted_at, run_id); -- listing (newest first)
CREATE INDEX IF NOT EXISTS async_runs_function ON async_runs (function, accepted_at, run_id);
-- Listing a workspace's runs (red team 10): without it, each listing of a workspace walked every
-- workspace's runs newer than its own (a scan of the whole table for a workspace with none).
CREATE INDEX IF NOT EXISTS async_runs_workspace ON async_runs (${WORKSPACE_OF_KEY_SQL}, accepted_at, run_id);
`;
