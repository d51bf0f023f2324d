/**
 * DraftStore and TestCaseStore on SQLite (tables `drafts` and `test_cases`, migration 5): one row
 * per function's draft, one per named test case; both go with their function (ON DELETE CASCADE).
 */
import { draftConflict, StoreError } from '../errors.js';
import type { DraftFile, DraftRecord, DraftStore, TestCase, TestCaseMode, TestCaseStore } from '../types.js';
import { fromJson, type SqliteContext } from './context.js';

interface DraftRow {
  function: string;
  base_version: number | null;
  files: string;
  removed: string;
  revision: number;
  updated_at: number;
  updated_by: string;
}

interface CaseRow {
  function: string;
  name: string;
  request: string;
  mode: TestCaseMode;
  created_at: number;
  updated_at: number;
}

const draftOf = (row: DraftRow): DraftRecord => ({
  function: row.function,
  baseVersion: row.base_version,
  files: fromJson<DraftFile[]>(row.files),
  removed: fromJson<string[]>(row.removed),
  revision: row.revision,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});

const caseOf = (row: CaseRow): TestCase => ({
  function: row.function,
  name: row.name,
  mode: row.mode,
  request: fromJson<Record<string, unknown>>(row.request),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

function notFound(fn: string): StoreError {
  return new StoreError('FUNCTION_NOT_FOUND', `no function named ${fn}`, { function: fn });
}

export function sqliteDraftStore(ctx: SqliteContext): DraftStore {
  const { db } = ctx;
  const get = db.prepare('SELECT * FROM drafts WHERE function = ?');
  const exists = db.prepare('SELECT 1 FROM functions WHERE name = ?');
  const write = db.prepare(
    `INSERT INTO drafts (function, base_version, files, removed, revision, updated_at, updated_by) VALUES (?, ?, ?, ?, 1, ?, ?)
     ON CONFLICT (function) DO UPDATE SET base_version = excluded.base_version, files = excluded.files, removed = excluded.removed,
       revision = drafts.revision + 1, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
  );
  const remove = db.prepare('DELETE FROM drafts WHERE function = ?');
  const removeAt = db.prepare('DELETE FROM drafts WHERE function = ? AND revision = ?');
  const put = db.transaction((fn: string, base: number | null, files: string, removed: string, at: number, by: string, ifRevision: number | undefined) => {
    if (exists.get(fn) === undefined) throw notFound(fn);
    if (ifRevision !== undefined) {
      const now = get.get(fn) as DraftRow | undefined;
      if ((now?.revision ?? 0) !== ifRevision) throw draftConflict(fn, now === undefined ? null : draftOf(now));
    }
    write.run(fn, base, files, removed, at, by);
    return draftOf(get.get(fn) as DraftRow);
  });
  return {
    async get(fn) {
      ctx.check();
      const row = get.get(fn) as DraftRow | undefined;
      return row === undefined ? null : draftOf(row);
    },
    async put(fn, draft, ifRevision) {
      ctx.check();
      return put.immediate(fn, draft.baseVersion, JSON.stringify(draft.files), JSON.stringify(draft.removed), ctx.now(), draft.updatedBy, ifRevision);
    },
    async delete(fn, ifRevision) {
      ctx.check();
      return (ifRevision === undefined ? remove.run(fn) : removeAt.run(fn, ifRevision)).changes > 0;
    },
  };
}

export function sqliteTestCaseStore(ctx: SqliteContext): TestCaseStore {
  const { db } = ctx;
  const list = db.prepare('SELECT * FROM test_cases WHERE function = ? ORDER BY name');
  const get = db.prepare('SELECT * FROM test_cases WHERE function = ? AND name = ?');
  const exists = db.prepare('SELECT 1 FROM functions WHERE name = ?');
  const write = db.prepare(
    `INSERT INTO test_cases (function, name, request, mode, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (function, name) DO UPDATE SET request = excluded.request, mode = excluded.mode, updated_at = excluded.updated_at`,
  );
  const remove = db.prepare('DELETE FROM test_cases WHERE function = ? AND name = ?');
  const put = db.transaction((fn: string, name: string, request: string, mode: TestCaseMode, at: number) => {
    if (exists.get(fn) === undefined) throw notFound(fn);
    write.run(fn, name, request, mode, at, at);
    return caseOf(get.get(fn, name) as CaseRow);
  });
  return {
    async list(fn) {
      ctx.check();
      return (list.all(fn) as CaseRow[]).map(caseOf);
    },
    async put(fn, name, input) {
      ctx.check();
      return put.immediate(fn, name, JSON.stringify(input.request), input.mode, ctx.now());
    },
    async delete(fn, name) {
      ctx.check();
      return remove.run(fn, name).changes > 0;
    },
  };
}
