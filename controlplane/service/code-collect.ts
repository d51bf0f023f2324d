/**
 * Code directories of versions that are no longer active are removed once no process here runs from
 * them and no call waits for them (PoolDrain.holdsDir): a version's directory is a whole copy of its
 * code (code-dirs.ts), so every deploy added one and a function deployed from CI many times a day
 * filled the disk. The store keeps versions until deleted (ADR 0098; a deleted version's directory
 * goes here too, once no call runs on it); a rollback writes its directory again (`ensure`,
 * under the function's lock, as this is). Runs a minute after a deploy, a rollback or a change
 * applied from another process, and every ten minutes (FP_CODE_COLLECT_INTERVAL_MS).
 */
import { Collector } from './collector.js';
import type { ServiceContext } from './context.js';

export const CODE_COLLECT_FIRST_MS = 60_000;
export const CODE_COLLECT_EVERY_MS = 600_000;

type Needs = Pick<ServiceContext, 'code' | 'registry' | 'pool' | 'locks' | 'log'>;

/** Removes what it may now; returns how many version directories it removed. Never rejects. */
export async function collectVersionDirs(ctx: Needs): Promise<number> {
  const holds = ctx.pool.holdsDir;
  if (holds === undefined) return 0; // a pool that cannot say: nothing is known to be unused
  let removed = 0;
  try {
    for (const name of await ctx.code.functions()) {
      removed += await ctx.locks.run(name, async () => {
        const record = ctx.registry.recordOf(name);
        if (record === null) return 0; // not loaded (yet), or deleted: start-up and delete handle those
        return ctx.code.removeVersions(name, (version, dir) => version === record.activeVersion || holds.call(ctx.pool, dir));
      });
    }
  } catch (err) {
    ctx.log(`controlplane: unused version directories not all removed this time: ${(err as Error).message}`);
  }
  return removed;
}

/** Collections a minute after start and after a switch (or `everyMs`, if sooner), then every `everyMs`. */
export function codeCollector(ctx: Needs, everyMs = CODE_COLLECT_EVERY_MS): Collector {
  const first = Math.min(CODE_COLLECT_FIRST_MS, everyMs);
  return new Collector(async () => void (await collectVersionDirs(ctx)), first, everyMs);
}
