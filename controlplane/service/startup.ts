/**
 * What a start rebuilds from the store: the admin token (issued on the very first start), the
 * registry the gateway reads (every function, its active version's files written to disk again
 * if missing), and a clean code directory (no leftovers of deleted functions or crashed writes).
 */
import { hostname } from 'node:os';
import type { Store } from '../store/index.js';
import { versionTraits, type StoreRegistry } from '../registry/store-registry.js';
import type { CodeDirs } from './code-dirs.js';
import type { TokenIndex } from './tokens.js';
import { oneLogLine, PlatformError } from '../../protocol/index.js';

/** Versions materialized at once at start. */
const CONCURRENCY = 4;

/**
 * Issues an admin token when there is none (first start), or when `rotate` is set (a lost token:
 * every admin token is revoked first). Returns its id and clear secret only then; the secret is never stored.
 */
export async function bootstrapAdminToken(store: Store, tokens: TokenIndex, rotate: boolean, audit: { keep?: number; log: (line: string) => void } = { log: () => {} }): Promise<{ id: string; secret: string } | null> {
  const live = await store.tokens.list({ kind: 'admin' });
  if (live.length > 0 && !rotate) return null;
  // A rotation replaces the token of a platform that exists. In production a mistyped FP_MONGO_DB
  // (or another server) opened an empty database, and the rotation made a new platform there and
  // printed its first token as the replacement (new-user round 5; main.ts refuses the embedded case
  // before opening anything).
  if (rotate && live.length === 0) {
    throw new PlatformError('USAGE', '--rotate-admin-token replaces the admin token of an existing platform, and this store holds none (no admin token): check FP_MONGO_URL, FP_MONGO_DB and FP_REDIS_PREFIX (production) or the state directory; nothing was served');
  }
  for (const old of live) {
    await store.tokens.revoke(old.id);
    tokens.remove(old.id);
  }
  const issued = await store.tokens.issue({ kind: 'admin', label: 'admin' });
  tokens.add(issued.record);
  // In the audit log as the API's rotation is (install-wide): it was in none, so `audit --all`
  // never showed that every admin token had been replaced, when, or on which host (ops round 5).
  // A failed write does not undo the rotation; the log says so, as for the API's entries.
  if (rotate) {
    const by = `--rotate-admin-token on ${hostname()}`;
    await store.audit.append({
      at: Date.now(), actor: { tokenId: 'platform', label: by, role: 'root' }, address: '', workspace: null,
      action: 'admin-token.rotate', target: live[0]!.id, detail: { newTokenId: issued.record.id, revoked: live.map((t) => t.id) },
    }, audit.keep !== undefined ? { keep: audit.keep } : {}).catch((err: unknown) => audit.log(`controlplane: could not write the audit entry admin-token.rotate: ${err instanceof Error ? err.message : String(err)}`));
  }
  return { id: issued.record.id, secret: issued.secret };
}

/** Fills the registry from the store; returns how many functions it loaded. */
export async function loadFunctions(store: Store, registry: StoreRegistry, code: CodeDirs, log: (line: string) => void): Promise<number> {
  const functions = await store.functions.list();
  await code.prune(new Set(functions.map((f) => f.name)));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < functions.length) {
      const record = functions[next++]!;
      if (record.activeVersion === null) {
        registry.set(record, null);
        continue;
      }
      const version = await store.versions.get(record.name, record.activeVersion);
      if (version === null) {
        // Cannot happen through the ports (the active version is never deleted: VERSION_ACTIVE); serve "not deployed" rather than fail the start.
        log(`controlplane: ${record.name} names active version ${record.activeVersion}, which is missing; not serving it`);
        registry.set({ ...record, activeVersion: null }, null);
        continue;
      }
      try {
        await code.ensure(version);
      } catch (err) {
        // One broken function (e.g. a blob deleted by hand) must not keep the others down.
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('DEPS_')) {
          // Its dependencies, not its files: "cannot write … to disk" sent the operator to the disk,
          // and it named no way back (new-user round 4, after a start with new FP_DEPS_* settings).
          log(`controlplane: not serving ${record.name} version ${version.version}: its dependencies could not be installed (${code}: ${oneLogLine((err as Error).message)}); a start does not build a failed one again: \`deploy --force\` in its folder builds and serves a new version`);
        } else {
          log(`controlplane: cannot write ${record.name} version ${version.version} to disk (${oneLogLine((err as Error).message)}); not serving it until it is deployed again`);
        }
        registry.set({ ...record, activeVersion: null }, null);
        continue;
      }
      registry.set(record, version.entrypoint, versionTraits(version.manifest));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return functions.length;
}
