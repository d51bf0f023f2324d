/** SecretKeys on SQLite: re-seal in place (same plaintext, so no revision change), count what each key protects. */
import type { Database } from 'better-sqlite3';
import { countSealed, keyUsage, resealFields } from '../sealed.js';
import type { KeyUsage, SecretKeys } from '../types.js';
import type { SqliteContext } from './context.js';
import { storedJson, type StoredSettings } from './functions.js';

export function sqliteSecretKeys(ctx: SqliteContext): SecretKeys {
  const { db, ring } = ctx;
  const all = db.prepare('SELECT name, settings FROM functions');
  const write = db.prepare('UPDATE functions SET settings = ? WHERE name = ?');
  const tokensByKey = db.prepare('SELECT key_id, count(*) AS n FROM tokens WHERE revoked_at IS NULL GROUP BY key_id');
  return {
    async reencrypt() {
      ctx.check();
      return db.transaction(() => {
        let changed = 0;
        for (const row of all.all() as { name: string; settings: string }[]) {
          const settings = JSON.parse(row.settings) as StoredSettings;
          const again = resealFields(ring, row.name, settings);
          if (again.changed === 0) continue;
          write.run(storedJson({ ...settings, ...again }), row.name);
          changed += again.changed;
        }
        return changed;
      }).immediate();
    },

    async usage() {
      ctx.check();
      const fields = new Map<string | null, number>();
      for (const row of all.all() as { settings: string }[]) countSealed(fields, JSON.parse(row.settings) as StoredSettings);
      const tokens = new Map<string | null, number>();
      for (const row of tokensByKey.all() as { key_id: string | null; n: number }[]) tokens.set(row.key_id, row.n);
      return keyUsage(fields, tokens);
    },
  };
}

/**
 * What each key protects in a platform.db as found, at `schema` (before its migrations): read only.
 * Before schema 3 (keyed token digests, sealed webhook secrets) nothing names a key but sealed env
 * values, and clear webhook secrets are the migration's to seal: only keyed values are counted.
 */
export function keyUsageAsFound(db: Database, schema: number): KeyUsage[] {
  const fields = new Map<string | null, number>();
  for (const row of db.prepare('SELECT settings FROM functions').all() as { settings: string }[]) countSealed(fields, JSON.parse(row.settings) as StoredSettings);
  if (schema < 3) fields.delete(null);
  const tokens = new Map<string | null, number>();
  if (schema >= 3) for (const row of db.prepare('SELECT key_id, count(*) AS n FROM tokens WHERE revoked_at IS NULL GROUP BY key_id').all() as { key_id: string | null; n: number }[]) tokens.set(row.key_id, row.n);
  return keyUsage(fields, tokens);
}
