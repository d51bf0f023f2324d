/**
 * The embedded async wing's one SQLite file, `<stateDir>/async.db` (WAL, synchronous=FULL: a
 * resolved write survives a power loss): the queue, the run timeline and the run index live in it
 * together, so accepting a run is one transaction (sqlite-async.ts), and apart from platform.db, so
 * queue churn never contends with the store. Each opener gets its own connection; processes on
 * one host share the file (every write is an IMMEDIATE transaction).
 * State directories from before this file had three (queue.db, timeline.db, async-runs.db): their
 * rows are copied in once, then the old files are renamed `*.migrated` (kept, never read again).
 */
import { existsSync, renameSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import { openIntactSqlite, SERVING_BUSY_TIMEOUT_MS, START_BUSY_TIMEOUT_MS } from '../store/index.js';
import { QueueError } from './queue/errors.js';
import { QUEUE_SCHEMA, RUNS_SCHEMA, TIMELINE_SCHEMA } from './sqlite-schema.js';

export const ASYNC_DB_FILE = 'async.db';
/** The schema of async.db (PRAGMA user_version); a file from a newer platform is refused. */
const SCHEMA_VERSION = 1;

/** The files of before, each with the tables and columns copied from it. */
const LEGACY: readonly { file: string; tables: Record<string, string> }[] = [
  {
    file: 'queue.db',
    tables: {
      jobs: 'seq, run_id, function, payload, attempt, not_before, ready_at, enqueued_at, idempotency_key, consumer, lease_until, deliveries, token',
      idempotency: 'key, run_id, expires_at',
      dead: 'seq, run_id, function, payload, attempt, enqueued_at, idempotency_key, reason, dead_at',
    },
  },
  {
    file: 'timeline.db',
    tables: {
      transitions: 'seq, run_id, state, at, detail',
      attempts: 'seq, run_id, attempt, started_at, duration_ms, cold, status, error_code, error_class, error',
    },
  },
  {
    file: 'async-runs.db',
    tables: { async_runs: 'run_id, function, accepted_at, replay_of, result_status, result_headers, result_body, result_attempt' },
  },
];

/** A connection to the state directory's async.db, its schema created and old files merged in. */
export async function openAsyncDb(stateDir: string, busyTimeoutMs = SERVING_BUSY_TIMEOUT_MS): Promise<Db> {
  const dir = resolve(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const db = openIntactSqlite(join(dir, ASYNC_DB_FILE), { timeout: START_BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new QueueError('QUEUE_INVALID', `${ASYNC_DB_FILE} has schema ${version}, newer than this platform's ${SCHEMA_VERSION}`);
    db.exec(QUEUE_SCHEMA + TIMELINE_SCHEMA + RUNS_SCHEMA);
    addMissingColumns(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    mergeLegacy(db, dir);
    // Once open, a lock held by another process is waited for briefly (../store/sqlite/intact.ts).
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Columns added after a table was first created, each nullable, so an older platform still reads
 * the file (no schema version bump): `idempotency.fingerprint` (a key kept without one matches any
 * repeat, as it did when it was kept); `async_runs.born_at` (a run accepted without one is
 * compared by time, as before: ADR 0235).
 */
function addMissingColumns(db: Db): void {
  const has = (table: string, column: string): boolean => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
  if (!has('idempotency', 'fingerprint')) db.exec('ALTER TABLE idempotency ADD COLUMN fingerprint TEXT');
  if (!has('async_runs', 'born_at')) db.exec('ALTER TABLE async_runs ADD COLUMN born_at INTEGER');
}

function mergeLegacy(db: Db, dir: string): void {
  for (const legacy of LEGACY) {
    const path = join(dir, legacy.file);
    if (!existsSync(path)) continue;
    // ATTACH and DETACH cannot happen inside a transaction; the copy is one. Two processes merging
    // at once copy the same rows: INSERT OR IGNORE keeps one of each.
    db.prepare('ATTACH DATABASE ? AS legacy').run(path);
    try {
      db.transaction(() => {
        for (const [table, columns] of Object.entries(legacy.tables)) {
          const present = db.prepare(`SELECT name FROM legacy.sqlite_master WHERE type = 'table' AND name = ?`).get(table);
          if (present !== undefined) db.exec(`INSERT OR IGNORE INTO main.${table} (${columns}) SELECT ${columns} FROM legacy.${table}`);
        }
        if (legacy.file === 'async-runs.db') {
          const hasTrigger = (db.prepare('PRAGMA legacy.table_info(async_runs)').all() as { name: string }[]).some((c) => c.name === 'trigger');
          if (hasTrigger) db.exec('UPDATE main.async_runs SET trigger = (SELECT trigger FROM legacy.async_runs l WHERE l.run_id = main.async_runs.run_id) WHERE trigger IS NULL');
        }
      }).immediate();
    } finally {
      db.exec('DETACH DATABASE legacy');
    }
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        renameSync(path + suffix, `${path}${suffix}.migrated`);
      } catch {
        // absent, or another process renamed it first
      }
    }
  }
}
