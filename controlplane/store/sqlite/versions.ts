/**
 * VersionStore on SQLite. Numbering and `changes` are computed inside one IMMEDIATE transaction;
 * the number comes from `functions.last_version`, so a deleted version's is never given again
 * (docs/adr/0098-deleting-versions.md).
 */
import { diffFiles, workspaceOfKey } from '../../../protocol/index.js';
import { StoreError } from '../errors.js';
import { normalQuotas, quotaExceeded } from '../quotas.js';
import { pruneVersions, touchContents } from '../version-retention.js';
import type { BlobStore, FileChanges, FileEntry, VersionRecord, VersionStartCheck, VersionStore, VersionSummary } from '../types.js';
import { fromJson, type SqliteContext } from './context.js';

interface VersionRow {
  function: string;
  version: number;
  entrypoint: string;
  files: string;
  manifest: string;
  changes: string;
  file_count: number;
  total_bytes: number;
  created_at: number;
  created_by: string;
  note: string;
  start_check: string | null;
}

type SummaryRow = Omit<VersionRow, 'files' | 'manifest'>;

function toSummary(row: SummaryRow): VersionSummary {
  return {
    function: row.function,
    version: row.version,
    entrypoint: row.entrypoint,
    createdAt: row.created_at,
    createdBy: row.created_by,
    note: row.note,
    changes: fromJson<FileChanges>(row.changes),
    fileCount: row.file_count,
    totalBytes: row.total_bytes,
    startCheck: row.start_check === null ? null : fromJson<VersionStartCheck>(row.start_check),
  };
}

function toRecord(row: VersionRow): VersionRecord {
  return {
    function: row.function,
    version: row.version,
    entrypoint: row.entrypoint,
    files: fromJson<FileEntry[]>(row.files),
    manifest: fromJson<unknown>(row.manifest),
    createdAt: row.created_at,
    createdBy: row.created_by,
    note: row.note,
    changes: fromJson<FileChanges>(row.changes),
    startCheck: row.start_check === null ? null : fromJson<VersionStartCheck>(row.start_check),
  };
}

/** A start check as stored: its four fields only (ADR 0252). */
export function startCheckOf(check: VersionStartCheck): VersionStartCheck {
  return { ok: check.ok, code: check.code, message: check.message, at: check.at };
}

/** A version's files as stored: path, content, size and the executable flag only when set, sorted by path. */
export function storedFiles(files: readonly FileEntry[]): FileEntry[] {
  return files
    .map((f) => ({ path: f.path, sha256: f.sha256, size: f.size, ...(f.executable === true ? { executable: true } : {}) }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function sqliteVersionStore(ctx: SqliteContext, blobs: BlobStore): VersionStore {
  const { db } = ctx;
  const SUMMARY_COLUMNS = 'function, version, entrypoint, changes, file_count, total_bytes, created_at, created_by, note, start_check';
  const fnExists = db.prepare('SELECT 1 FROM functions WHERE name = ?').pluck();
  const workspaceQuotas = db.prepare('SELECT quotas FROM workspaces WHERE name = ?').pluck();
  const codeBytes = db.prepare('SELECT coalesce(sum(v.total_bytes), 0) FROM versions v JOIN functions f ON f.name = v.function WHERE f.workspace = ?').pluck();
  const latest = db.prepare('SELECT * FROM versions WHERE function = ? ORDER BY version DESC LIMIT 1');
  const lastNumber = db.prepare('SELECT last_version FROM functions WHERE name = ?').pluck();
  const setLastNumber = db.prepare('UPDATE functions SET last_version = ? WHERE name = ?');
  const fnState = db.prepare('SELECT active_version AS active, (SELECT base_version FROM drafts d WHERE d.function = f.name) AS base FROM functions f WHERE f.name = ?');
  const versionExists = db.prepare('SELECT 1 FROM versions WHERE function = ? AND version = ?').pluck();
  const remove = db.prepare('DELETE FROM versions WHERE function = ? AND version = ?');
  const setStart = db.prepare('UPDATE versions SET start_check = ? WHERE function = ? AND version = ?');
  const allFiles = db.prepare('SELECT files FROM versions').pluck();
  const insert = db.prepare(`INSERT INTO versions
    (function, version, entrypoint, files, manifest, changes, file_count, total_bytes, created_at, created_by, note, start_check)
    VALUES (@function, @version, @entrypoint, @files, @manifest, @changes, @file_count, @total_bytes, @created_at, @created_by, @note, @start_check)`);

  const store: VersionStore = {
    async create(input) {
      ctx.check();
      const files = storedFiles(input.files);
      if (fnExists.get(input.function) === undefined) {
        throw new StoreError('FUNCTION_NOT_FOUND', `no function named ${input.function}`, { function: input.function });
      }
      const inTime = await touchContents(blobs, files);
      ctx.check();
      return db.transaction(() => {
        inTime();
        if (fnExists.get(input.function) === undefined) {
          throw new StoreError('FUNCTION_NOT_FOUND', `no function named ${input.function}`, { function: input.function });
        }
        const prev = latest.get(input.function) as VersionRow | undefined;
        const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
        // In the transaction: concurrent uploads stop exactly at the workspace's codeBytes quota.
        const workspace = workspaceOfKey(input.function);
        const quotas = workspaceQuotas.get(workspace) as string | undefined;
        const limit = quotas === undefined ? null : normalQuotas(JSON.parse(quotas) as Record<string, unknown>).codeBytes;
        if (limit !== null) {
          const used = codeBytes.get(workspace) as number;
          if (used + totalBytes > limit) throw quotaExceeded('codeBytes', workspace, limit, used, totalBytes);
        }
        const row: VersionRow = {
          function: input.function,
          version: Math.max(prev?.version ?? 0, lastNumber.get(input.function) as number) + 1,
          entrypoint: input.entrypoint,
          files: JSON.stringify(files),
          manifest: JSON.stringify(input.manifest ?? null),
          changes: JSON.stringify(diffFiles(prev ? fromJson<FileEntry[]>(prev.files) : null, files)),
          file_count: files.length,
          total_bytes: totalBytes,
          created_at: ctx.now(),
          created_by: input.createdBy,
          note: input.note ?? '',
          start_check: null,
        };
        insert.run(row);
        setLastNumber.run(row.version, input.function);
        return toRecord(row);
      }).immediate();
    },

    async get(fn, version) {
      ctx.check();
      const row = db.prepare('SELECT * FROM versions WHERE function = ? AND version = ?').get(fn, version) as VersionRow | undefined;
      return row === undefined ? null : toRecord(row);
    },

    async latest(fn) {
      ctx.check();
      const row = latest.get(fn) as VersionRow | undefined;
      return row === undefined ? null : toRecord(row);
    },

    async list(fn, options = {}) {
      ctx.check();
      const limit = Math.max(1, Math.min(1000, options.limit ?? 100));
      const rows = db
        .prepare(`SELECT ${SUMMARY_COLUMNS} FROM versions WHERE function = ? AND version < ? ORDER BY version DESC LIMIT ?`)
        .all(fn, options.before ?? Number.MAX_SAFE_INTEGER, limit) as SummaryRow[];
      return rows.map(toSummary);
    },

    async setStartCheck(fn, version, check) {
      ctx.check();
      setStart.run(JSON.stringify(startCheckOf(check)), fn, version);
    },

    async delete(fn, version) {
      ctx.check();
      db.transaction(() => {
        const state = fnState.get(fn) as { active: number | null; base: number | null } | undefined;
        if (state === undefined) throw new StoreError('FUNCTION_NOT_FOUND', `no function named ${fn}`, { function: fn });
        if (versionExists.get(fn, version) === undefined) {
          throw new StoreError('VERSION_NOT_FOUND', `function ${fn} has no version ${version}`, { function: fn, version });
        }
        if (state.active === version) throw versionActive(fn, version);
        if (state.base === version) throw versionInUse(fn, version, 'draft');
        remove.run(fn, version);
      }).immediate();
    },

    prune(fn, keep, protect) {
      return pruneVersions(store, fn, keep, protect);
    },

    async collectBlobs(cutoff, keep) {
      ctx.check();
      const used = new Set(keep);
      for (const files of allFiles.all() as string[]) for (const f of fromJson<FileEntry[]>(files)) used.add(f.sha256);
      return blobs.sweep(cutoff, (sha) => used.has(sha));
    },
  };
  return store;
}

export function versionActive(fn: string, version: number): StoreError {
  return new StoreError('VERSION_ACTIVE', `version ${version} is the one ${fn} serves: deploy or roll back to another first`, { function: fn, version });
}

export function versionInUse(fn: string, version: number, usedBy: 'draft'): StoreError {
  return new StoreError('VERSION_IN_USE', `version ${version} of ${fn} is the base of its draft: save the draft as a version or discard it first`, { function: fn, version, usedBy });
}
