/**
 * TokenStore on MongoDB: only sha256 hashes of secrets are written (see ../secrets.ts), looked up
 * through a unique index on `hash`. `rotate` inserts the replacement first and then revokes the old
 * token conditioned on it still being live; if that loses a race the replacement is removed again.
 * A crash in between leaves the old token working and an extra token whose secret nobody saw.
 */
import { StoreError } from '../errors.js';
import { hashSecret, newId, newSecret } from '../secrets.js';
import type { IssuedToken, TokenKind, TokenRecord, TokenStore } from '../types.js';
import type { MongoContext, TokenDoc } from './context.js';

function toRecord(doc: TokenDoc): TokenRecord {
  return {
    id: doc._id,
    kind: doc.kind,
    scope: doc.scope,
    label: doc.label,
    hash: doc.hash,
    createdAt: doc.createdAt,
    revokedAt: doc.revokedAt,
  };
}

function notFound(id: string): StoreError {
  return new StoreError('TOKEN_NOT_FOUND', `no live token ${id}`, { id });
}

export function mongoTokenStore(ctx: MongoContext): TokenStore {
  const { col } = ctx;
  let counter = 0;

  async function issueNow(kind: TokenKind, scope: string | null, label: string): Promise<IssuedToken> {
    const secret = newSecret(kind);
    const createdAt = ctx.now();
    counter = (counter + 1) % 1000;
    const doc: TokenDoc = { _id: newId('tok_'), kind, scope, label, hash: hashSecret(secret), createdAt, seq: createdAt * 1000 + counter, revokedAt: null };
    await col.tokens.insertOne(doc);
    return { secret, record: toRecord(doc) };
  }

  return {
    async issue({ kind, scope = null, label = '' }) {
      ctx.check();
      return issueNow(kind, kind === 'admin' ? null : scope, label);
    },

    async verify(secret, kind, scope = null) {
      ctx.check();
      const doc = await col.tokens.findOne({ hash: hashSecret(secret), revokedAt: null });
      if (doc === null || doc.kind !== kind) return null;
      if (kind === 'invoke' && doc.scope !== scope) return null;
      return toRecord(doc);
    },

    async rotate(id) {
      ctx.check();
      const old = await col.tokens.findOne({ _id: id, revokedAt: null });
      if (old === null) throw notFound(id);
      const next = await issueNow(old.kind, old.scope, old.label);
      const revoked = await col.tokens.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: ctx.now() } });
      if (revoked.modifiedCount === 0) {
        await col.tokens.deleteOne({ _id: next.record.id });
        throw notFound(id);
      }
      return next;
    },

    async revoke(id) {
      ctx.check();
      const revoked = await col.tokens.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: ctx.now() } });
      if (revoked.modifiedCount === 0) throw notFound(id);
    },

    async list(filter = {}) {
      ctx.check();
      const query: Record<string, unknown> = {};
      if (filter.kind !== undefined) query.kind = filter.kind;
      if (filter.scope !== undefined) query.scope = filter.scope;
      if (!filter.includeRevoked) query.revokedAt = null;
      return (await col.tokens.find(query).sort({ createdAt: -1, seq: -1 }).toArray()).map(toRecord);
    },
  };
}
