/**
 * TokenStore on SQLite: only keyed digests of secrets are written (`Keyring.tokenDigest`, with the
 * key id in `key_id`); a row without a key id, or whose digest was not made with a key in the
 * ring, matches no secret (docs/adr/0009-secrets-at-rest.md).
 */
import { StoreError } from '../errors.js';
import { newId, newSecret, sameDigest, tokenInput } from '../secrets.js';
import type { Role } from '../../../protocol/index.js';
import type { IssuedToken, NewToken, TokenKind, TokenRecord, TokenStore } from '../types.js';
import type { SqliteContext } from './context.js';

interface TokenRow {
  id: string;
  kind: TokenKind;
  scope: string | null;
  label: string;
  digest: string;
  key_id: string | null;
  role: Role | null;
  expires_at: number | null;
  last_used_at: number | null;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    kind: row.kind,
    scope: row.scope,
    label: row.label,
    keyId: row.key_id,
    digest: row.digest,
    role: row.role,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export function sqliteTokenStore(ctx: SqliteContext): TokenStore {
  const { db, ring } = ctx;
  const insert = db.prepare(`INSERT INTO tokens (id, kind, scope, label, digest, key_id, role, expires_at, created_by, created_at)
    VALUES (@id, @kind, @scope, @label, @digest, @key_id, @role, @expires_at, @created_by, @created_at)`);
  const touch = db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < ?)');
  const touchAll = db.transaction((uses: readonly { id: string; at: number }[]) => {
    for (const use of uses) touch.run(use.at, use.id, use.at);
  });
  const workspaceExists = db.prepare('SELECT 1 FROM workspaces WHERE name = ?').pluck();
  const byId = db.prepare('SELECT * FROM tokens WHERE id = ?');
  const byDigest = db.prepare('SELECT * FROM tokens WHERE digest = ? AND key_id = ? AND revoked_at IS NULL');
  const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const dropRevoked = db.prepare(`DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE kind = ? AND scope IS ? AND revoked_at IS NOT NULL
    ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)`);
  // The newest `keepRevoked` revoked ones of a kind and scope stay (tokens_by_scope).
  const revokeKept = (row: TokenRow, keep: number | undefined): void => {
    revoke.run(ctx.now(), row.id);
    if (keep !== undefined) dropRevoked.run(row.kind, row.scope, keep);
  };
  const rewrite = db.prepare('UPDATE tokens SET digest = ?, key_id = ? WHERE id = ? AND digest = ? AND revoked_at IS NULL');

  function issueNow(input: Required<NewToken>): IssuedToken {
    const secret = newSecret(input.kind);
    const row: TokenRow = {
      id: newId('tok_'), kind: input.kind, scope: input.scope, label: input.label, digest: ring.tokenDigest(secret), key_id: ring.currentId,
      role: input.role, expires_at: input.expiresAt, last_used_at: null, created_by: input.createdBy, created_at: ctx.now(), revoked_at: null,
    };
    insert.run(row);
    return { secret, record: toRecord(row) };
  }

  function live(id: string): TokenRow {
    const row = byId.get(id) as TokenRow | undefined;
    if (row === undefined || row.revoked_at !== null) throw new StoreError('TOKEN_NOT_FOUND', `no live token ${id}`, { id });
    return row;
  }

  return {
    async issue(input) {
      ctx.check();
      const made = tokenInput(input);
      if (made.kind !== 'workspace') return issueNow(made);
      // A workspace's token only while the workspace is there, in one transaction with the check:
      // one issued after its delete (which revokes them) outlived it and was a token of the
      // workspace created again under the name, another tenant's (red team round 38).
      return db.transaction(() => {
        if (workspaceExists.get(made.scope) === undefined) throw new StoreError('WORKSPACE_NOT_FOUND', `no workspace named ${made.scope}`, { workspace: made.scope });
        return issueNow(made);
      }).immediate();
    },

    async verify(secret, kind, scope = null) {
      ctx.check();
      for (const keyId of ring.ids) {
        const row = byDigest.get(ring.tokenDigest(secret, keyId), keyId) as TokenRow | undefined;
        if (row === undefined) continue;
        if (row.kind !== kind || (kind !== 'admin' && row.scope !== scope)) return null;
        return toRecord(row);
      }
      return null;
    },

    async rotate(id, options = {}) {
      ctx.check();
      return db.transaction(() => {
        const old = live(id);
        revokeKept(old, options.keepRevoked);
        return issueNow({ kind: old.kind, scope: old.scope, label: old.label, role: old.role, expiresAt: old.expires_at, createdBy: old.created_by });
      }).immediate();
    },

    async revoke(id, options = {}) {
      ctx.check();
      db.transaction(() => {
        revokeKept(live(id), options.keepRevoked);
      }).immediate();
    },

    async rekey(id, secret) {
      ctx.check();
      const row = byId.get(id) as TokenRow | undefined;
      if (row === undefined || row.revoked_at !== null || row.key_id === null || !ring.has(row.key_id)) return null;
      if (!sameDigest(ring.tokenDigest(secret, row.key_id), row.digest)) return null;
      if (row.key_id === ring.currentId) return toRecord(row);
      const digest = ring.tokenDigest(secret);
      if (rewrite.run(digest, ring.currentId, id, row.digest).changes === 0) return null;
      return toRecord({ ...row, digest, key_id: ring.currentId });
    },

    async list(filter = {}) {
      ctx.check();
      const where: string[] = [];
      const params: (string | null)[] = [];
      if (filter.kind !== undefined) {
        where.push('kind = ?');
        params.push(filter.kind);
      }
      if (filter.scope !== undefined) {
        where.push(filter.scope === null ? 'scope IS NULL' : 'scope = ?');
        if (filter.scope !== null) params.push(filter.scope);
      }
      const order = 'ORDER BY created_at DESC, rowid DESC';
      if (filter.includeRevoked && filter.revokedLimit !== undefined) {
        // Every live one, and the newest revoked ones only.
        const scoped = where.length ? `${where.join(' AND ')} AND` : '';
        const sql = `SELECT * FROM tokens WHERE ${scoped} (revoked_at IS NULL OR id IN (SELECT id FROM tokens WHERE ${scoped} revoked_at IS NOT NULL ${order} LIMIT ?)) ${order}`;
        return (db.prepare(sql).all(...params, ...params, filter.revokedLimit) as TokenRow[]).map(toRecord);
      }
      if (!filter.includeRevoked) where.push('revoked_at IS NULL');
      const sql = `SELECT * FROM tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ${order}`;
      return (db.prepare(sql).all(...params) as TokenRow[]).map(toRecord);
    },

    async touch(uses) {
      ctx.check();
      if (uses.length > 0) touchAll.immediate(uses);
    },
  };
}
