/**
 * The embedded store's migrations taken back, each as the platform.db of the build before it (its
 * `down` step), for the tests that make an older file: platform-upgrade-key (the newest one) and
 * store-sqlite-upgrade-notice (down to schema 9). A new migration needs its step here (the first
 * test says so).
 */
import type { Database } from 'better-sqlite3';

export const DOWN: Readonly<Record<number, string>> = {
  10: 'DROP INDEX audit_by_workspace_wseq; ALTER TABLE audit DROP COLUMN wseq;',
  11: `DROP INDEX runs_by_function_start;
       ALTER TABLE runs DROP COLUMN extra_bytes;
       CREATE INDEX runs_by_function_start ON runs (function, started_at, log_bytes);`,
  12: 'ALTER TABLE runs DROP COLUMN fn_created_at;',
  13: `DROP TRIGGER versions_immutable;
       ALTER TABLE versions DROP COLUMN start_check;
       CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions
       BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;`,
};

/** Takes `db` from schema `from` down to `to` (each step's `down`, newest first, and its row in schema_version). */
export function migrateDown(db: Database, from: number, to: number): void {
  for (let v = from; v > to; v--) {
    const step = DOWN[v];
    if (step === undefined) throw new Error(`migration ${v} has no down step in test/helpers/schema-down.ts`);
    db.exec(step);
    db.prepare('DELETE FROM schema_version WHERE version = ?').run(v);
  }
}
