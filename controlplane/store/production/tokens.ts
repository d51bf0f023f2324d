/**
 * TokenStore on MongoDB: only keyed digests of secrets are written (`digest` with its `keyId`; see
 * ../secrets.ts), looked up through an index on `digest`; a document without a key id, or whose
 * digest was not made with a key in the ring, matches no secret. `rotate` inserts the replacement first and then revokes the old
 * token conditioned on it still being live; if that loses a race the replacement is removed again.
 * A crash in between leaves the old token working and an extra token whose secret nobody saw.
 */
import { StoreError } from '../errors.js';
import { newId, newSecret, sameDigest, tokenInput } from '../secrets.js';
import type { IssuedToken, NewToken, TokenRecord, TokenStore } from '../types.js';
import type { MongoContext, TokenDoc } from './context.js';
import { liveFunction } from './functions.js';
import { liveWorkspace } from './workspaces.js';

function toRecord(doc: TokenDoc): TokenRecord {
  return {
    id: doc._id,
    kind: doc.kind,
    scope: doc.scope,
    label: doc.label,
    keyId: doc.keyId ?? null,
    digest: doc.digest ?? '',
    role: doc.role ?? null,
    expiresAt: doc.expiresAt ?? null,
    lastUsedAt: doc.lastUsedAt ?? null,
    createdBy: doc.createdBy ?? '',
    createdAt: doc.createdAt,
    revokedAt: doc.revokedAt,
  };
}

function notFound(id: string): StoreError {
  return new StoreError('TOKEN_NOT_FOUND', `no live token ${id}`, { id });
}

export function mongoTokenStore(ctx: MongoContext): TokenStore {
  const { col, ring } = ctx;
  // The newest `keep` revoked ones of a kind and scope stay (by_scope).
  const dropRevoked = async (kind: TokenDoc['kind'], scope: TokenDoc['scope'], keep: number | undefined): Promise<void> => {
    if (keep === undefined) return;
    const older = await col.tokens.find({ kind, scope, revokedAt: { $ne: null } }, { projection: { _id: 1 } }).sort({ createdAt: -1, seq: -1 }).skip(keep).limit(1000).toArray();
    if (older.length > 0) await col.tokens.deleteMany({ _id: { $in: older.map((d) => d._id) } });
  };
  let counter = 0;

  async function issueNow(input: Required<NewToken>, gen?: number): Promise<IssuedToken> {
    const secret = newSecret(input.kind);
    const createdAt = ctx.now();
    counter = (counter + 1) % 1000;
    const doc: TokenDoc = {
      _id: newId('tok_'), kind: input.kind, scope: input.scope, label: input.label, digest: ring.tokenDigest(secret), keyId: ring.currentId,
      createdAt, seq: createdAt * 1000 + counter, revokedAt: null, role: input.role, expiresAt: input.expiresAt, lastUsedAt: null, createdBy: input.createdBy,
      ...(gen !== undefined ? { gen } : {}),
    };
    await col.tokens.insertOne(doc);
    return { secret, record: toRecord(doc) };
  }

  return {
    async issue(input) {
      ctx.check();
      // An invoke token carries its function's incarnation (ADR 0159): a late cleanup of an
      // earlier function of this name leaves it alone.
      const gen = input.kind === 'invoke' && input.scope !== null && input.scope !== undefined ? (await liveFunction(ctx, input.scope))?.base : undefined;
      const issued = await issueNow(tokenInput(input), gen);
      // A workspace's token is written first, then its workspace read: a delete writes its
      // tombstone first, then revokes the workspace's tokens, so either it revokes this one or this
      // read sees the tombstone (./workspaces.ts). One issued after the delete outlived the workspace
      // and was a token of the workspace created again under the name, another tenant's (red team round 38).
      if (input.kind === 'workspace' && (await liveWorkspace(ctx, issued.record.scope ?? '')) === null) {
        await col.tokens.updateOne({ _id: issued.record.id, revokedAt: null }, { $set: { revokedAt: ctx.now() } });
        throw new StoreError('WORKSPACE_NOT_FOUND', `no workspace named ${issued.record.scope ?? ''}`, { workspace: issued.record.scope });
      }
      return issued;
    },

    async verify(secret, kind, scope = null) {
      ctx.check();
      for (const keyId of ring.ids) {
        const doc = await col.tokens.findOne({ digest: ring.tokenDigest(secret, keyId), keyId, revokedAt: null });
        if (doc === null) continue;
        if (doc.kind !== kind || (kind !== 'admin' && doc.scope !== scope)) return null;
        return toRecord(doc);
      }
      return null;
    },

    async rotate(id, options = {}) {
      ctx.check();
      const old = await col.tokens.findOne({ _id: id, revokedAt: null });
      if (old === null) throw notFound(id);
      const next = await issueNow({ kind: old.kind, scope: old.scope, label: old.label, role: old.role ?? null, expiresAt: old.expiresAt ?? null, createdBy: old.createdBy ?? '' }, old.gen);
      const revoked = await col.tokens.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: ctx.now() } });
      if (revoked.modifiedCount === 0) {
        await col.tokens.deleteOne({ _id: next.record.id });
        throw notFound(id);
      }
      await dropRevoked(old.kind, old.scope, options.keepRevoked);
      return next;
    },

    async revoke(id, options = {}) {
      ctx.check();
      const doc = await col.tokens.findOne({ _id: id, revokedAt: null }, { projection: { kind: 1, scope: 1 } });
      const revoked = await col.tokens.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: ctx.now() } });
      if (doc === null || revoked.modifiedCount === 0) throw notFound(id);
      await dropRevoked(doc.kind, doc.scope, options.keepRevoked);
    },

    async rekey(id, secret) {
      ctx.check();
      const doc = await col.tokens.findOne({ _id: id, revokedAt: null });
      if (doc === null || typeof doc.keyId !== 'string' || typeof doc.digest !== 'string' || !ring.has(doc.keyId)) return null;
      if (!sameDigest(ring.tokenDigest(secret, doc.keyId), doc.digest)) return null;
      if (doc.keyId === ring.currentId) return toRecord(doc);
      // Two processes re-keying at once compute the same digest: the repeat is harmless.
      const digest = ring.tokenDigest(secret);
      const done = await col.tokens.updateOne({ _id: id, digest: doc.digest, revokedAt: null }, { $set: { digest, keyId: ring.currentId } });
      return done.matchedCount === 0 ? null : toRecord({ ...doc, digest, keyId: ring.currentId });
    },

    async list(filter = {}) {
      ctx.check();
      const query: Record<string, unknown> = {};
      if (filter.kind !== undefined) query.kind = filter.kind;
      if (filter.scope !== undefined) query.scope = filter.scope;
      if (filter.includeRevoked && filter.revokedLimit !== undefined) {
        // Every live one, and the newest revoked ones only.
        const live = await col.tokens.find({ ...query, revokedAt: null }).toArray();
        const revoked = await col.tokens.find({ ...query, revokedAt: { $ne: null } }).sort({ createdAt: -1, seq: -1 }).limit(filter.revokedLimit).toArray();
        return [...live, ...revoked].sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq).map(toRecord);
      }
      if (!filter.includeRevoked) query.revokedAt = null;
      return (await col.tokens.find(query).sort({ createdAt: -1, seq: -1 }).toArray()).map(toRecord);
    },

    async touch(uses) {
      ctx.check();
      // Best effort per token: a later time only moves lastUsedAt forward.
      await Promise.all(uses.map((use) =>
        col.tokens.updateOne({ _id: use.id, revokedAt: null, $or: [{ lastUsedAt: null }, { lastUsedAt: { $exists: false } }, { lastUsedAt: { $lt: use.at } }] }, { $set: { lastUsedAt: use.at } })));
    },
  };
}
