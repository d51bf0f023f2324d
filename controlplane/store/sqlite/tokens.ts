/** TokenStore on SQLite: only sha256 hashes of secrets are written (see ../secrets.ts). */
import { StoreError } from '../errors.js';
import { hashSecret, newId, newSecret } from '../secrets.js';
import type { IssuedToken, TokenKind, TokenRecord, TokenStore } from '../types.js';
import type { SqliteContext } from './context.js';

interface TokenRow {
  id: string;
  kind: TokenKind;
  scope: string | null;
  label: string;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    kind: row.kind,
    scope: row.scope,
    label: row.label,
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export function sqliteTokenStore(ctx: SqliteContext): TokenStore {
  const { db } = ctx;
  const insert = db.prepare('INSERT INTO tokens (id, kind, scope, label, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const byId = db.prepare('SELECT * FROM tokens WHERE id = ?');
  const byHash = db.prepare('SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL');
  const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');

  function issueNow(kind: TokenKind, scope: string | null, label: string): IssuedToken {
    const secret = newSecret(kind);
    const row: TokenRow = { id: newId('tok_'), kind, scope, label, hash: hashSecret(secret), created_at: ctx.now(), revoked_at: null };
    insert.run(row.id, row.kind, row.scope, row.label, row.hash, row.created_at);
    return { secret, record: toRecord(row) };
  }

  function live(id: string): TokenRow {
    const row = byId.get(id) as TokenRow | undefined;
    if (row === undefined || row.revoked_at !== null) throw new StoreError('TOKEN_NOT_FOUND', `no live token ${id}`, { id });
    return row;
  }

  return {
    async issue({ kind, scope = null, label = '' }) {
      ctx.check();
      return issueNow(kind, kind === 'admin' ? null : scope, label);
    },

    async verify(secret, kind, scope = null) {
      ctx.check();
      const row = byHash.get(hashSecret(secret)) as TokenRow | undefined;
      if (row === undefined || row.kind !== kind) return null;
      if (kind === 'invoke' && row.scope !== scope) return null;
      return toRecord(row);
    },

    async rotate(id) {
      ctx.check();
      return db.transaction(() => {
        const old = live(id);
        revoke.run(ctx.now(), id);
        return issueNow(old.kind, old.scope, old.label);
      }).immediate();
    },

    async revoke(id) {
      ctx.check();
      db.transaction(() => {
        live(id);
        revoke.run(ctx.now(), id);
      }).immediate();
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
      if (!filter.includeRevoked) where.push('revoked_at IS NULL');
      const sql = `SELECT * FROM tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC`;
      return (db.prepare(sql).all(...params) as TokenRow[]).map(toRecord);
    },
  };
}
