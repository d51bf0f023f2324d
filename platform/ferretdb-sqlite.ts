/**
 * The `--sqlite-url` every FerretDB the platform (or its tests and benchmarks) starts is given:
 * FerretDB's defaults (WAL journal, a 10 s busy timeout, no auto-vacuum) plus a WAL size limit.
 *
 * Why (wal1, docs/stores.md "FerretDB's SQLite WAL"): SQLite can start its WAL file over only at a
 * moment when no read is open, and on FerretDB's SQLite backend every query but an insert scans
 * (seconds at some ten thousand documents), so under steady load reads overlap and the WAL grows
 * for as long as they do. When it does start over, SQLite reuses the file and keeps its size
 * unless `journal_size_limit` says otherwise: a WAL that grew to 231 MB in a busy half hour stayed
 * 231 MB on disk for good. With the limit it is cut back to at most this many bytes at the first
 * start-over after the load eases.
 */
export const FERRETDB_WAL_LIMIT_BYTES = 16 * 1024 * 1024;

/** `file:<dir>/?_pragma=journal_size_limit(…)`: FerretDB adds its own defaults to the pragmas given. */
export function ferretdbSqliteUrl(dir: string): string {
  return `file:${dir.replace(/\/+$/, '')}/?_pragma=journal_size_limit(${FERRETDB_WAL_LIMIT_BYTES})`;
}
