/**
 * Opening one of the state directory's SQLite files (platform.db, async.db, cron-ticks.db) only
 * when it is whole. A file damaged mid-page (a disk fault, a copy taken while it was written, a
 * truncation) used to open: async.db took async runs (202) that no claim could ever read ("database
 * disk image is malformed", once, in the log), platform.db served with versions silently missing,
 * and a file not SQLite at all stopped the start with "file is not a database" naming no file
 * (reliability round 3). Now the start stops with STATE_DAMAGED naming the file and what to do;
 * with STATE_READ_ONLY for a file it may not write (reliability round 9).
 */
import { basename } from 'node:path';
import Database, { type Database as Db, type Options } from 'better-sqlite3';
import { PlatformError } from '../../../protocol/index.js';

/** How long opening a file (and its migration) waits for another process's lock on it. */
export const START_BUSY_TIMEOUT_MS = 5_000;

/**
 * How long a statement waits for another process's lock once the platform serves: the wait is
 * SQLite's busy loop on the one thread that serves every call, so a tool holding a write lock on
 * platform.db or async.db (an operator's open `sqlite3` write, a VACUUM) held every call of every
 * function for its whole length, 5 s per statement (reliability round 5: sync calls' p50 went from
 * 3 ms to 5.4 s under a 12 s lock). Past it the statement fails SQLITE_BUSY: background writers
 * (run records, usage, the dispatcher's claims) try again later, a request gets 503 STORE_BUSY.
 */
export const SERVING_BUSY_TIMEOUT_MS = 100;

/** SQLite's own codes for a file that is damaged or not a database. */
function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/**
 * A file SQLite could open only for reading (immutable, 0444 for this user, another user's, a
 * read-only mount): SQLite falls back to read-only without a word, so platform.db opened and the
 * platform served with every change failing "attempt to write a readonly database", and async.db
 * stopped the start with START_FAILED naming no file (reliability round 9).
 */
function readOnly(path: string, what: string): PlatformError {
  return new PlatformError('STATE_READ_ONLY',
    `${path} cannot be written (${what}); nothing was changed. Make it, its -wal and -shm files and the state directory writable by this user (chmod, chown, chattr -i, a read-write mount), then start again`,
    { file: basename(path) });
}

/**
 * Writes the header's user_version unchanged in a transaction rolled back: throws SQLITE_READONLY
 * on a file opened read-only. Another process's write lock (SQLITE_BUSY after the busy wait) is
 * not this check's business: the start goes on as before.
 */
function checkWritable(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return;
    throw err;
  }
  try {
    db.pragma(`user_version = ${version}`);
  } finally {
    db.exec('ROLLBACK');
  }
}

function isReadOnly(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_READONLY');
}

function damaged(path: string, what: string): PlatformError {
  const file = basename(path);
  return new PlatformError('STATE_DAMAGED',
    `${path} is damaged (${what}); nothing was changed. Restore the state directory from a backup, or salvage the file with sqlite3's .recover into a new ${file} (docs/stores.md, "A damaged state file")`,
    { file });
}

/**
 * The file at `path`, opened and checked (`PRAGMA quick_check`: every page and index read once; a
 * few ms for a small file, 0.3 s for 210 MB in the page cache). Throws PlatformError STATE_DAMAGED
 * when it is not whole; the connection is closed then.
 */
export function openIntactSqlite(path: string, options?: Options): Db {
  let db: Db;
  try {
    db = new Database(path, options);
  } catch (err) {
    if (isDamage(err)) throw damaged(path, (err as Error).message);
    if (isReadOnly(err)) throw readOnly(path, (err as Error).message);
    throw err;
  }
  try {
    const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((text) => text !== 'ok');
    if (problems.length > 0) throw damaged(path, `quick_check: ${problems.join('; ')}`);
    if (options?.readonly !== true) checkWritable(db);
  } catch (err) {
    db.close();
    if (err instanceof PlatformError) throw err;
    if (isDamage(err)) throw damaged(path, (err as Error).message);
    if (isReadOnly(err)) throw readOnly(path, (err as Error).message);
    throw err;
  }
  return db;
}
