/** What every table module of the SQLite adapter shares: the connection, the clock, the open check. */
import type { Database } from 'better-sqlite3';
import type { Keyring } from '../../secrets/index.js';

export interface SqliteContext {
  readonly db: Database;
  /** Seals secret fields and keys token digests (docs/secrets.md). */
  readonly ring: Keyring;
  now(): number;
  /** Throws STORE_CLOSED once the store is closed. */
  check(): void;
}

/** JSON from a TEXT column, typed by the caller (the adapter wrote it, so the shape is known). */
export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** True for a better-sqlite3 error with this SQLite extended result code. */
export function isSqliteError(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
