/**
 * SecretKeys on MongoDB. The newest revision document of each function is re-sealed in place (same
 * plaintext, so its revision does not change; a writer racing with it copies either envelope,
 * both valid), and the older revisions lose their sealed values (nothing reads them). A revision
 * inserted meanwhile by another process may still carry an old key: `usage()` shows it; run again.
 */
import { countSealed, keyUsage, resealFields } from '../sealed.js';
import type { SecretKeys } from '../types.js';
import type { EnvPair, FunctionDoc, MongoContext } from './context.js';
import { scrubOlderRevisions } from './functions.js';

const toMap = (pairs: readonly EnvPair[] | undefined): Record<string, string> | undefined =>
  pairs === undefined ? undefined : Object.fromEntries(pairs.map(({ k, v }) => [k, v]));

/** The newest revision document of every function (tombstones included). */
async function newest(ctx: MongoContext): Promise<FunctionDoc[]> {
  const out: FunctionDoc[] = [];
  let last: string | null = null;
  for (const doc of await ctx.col.functions.find({}).sort({ name: 1, seq: -1 }).toArray()) {
    if (doc.name === last) continue;
    last = doc.name;
    out.push(doc);
  }
  return out;
}

export function mongoSecretKeys(ctx: MongoContext): SecretKeys {
  const { col, ring } = ctx;
  return {
    async reencrypt() {
      ctx.check();
      let changed = 0;
      for (const doc of await newest(ctx)) {
        const again = resealFields(ring, doc.name, { secrets: toMap(doc.secrets), hookSecrets: doc.hookSecrets ?? undefined });
        if (again.changed > 0) {
          const set: Partial<FunctionDoc> = {};
          if (again.secrets !== undefined) set.secrets = Object.entries(again.secrets).map(([k, v]) => ({ k, v }));
          if (again.hookSecrets !== undefined) set.hookSecrets = again.hookSecrets;
          await col.functions.updateOne({ _id: doc._id }, { $set: set });
          changed += again.changed;
        }
        await scrubOlderRevisions(ctx, doc.name, doc.seq);
      }
      return changed;
    },

    async usage() {
      ctx.check();
      const fields = new Map<string | null, number>();
      for (const doc of await newest(ctx)) {
        if (!doc.deleted) countSealed(fields, { secrets: toMap(doc.secrets), hookSecrets: doc.hookSecrets ?? undefined });
      }
      const tokens = new Map<string | null, number>();
      for (const doc of await col.tokens.find({ revokedAt: null }, { projection: { keyId: 1 } }).toArray()) {
        const id = typeof doc.keyId === 'string' ? doc.keyId : null;
        tokens.set(id, (tokens.get(id) ?? 0) + 1);
      }
      return keyUsage(fields, tokens);
    },
  };
}
