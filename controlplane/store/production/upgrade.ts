/**
 * The upgrade of a schema-1 MongoDB database to schema 2 (secrets at rest, docs/adr/0009):
 * token documents get a keyed `digest` (made from their stored sha256, so no secret is needed)
 * and lose the plain `hash`; clear webhook secrets are sealed. Run by `ensureSchema` before the
 * schema marker says 2, so a crash part-way is finished by the next open. Every step is safe to
 * run twice or by two processes at once: the digest is computed from the untouched `hash`, `hash`
 * is removed only once a digest is there, and any envelope of the same value is as good as another.
 * A token document written later without a key id is never upgraded, so it never matches.
 */
import { sealLegacyHooks } from '../sealed.js';
import type { Keyring } from '../../secrets/index.js';
import type { Collections } from './context.js';

export async function upgradeToV2(col: Collections, ring: Keyring): Promise<void> {
  // Schema 1's unique index on `hash`: documents without `hash` would all collide on null.
  await col.tokens.dropIndex('by_hash').catch((err: unknown) => {
    if ((err as { code?: unknown }).code !== 27) throw err; // 27 IndexNotFound: dropped before
  });
  for (const doc of await col.tokens.find({ digest: { $exists: false }, hash: { $exists: true } }).toArray()) {
    if (typeof doc.hash !== 'string') continue;
    await col.tokens.updateOne({ _id: doc._id, digest: { $exists: false } }, { $set: { digest: ring.tokenDigestFromSha256(doc.hash), keyId: ring.currentId } });
  }
  await col.tokens.updateMany({ digest: { $exists: true }, hash: { $exists: true } }, { $unset: { hash: '' } });
  for (const doc of await col.functions.find({ hookSecrets: { $exists: true } }).toArray()) {
    if (doc.hookSecrets === undefined || doc.hookSecrets === null) continue;
    const { hookSecrets, changed } = sealLegacyHooks(ring, doc.name, doc.hookSecrets);
    if (changed > 0) await col.functions.updateOne({ _id: doc._id }, { $set: { hookSecrets } });
  }
}
