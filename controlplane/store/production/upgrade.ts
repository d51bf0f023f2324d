/**
 * The upgrade of a schema-1 MongoDB database to schema 2 (secrets at rest, docs/adr/0009):
 * token documents get a keyed `digest` (made from their stored sha256, so no secret is needed)
 * and lose the plain `hash`; clear webhook secrets are sealed. Run by `ensureSchema` before the
 * schema marker says 2, so a crash part-way is finished by the next open. Every step is safe to
 * run twice or by two processes at once: the digest is computed from the untouched `hash`, `hash`
 * is removed only once a digest is there, and any envelope of the same value is as good as another.
 * A token document written later without a key id is never upgraded, so it never matches.
 */
import { DEFAULT_WORKSPACE } from '../../../protocol/index.js';
import { sealLegacyHooks } from '../sealed.js';
import { NO_QUOTAS } from '../types.js';
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

/**
 * Schema 3 (docs/adr/0011-tenants.md). Every open makes sure the workspace `default` exists (an
 * insert of its first revision: two processes opening at once cannot both write it). A database
 * from before workspaces (`legacy`) also gets: `workspace: 'default'` on its functions, versions,
 * runs and logs; a slot per live function (so the `functions` quota counts them); a grant of every
 * content its versions use. Each step is safe to run twice: an interrupted upgrade is finished by
 * the next open. Logs written before carry no `bytes`: they do not count against `logBytes`.
 */
export async function upgradeToV3(col: Collections, now: number, legacy: boolean): Promise<void> {
  try {
    await col.workspaces.insertOne({ _id: `${DEFAULT_WORKSPACE}/1`, name: DEFAULT_WORKSPACE, seq: 1, deleted: false, quotas: { ...NO_QUOTAS }, createdAt: now, updatedAt: now });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 11000) throw err;
  }
  if (!legacy) return;
  const unset = { workspace: { $exists: false } };
  await col.functions.updateMany(unset, { $set: { workspace: DEFAULT_WORKSPACE } });
  await col.versions.updateMany(unset, { $set: { workspace: DEFAULT_WORKSPACE } });
  await col.runs.updateMany(unset, { $set: { workspace: DEFAULT_WORKSPACE } });
  await col.logs.updateMany(unset, { $set: { workspace: DEFAULT_WORKSPACE } });
  const live: string[] = [];
  let last: string | null = null;
  for (const doc of await col.functions.find({}, { projection: { name: 1, deleted: 1 } }).sort({ name: 1, seq: -1 }).toArray()) {
    if (doc.name === last) continue;
    last = doc.name;
    if (!doc.deleted) live.push(doc.name);
  }
  const slotted = new Set((await col.slots.find({ workspace: DEFAULT_WORKSPACE }).toArray()).map((s) => s.function));
  let next = 1;
  const taken = new Set((await col.slots.find({ workspace: DEFAULT_WORKSPACE }).toArray()).map((s) => s.slot));
  for (const name of live) {
    if (slotted.has(name)) continue;
    while (taken.has(next)) next++;
    try {
      await col.slots.insertOne({ _id: `${DEFAULT_WORKSPACE}#${next}`, workspace: DEFAULT_WORKSPACE, slot: next, function: name, at: now });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 11000) throw err;
    }
    taken.add(next);
  }
  const hashes = new Set<string>();
  for (const doc of await col.versions.find({}, { projection: { files: 1 } }).toArray()) for (const f of doc.files) hashes.add(f.sha256);
  for (const sha of hashes) {
    try {
      await col.grants.insertOne({ _id: `${DEFAULT_WORKSPACE}/${sha}`, workspace: DEFAULT_WORKSPACE });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 11000) throw err;
    }
  }
}

/**
 * Schema 4: every audit entry gets `wseq`, its number within its workspace, in the order of `_id`.
 * Safe to run twice: it numbers every entry again from the same order.
 */
export async function upgradeToV4(col: Collections): Promise<void> {
  const next = new Map<string | null, number>();
  for (const doc of await col.audit.find({}, { projection: { _id: 1, workspace: 1 } }).sort({ _id: 1 }).toArray()) {
    const n = (next.get(doc.workspace) ?? 0) + 1;
    next.set(doc.workspace, n);
    await col.audit.updateOne({ _id: doc._id }, { $set: { wseq: n } });
  }
}

/**
 * At every open after schema 4: entries without `wseq` get the next numbers of their workspace, in
 * the order of `_id`. A process of an older build still running beside a newer one (a rolling
 * upgrade) appends without it: those entries were listed with `seq: null`, after every numbered
 * one, and no cursor reached them (upgrade round 1). Numbers already given never change.
 */
export async function numberAuditLeftovers(col: Collections): Promise<number> {
  const left = await col.audit.find({ wseq: { $exists: false } }, { projection: { _id: 1, workspace: 1 } }).sort({ _id: 1 }).toArray();
  const next = new Map<string | null, number>();
  for (const doc of left) {
    if (!next.has(doc.workspace)) {
      const top = await col.audit.find({ workspace: doc.workspace, wseq: { $exists: true } }, { projection: { wseq: 1 } }).sort({ wseq: -1 }).limit(1).next();
      next.set(doc.workspace, top?.wseq ?? 0);
    }
    const n = next.get(doc.workspace)! + 1;
    next.set(doc.workspace, n);
    await col.audit.updateOne({ _id: doc._id, wseq: { $exists: false } }, { $set: { wseq: n } });
  }
  return left.length;
}
