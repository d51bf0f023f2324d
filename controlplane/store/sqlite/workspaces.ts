/**
 * WorkspaceStore, AuditStore and BlobGrants on SQLite (docs/adr/0011-tenants.md). A workspace's
 * delete and a function's create are IMMEDIATE transactions over the same rows, so a workspace is
 * never deleted with a function in it, whatever runs at the same time.
 */
import { DEFAULT_WORKSPACE } from '../../../protocol/index.js';
import { StoreError } from '../errors.js';
import { auditTrimEntry, auditTrimSlack, decodeAuditCursor, encodeAuditCursor, KEPT_AUDIT_ACTION, normalQuotas } from '../quotas.js';
import type { AuditEntry, AuditStore, BlobGrants, NewAuditEntry, WorkspaceRecord, WorkspaceStore } from '../types.js';
import { fromJson, isSqliteError, type SqliteContext } from './context.js';

interface WorkspaceRow {
  name: string;
  quotas: string;
  created_at: number;
  updated_at: number;
}

function toWorkspace(row: WorkspaceRow): WorkspaceRecord {
  return { name: row.name, quotas: normalQuotas(fromJson<Record<string, unknown>>(row.quotas)), createdAt: row.created_at, updatedAt: row.updated_at };
}

function notFound(name: string): StoreError {
  return new StoreError('WORKSPACE_NOT_FOUND', `no workspace named ${name}`, { workspace: name });
}

export function sqliteWorkspaceStore(ctx: SqliteContext): WorkspaceStore {
  const { db } = ctx;
  const byName = db.prepare('SELECT * FROM workspaces WHERE name = ?');
  const insert = db.prepare('INSERT INTO workspaces (name, quotas, created_at, updated_at) VALUES (?, ?, ?, ?)');
  const write = db.prepare('UPDATE workspaces SET quotas = ?, updated_at = ? WHERE name = ?');
  const functions = db.prepare('SELECT count(*) FROM functions WHERE workspace = ?').pluck();
  const codeBytes = db.prepare('SELECT coalesce(sum(v.total_bytes), 0) FROM versions v JOIN functions f ON f.name = v.function WHERE f.workspace = ?').pluck();
  const logBytes = db.prepare('SELECT coalesce(sum(log_bytes), 0) FROM runs WHERE workspace = ?').pluck();

  const get = (name: string): WorkspaceRecord | null => {
    const row = byName.get(name) as WorkspaceRow | undefined;
    return row === undefined ? null : toWorkspace(row);
  };

  return {
    async create(name, quotas) {
      ctx.check();
      const now = ctx.now();
      try {
        insert.run(name, JSON.stringify(normalQuotas(quotas)), now, now);
      } catch (err) {
        if (isSqliteError(err, 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw new StoreError('WORKSPACE_EXISTS', `a workspace named ${name} already exists`, { workspace: name });
        throw err;
      }
      return get(name)!;
    },

    async get(name) {
      ctx.check();
      return get(name);
    },

    async list() {
      ctx.check();
      return (db.prepare('SELECT * FROM workspaces ORDER BY name').all() as WorkspaceRow[]).map(toWorkspace);
    },

    async update(name, quotas) {
      ctx.check();
      return db.transaction(() => {
        const current = get(name);
        if (current === null) throw notFound(name);
        const next = normalQuotas({ ...current.quotas, ...quotas });
        write.run(JSON.stringify(next), ctx.now(), name);
        return get(name)!;
      }).immediate();
    },

    async delete(name) {
      ctx.check();
      if (name === DEFAULT_WORKSPACE) throw new StoreError('WORKSPACE_PROTECTED', 'the default workspace cannot be deleted', { workspace: name });
      db.transaction(() => {
        if (get(name) === null) throw notFound(name);
        const held = functions.get(name) as number;
        if (held > 0) throw new StoreError('WORKSPACE_NOT_EMPTY', `workspace ${name} still has ${held} function(s)`, { workspace: name, functions: held });
        db.prepare('DELETE FROM workspaces WHERE name = ?').run(name);
        db.prepare("UPDATE tokens SET revoked_at = ? WHERE kind = 'workspace' AND scope = ? AND revoked_at IS NULL").run(ctx.now(), name);
        db.prepare('DELETE FROM blob_grants WHERE workspace = ?').run(name);
        // Runs a late record of a deleted function left (the production store's delete says why; red team round 40).
        db.prepare('DELETE FROM runs WHERE workspace = ?').run(name);
      }).immediate();
    },

    async usage(name) {
      ctx.check();
      return { functions: functions.get(name) as number, codeBytes: codeBytes.get(name) as number, logBytes: logBytes.get(name) as number };
    },
  };
}

interface AuditRow {
  seq: number;
  wseq: number;
  at: number;
  actor_id: string;
  actor_label: string;
  actor_role: string;
  address: string;
  workspace: string | null;
  action: string;
  target: string;
  detail: string;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    workspaceSeq: row.wseq,
    at: row.at,
    actor: { tokenId: row.actor_id, label: row.actor_label, role: row.actor_role as AuditEntry['actor']['role'] },
    address: row.address,
    workspace: row.workspace,
    action: row.action,
    target: row.target,
    detail: fromJson<Record<string, unknown>>(row.detail),
  };
}

/** Rows deleted per prune step (as for runs). */
const PRUNE_CHUNK = 2000;

export function sqliteAuditStore(ctx: SqliteContext): AuditStore {
  const { db } = ctx;
  // One statement: the next number within the workspace is taken under the write lock.
  const insert = db.prepare(`INSERT INTO audit (at, actor_id, actor_label, actor_role, address, workspace, action, target, detail, wseq)
    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(max(wseq), 0) + 1 FROM audit WHERE workspace IS ?
    RETURNING seq, wseq`);
  const pruneChunk = db.prepare(`DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < ? ORDER BY seq LIMIT ${PRUNE_CHUNK})`);
  // The oldest number of a workspace (an index seek, past its few `workspace.create` entries):
  // entries go oldest first, by time or by count, so newest - oldest + 1 is the count, or more than
  // it (never less). A trim keeps the `workspace.create` entries (one per creation of the name, by
  // the admin token): a workspace token's numbers start after its own (controlplane/api/audit.ts).
  const oldest = db.prepare(`SELECT min(wseq) FROM audit WHERE workspace IS ? AND action != '${KEPT_AUDIT_ACTION}'`).pluck();
  const trim = db.prepare(`DELETE FROM audit WHERE workspace IS ? AND wseq <= ? AND action != '${KEPT_AUDIT_ACTION}'`);
  const write = (e: NewAuditEntry): AuditEntry => {
    const detail = JSON.stringify(e.detail);
    const row = insert.get(e.at, e.actor.tokenId, e.actor.label, e.actor.role, e.address, e.workspace, e.action, e.target, detail, e.workspace) as { seq: number; wseq: number };
    return { ...e, detail: JSON.parse(detail) as Record<string, unknown>, seq: row.seq, workspaceSeq: row.wseq };
  };
  // One transaction: the entry, and when its workspace is past its bound the trim and its marker.
  const appendKept = db.transaction((e: NewAuditEntry, keep: number | undefined): AuditEntry => {
    const entry = write(e);
    if (keep === undefined) return entry;
    const first = (oldest.get(e.workspace) as number | null) ?? entry.workspaceSeq;
    if (entry.workspaceSeq - first + 1 < keep + auditTrimSlack(keep)) return entry;
    // The marker takes one of the `keep` places: the newest keep - 1 entries stay beside it.
    const through = entry.workspaceSeq - Math.max(1, keep - 1);
    trim.run(e.workspace, through);
    write(auditTrimEntry(e.workspace, e.at, keep));
    return entry;
  });
  return {
    async append(e, options = {}) {
      ctx.check();
      return appendKept.immediate(e, options.keep);
    },

    async list(query = {}) {
      ctx.check();
      const where: string[] = [];
      const params: (string | number)[] = [];
      const add = (clause: string, value: string | number): void => {
        where.push(clause);
        params.push(value);
      };
      if (query.workspace !== undefined) add('workspace = ?', query.workspace);
      if (query.action !== undefined) add('action = ?', query.action);
      if (query.actor !== undefined) add('actor_id = ?', query.actor);
      if (query.since !== undefined) add('at >= ?', query.since);
      if (query.until !== undefined) add('at < ?', query.until);
      // One workspace's list goes by its own numbers (same order as `seq` within it).
      const scoped = query.workspace !== undefined;
      const key = scoped ? 'wseq' : 'seq';
      if (query.cursor !== undefined) add(`${key} < ?`, decodeAuditCursor(query.cursor, scoped));
      const limit = Math.min(1000, Math.max(1, query.limit ?? 50));
      const rows = db.prepare(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${key} DESC LIMIT ?`).all(...params, limit + 1) as AuditRow[];
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { items: page.map(toEntry), nextCursor: rows.length > limit && last ? encodeAuditCursor(last[key], scoped) : null };
    },

    async prune(cutoff) {
      let total = 0;
      for (;;) {
        ctx.check();
        const { changes } = pruneChunk.run(cutoff);
        total += changes;
        if (changes < PRUNE_CHUNK) return total;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    },
  };
}

export function sqliteBlobGrants(ctx: SqliteContext): BlobGrants {
  const { db } = ctx;
  const insert = db.prepare('INSERT OR IGNORE INTO blob_grants (workspace, sha256) VALUES (?, ?)');
  const one = db.prepare('SELECT 1 FROM blob_grants WHERE workspace = ? AND sha256 = ?').pluck();
  const grantAll = db.transaction((workspace: string, hashes: readonly string[]) => {
    for (const sha of hashes) insert.run(workspace, sha);
  });
  return {
    async grant(workspace, sha256s) {
      ctx.check();
      if (sha256s.length > 0) grantAll.immediate(workspace, sha256s);
    },
    async granted(workspace, sha256s) {
      ctx.check();
      return new Set(sha256s.filter((sha) => one.get(workspace, sha) !== undefined));
    },
  };
}
