/**
 * FunctionStore and DeployStore on SQLite. Status and activeVersion change only in `apply`.
 * Settings are one JSON column; `secrets` and `hookSecrets` in it are sealed (../sealed.ts).
 */
import { workspaceOfKey } from '../../../protocol/index.js';
import type { Keyring } from '../../secrets/index.js';
import { StoreError } from '../errors.js';
import { laterThan } from '../incarnation.js';
import { normalQuotas, quotaExceeded } from '../quotas.js';
import { openHooks, openSecrets, sealHooks, sealSecrets, type SealedHookSecret } from '../sealed.js';
import type {
  DeployEntry,
  DeployRequest,
  DeployStore,
  FunctionRecord,
  FunctionSettings,
  FunctionStatus,
  FunctionStore,
} from '../types.js';
import { fromJson, isSqliteError, type SqliteContext } from './context.js';

interface FunctionRow {
  name: string;
  settings: string;
  status: FunctionStatus;
  active_version: number | null;
  revision: number;
  deploy_seq: number;
  created_at: number;
  updated_at: number;
}

interface DeployRow {
  function: string;
  seq: number;
  action: DeployEntry['action'];
  from_version: number | null;
  to_version: number | null;
  status: FunctionStatus;
  actor: string;
  note: string;
  at: number;
}

/** The settings column: FunctionSettings with `secrets` and `hookSecrets` sealed. */
export interface StoredSettings extends Omit<FunctionSettings, 'hookSecrets'> {
  hookSecrets?: Record<string, SealedHookSecret>;
}

/** Rows removed by one statement of a function's delete (a version of 1 000 files is ~100 KB). */
const DELETE_BATCH = 16;
/** How long a function's delete removes rows before it lets the event loop run. */
export const DELETE_SLICE_MS = 5;

/** Runs `step` (rows removed, 0 when none are left) until it removes nothing, yielding every DELETE_SLICE_MS. */
async function removeInSlices(step: () => number): Promise<void> {
  for (;;) {
    const started = performance.now();
    let removed = 0;
    do removed = step(); while (removed > 0 && performance.now() - started < DELETE_SLICE_MS);
    if (removed === 0) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function toRecord(ring: Keyring, row: FunctionRow): FunctionRecord {
  const settings = fromJson<StoredSettings>(row.settings);
  return {
    name: row.name,
    preset: settings.preset,
    invocation: settings.invocation,
    limits: { ...settings.limits },
    env: { ...settings.env },
    secrets: openSecrets(ring, row.name, settings.secrets),
    auth: settings.auth,
    ...(settings.retry !== undefined ? { retry: { ...settings.retry } } : {}),
    ...(settings.hookSecrets !== undefined ? { hookSecrets: openHooks(ring, row.name, settings.hookSecrets) } : {}),
    status: row.status,
    activeVersion: row.active_version,
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toEntry(row: DeployRow): DeployEntry {
  return {
    function: row.function,
    seq: row.seq,
    action: row.action,
    fromVersion: row.from_version,
    toVersion: row.to_version,
    status: row.status,
    actor: row.actor,
    note: row.note,
    at: row.at,
  };
}

export function storedJson(s: StoredSettings): string {
  // Only the known keys, so a caller's extra properties never end up stored.
  return JSON.stringify({ preset: s.preset, invocation: s.invocation, limits: s.limits, env: s.env, secrets: s.secrets, auth: s.auth, retry: s.retry, hookSecrets: s.hookSecrets });
}

function sealed(ring: Keyring, name: string, s: FunctionSettings): StoredSettings {
  const { hookSecrets, secrets, ...plain } = s;
  return { ...plain, secrets: sealSecrets(ring, name, secrets ?? {}), ...(hookSecrets !== undefined ? { hookSecrets: sealHooks(ring, name, hookSecrets) } : {}) };
}

/** The row, or FUNCTION_NOT_FOUND; REVISION_CONFLICT when `expected` is given and differs. */
function mustGet(ctx: SqliteContext, name: string, expected?: number): FunctionRow {
  const row = ctx.db.prepare('SELECT * FROM functions WHERE name = ?').get(name) as FunctionRow | undefined;
  if (row === undefined) throw new StoreError('FUNCTION_NOT_FOUND', `no function named ${name}`, { function: name });
  if (expected !== undefined && row.revision !== expected) {
    throw new StoreError('REVISION_CONFLICT', `function ${name} is at revision ${row.revision}, not ${expected}; re-read and retry`, {
      function: name,
      expected,
      actual: row.revision,
    });
  }
  return row;
}

export function sqliteFunctionStore(ctx: SqliteContext): FunctionStore {
  const { db, ring } = ctx;
  const insert = db.prepare(`INSERT INTO functions (name, workspace, settings, status, active_version, revision, created_at, updated_at)
    VALUES (?, ?, ?, 'active', NULL, 1, ?, ?)`);
  const update = db.prepare('UPDATE functions SET settings = ?, revision = revision + 1, updated_at = ? WHERE name = ?');
  const workspaceQuotas = db.prepare('SELECT quotas FROM workspaces WHERE name = ?').pluck();
  const countIn = db.prepare('SELECT count(*) FROM functions WHERE workspace = ?').pluck();
  // The createdAt of a function this process deleted, while it is not yet in the past: a function
  // created again under its name is created after it, whatever the clock says (ADR 0211).
  const deletedAt = new Map<string, number>();

  return {
    async create(name, settings) {
      ctx.check();
      const now = laterThan(deletedAt.get(name), ctx.now());
      deletedAt.delete(name);
      const workspace = workspaceOfKey(name);
      const stored = storedJson(sealed(ring, name, settings));
      // One IMMEDIATE transaction: the workspace check, the quota count and the insert see one state,
      // so concurrent creates (also from other processes on this file) stop exactly at the quota.
      db.transaction(() => {
        const quotas = workspaceQuotas.get(workspace) as string | undefined;
        if (quotas === undefined) throw new StoreError('WORKSPACE_NOT_FOUND', `no workspace named ${workspace}`, { workspace });
        const limit = normalQuotas(JSON.parse(quotas) as Record<string, unknown>).functions;
        if (limit !== null) {
          const used = countIn.get(workspace) as number;
          if (used >= limit) throw quotaExceeded('functions', workspace, limit, used);
        }
        try {
          insert.run(name, workspace, stored, now, now);
        } catch (err) {
          if (isSqliteError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) {
            throw new StoreError('FUNCTION_EXISTS', `a function named ${name} already exists`, { function: name });
          }
          throw err;
        }
        // Runs an earlier function of the name left (a record written after its delete: see the
        // production store's create; red team round 40). This one has none yet.
        db.prepare('DELETE FROM runs WHERE function = ?').run(name);
      }).immediate();
      return toRecord(ring, mustGet(ctx, name));
    },

    async get(name) {
      ctx.check();
      const row = db.prepare('SELECT * FROM functions WHERE name = ?').get(name) as FunctionRow | undefined;
      return row === undefined ? null : toRecord(ring, row);
    },

    async list(filter = {}) {
      ctx.check();
      const rows = filter.workspace === undefined
        ? db.prepare('SELECT * FROM functions ORDER BY name').all()
        : db.prepare('SELECT * FROM functions WHERE workspace = ? ORDER BY name').all(filter.workspace);
      return (rows as FunctionRow[]).map((row) => toRecord(ring, row));
    },

    async update(name, expectedRevision, patch) {
      ctx.check();
      return db.transaction(() => {
        const row = mustGet(ctx, name, expectedRevision);
        const current = fromJson<StoredSettings>(row.settings);
        const hookSecrets = patch.hookSecrets !== undefined ? sealHooks(ring, name, patch.hookSecrets) : current.hookSecrets;
        const next: StoredSettings = {
          preset: patch.preset ?? current.preset,
          invocation: patch.invocation ?? current.invocation,
          limits: patch.limits ?? current.limits,
          env: patch.env ?? current.env,
          secrets: patch.secrets !== undefined ? sealSecrets(ring, name, patch.secrets) : (current.secrets ?? {}),
          auth: patch.auth ?? current.auth,
          ...((patch.retry ?? current.retry) !== undefined ? { retry: patch.retry ?? current.retry } : {}),
          ...(hookSecrets !== undefined ? { hookSecrets } : {}),
        };
        update.run(storedJson(next), ctx.now(), name);
        return toRecord(ring, mustGet(ctx, name));
      }).immediate();
    },

    async delete(name, expectedRevision, options = {}) {
      ctx.check();
      const incarnation = mustGet(ctx, name, expectedRevision).created_at; // refused before anything is removed
      // Its versions (but the active one) and runs first, a few rows at a time with the event loop
      // served in between: in one transaction, 8 000 versions of 1 000 files were a 2 s block of
      // every workspace's calls (red team of 2026-12-05, fourth round). Whatever comes after (a
      // failed delete, a crash) finds the function with fewer versions or runs, never a half row.
      const active = () => (db.prepare('SELECT active_version FROM functions WHERE name = ?').pluck().get(name) as number | null | undefined) ?? null;
      const someVersions = db.prepare(`DELETE FROM versions WHERE function = ? AND version IN
        (SELECT version FROM versions WHERE function = ? AND version IS NOT ? ORDER BY version LIMIT ${DELETE_BATCH})`);
      // Its runs: of this incarnation or older, or unstamped (ADR 0190); one stamped later is another function's.
      const mine = 'function = ? AND (fn_created_at IS NULL OR fn_created_at <= ?)';
      const someRuns = db.prepare(`DELETE FROM runs WHERE run_id IN (SELECT run_id FROM runs WHERE ${mine} LIMIT ${DELETE_BATCH})`);
      // With ifNoVersions (a function the caller read as never uploaded to) nothing is removed before
      // the transaction: a version uploaded since the caller's check refuses the delete there, and
      // the function keeps its runs.
      if (options.ifNoVersions !== true) {
        await removeInSlices(() => someVersions.run(name, name, active()).changes);
        await removeInSlices(() => someRuns.run(name, incarnation).changes);
      }
      ctx.check();
      db.transaction(() => {
        mustGet(ctx, name, expectedRevision);
        // Checked with the delete, in its transaction: an upload is before it or finds no function (ADR 0181).
        if (options.ifNoVersions === true && db.prepare('SELECT 1 FROM versions WHERE function = ? LIMIT 1').get(name) !== undefined) {
          throw new StoreError('FUNCTION_CHANGED', `function ${name} has a version uploaded while it was being deleted; nothing was deleted`, { function: name, hasVersions: true });
        }
        // versions and deploys go with the row (ON DELETE CASCADE); runs and tokens are not linked.
        db.prepare('DELETE FROM functions WHERE name = ?').run(name);
        db.prepare(`DELETE FROM runs WHERE ${mine}`).run(name, incarnation);
        db.prepare("DELETE FROM tokens WHERE kind = 'invoke' AND scope = ?").run(name);
      }).immediate();
      if (incarnation >= ctx.now()) deletedAt.set(name, incarnation);
      // Gone and cleaned up in one transaction: a failure before it leaves the function live (ADR 0156).
      return { cleanupError: null };
    },
  };
}

export function sqliteDeployStore(ctx: SqliteContext): DeployStore {
  const { db } = ctx;
  const versionExists = db.prepare('SELECT 1 FROM versions WHERE function = ? AND version = ?').pluck();
  const setState = db.prepare(`UPDATE functions SET status = ?, active_version = ?, revision = revision + 1,
    deploy_seq = ?, updated_at = ? WHERE name = ?`);
  const insertEntry = db.prepare(`INSERT INTO deploys (function, seq, action, from_version, to_version, status, actor, note, at)
    VALUES (@function, @seq, @action, @fromVersion, @toVersion, @status, @actor, @note, @at)`);
  const dropOld = db.prepare('DELETE FROM deploys WHERE function = ? AND seq <= ?');

  return {
    async apply(request: DeployRequest) {
      ctx.check();
      return db.transaction(() => {
        const row = mustGet(ctx, request.function, request.expectedRevision);
        let status = row.status;
        let active = row.active_version;
        if (request.action === 'deploy' || request.action === 'rollback') {
          const version = request.version;
          if (version === undefined || versionExists.get(request.function, version) === undefined) {
            throw new StoreError('VERSION_NOT_FOUND', `function ${request.function} has no version ${String(version)}`, {
              function: request.function,
              version: version ?? null,
            });
          }
          active = version;
        } else {
          status = request.action === 'pause' ? 'paused' : 'active';
        }
        const entry: DeployEntry = {
          function: request.function,
          seq: row.deploy_seq + 1,
          action: request.action,
          fromVersion: row.active_version,
          toVersion: active,
          status,
          actor: request.actor,
          note: request.note ?? '',
          at: ctx.now(),
        };
        setState.run(status, active, entry.seq, entry.at, request.function);
        insertEntry.run(entry);
        const keep = request.keepRecords;
        if (keep !== undefined && entry.seq > keep) dropOld.run(request.function, entry.seq - keep);
        return { function: toRecord(ctx.ring, mustGet(ctx, request.function)), entry };
      }).immediate();
    },

    async list(fn, options = {}) {
      ctx.check();
      const limit = Math.max(1, Math.min(1000, options.limit ?? 100));
      const rows = db
        .prepare('SELECT * FROM deploys WHERE function = ? AND seq < ? ORDER BY seq DESC LIMIT ?')
        .all(fn, options.beforeSeq ?? Number.MAX_SAFE_INTEGER, limit) as DeployRow[];
      return rows.map(toEntry);
    },
  };
}
