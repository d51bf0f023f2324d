/**
 * TokenStore on SQLite: only keyed digests of secrets are written (`Keyring.tokenDigest`, with the
 * key id in `key_id`); a row without a key id, or whose digest was not made with a key in the
 * ring, matches no secret (docs/adr/0009-secrets-at-rest.md).
 */
import { StoreError } from '../errors.js';
import { newId, newSecret, sameDigest } from '../secrets.js';
import type { IssuedToken, TokenKind, TokenRecord, TokenStore } from '../types.js';
import type { SqliteContext } from './context.js';

interface TokenRow {
  id: string;
  kind: TokenKind;
  scope: string | null;
  label: string;
  digest: string;
  key_id: string | null;
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
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export function sqliteTokenStore(ctx: SqliteContext): TokenStore {
  const { db, ring } = ctx;
  const insert = db.prepare('INSERT INTO tokens (id, kind, scope, label, digest, key_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const byId = db.prepare('SELECT * FROM tokens WHERE id = ?');
  const byDigest = db.prepare('SELECT * FROM tokens WHERE digest = ? AND key_id = ? AND revoked_at IS NULL');
  const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const rewrite = db.prepare('UPDATE tokens SET digest = ?, key_id = ? WHERE id = ? AND digest = ? AND revoked_at IS NULL');

  function issueNow(kind: TokenKind, scope: string | null, label: string): IssuedToken {
    const secret = newSecret(kind);
    const row: TokenRow = { id: newId('tok_'), kind, scope, label, digest: ring.tokenDigest(secret), key_id: ring.currentId, created_at: ctx.now(), revoked_at: null };
    insert.run(row.id, row.kind, row.scope, row.label, row.digest, row.key_id, row.created_at);
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
      for (const keyId of ring.ids) {
        const row = byDigest.get(ring.tokenDigest(secret, keyId), keyId) as TokenRow | undefined;
        if (row === undefined) continue;
        if (row.kind !== kind || (kind === 'invoke' && row.scope !== scope)) return null;
        return toRecord(row);
      }
      return null;
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
      if (!filter.includeRevoked) where.push('revoked_at IS NULL');
      const sql = `SELECT * FROM tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC`;
      return (db.prepare(sql).all(...params) as TokenRow[]).map(toRecord);
    },
  };
}
