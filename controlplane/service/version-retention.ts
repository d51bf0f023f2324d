/**
 * Deleting versions, keeping the last N on deploy, and collecting the contents no version uses
 * (docs/adr/0098-deleting-versions.md, docs/adr/0099-collecting-contents.md). A deleted version's
 * code directory goes like any version that is not active, once no call runs on it
 * (code-collect.ts): a call still running on it finishes.
 */
import { BLOB_GRACE_MS } from '../store/index.js';
import type { FunctionRecord } from '../store/index.js';
import { Collector } from './collector.js';
import type { ServiceContext } from './context.js';
import { getFunction } from './functions.js';

/** FP_KEEP_VERSIONS' default: the versions of a function kept by retention (0: all). */
export const DEFAULT_KEEP_VERSIONS = 20;

/**
 * Deletes one version: VERSION_NOT_FOUND, VERSION_ACTIVE, VERSION_IN_USE (the store checks; under
 * the function's lock, so a deploy or rollback of this process cannot race it).
 */
export async function deleteVersion(ctx: ServiceContext, name: string, version: number): Promise<void> {
  await ctx.locks.run(name, async () => {
    await getFunction(ctx, name);
    await ctx.store.versions.delete(name, version);
  });
  afterDelete(ctx);
}

/**
 * Retention after a deploy (under the function's lock): every version but the `keepVersions`
 * newest, the active one, the one a bare rollback goes to (`rollbackTo`) and the draft's base.
 * A failure is logged, never the deploy's. Returns the numbers deleted.
 */
export async function pruneAfterDeploy(ctx: ServiceContext, record: FunctionRecord, rollbackTo: number | null): Promise<number[]> {
  const keep = ctx.settings.keepVersions;
  if (keep <= 0) return [];
  try {
    const protect = [record.activeVersion, rollbackTo].filter((v): v is number => v !== null);
    const deleted = await ctx.store.versions.prune(record.name, keep, protect);
    if (deleted.length > 0) {
      ctx.log(`controlplane: retention deleted ${deleted.length} version(s) of ${record.name} (keeping the last ${keep}): ${deleted.join(', ')}`);
      afterDelete(ctx);
    }
    return deleted;
  } catch (err) {
    ctx.log(`controlplane: retention of ${record.name}'s versions did not run this time: ${String(err)}`);
    return [];
  }
}

/** A version went: its contents, directory and dependency site may be unused now. */
function afterDelete(ctx: ServiceContext): void {
  ctx.blobCollector.soon();
  ctx.codeCollector.soon();
  ctx.depsCollector.soon();
}

type Needs = Pick<ServiceContext, 'store' | 'staged' | 'log'>;

/** Deletes the contents no version uses, untouched for BLOB_GRACE_MS; returns how many. Never rejects. */
export async function collectContents(ctx: Needs, graceMs = BLOB_GRACE_MS): Promise<number> {
  try {
    // Contents uploaded alone here and not used yet are kept whatever their age (staged-uploads.ts).
    const { removed, bytes } = await ctx.store.versions.collectBlobs(Date.now() - graceMs, ctx.staged.all());
    if (removed > 0) ctx.log(`controlplane: deleted ${removed} content(s) no version uses (${bytes} bytes)`);
    return removed;
  } catch (err) {
    ctx.log(`controlplane: unused contents not collected this time: ${(err as Error).message}`);
    return 0;
  }
}

/** Collections a minute after start and after a delete, then every `everyMs`. */
export function contentCollector(ctx: Needs, everyMs: number): Collector {
  return new Collector(async () => void (await collectContents(ctx)), Math.min(60_000, everyMs), everyMs);
}
