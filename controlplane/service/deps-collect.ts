/**
 * Dependency sites no version uses are removed (docs/dependencies.md, "Removal and quota"): each distinct
 * requirements lock adds a site of up to FP_DEPS_MAX_BYTES, and before this they stayed after their
 * functions were deleted, so a deployer filled the disk with new pins (red team of 2026-12-04).
 * The keys in use are those of every stored version of every workspace, read from the store; a
 * listing that fails removes nothing.
 */
import { Collector } from './collector.js';
import type { ServiceContext } from './context.js';

const PAGE = 100;
/**
 * The longest the walk runs before it lets the event loop serve others (setImmediate). With the
 * embedded store every read is synchronous, so an `await` alone never yields: 8 000 versions of
 * 1 000 files each were one 3.6 s block of every workspace's calls, a minute after any function
 * was deleted (red team of 2026-12-05, fourth round).
 */
export const WALK_SLICE_MS = 5;

/** When the collector looks: a minute after start, hourly, and after a function is deleted. */
export const COLLECT_FIRST_MS = 60_000;
export const COLLECT_EVERY_MS = 3_600_000;

/** The dependency keys every stored version (of `workspace`, or all) declares; throws when the store cannot list them all. */
export async function liveDepsKeys(ctx: Pick<ServiceContext, 'store' | 'deps'>, workspace?: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let sliceStart = performance.now();
  const yieldNow = async (): Promise<void> => {
    if (performance.now() - sliceStart < WALK_SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
  for (const fn of await ctx.store.functions.list(workspace !== undefined ? { workspace } : {})) {
    let before: number | undefined;
    for (;;) {
      await yieldNow();
      const page = await ctx.store.versions.list(fn.name, { limit: PAGE, ...(before !== undefined ? { before } : {}) });
      for (const summary of page) {
        await yieldNow();
        const version = await ctx.store.versions.get(fn.name, summary.version);
        const key = version === null ? null : await ctx.deps.keyOf(version);
        if (key !== null) keys.add(key);
      }
      if (page.length < PAGE) break;
      before = page[page.length - 1]!.version;
    }
  }
  return keys;
}

/** Runs a collection now; never rejects (a failure is logged, nothing removed). */
export async function collectDependencySites(ctx: Pick<ServiceContext, 'store' | 'deps' | 'log'>, keepMs: number): Promise<void> {
  try {
    await ctx.deps.collect(await liveDepsKeys(ctx), keepMs);
  } catch (err) {
    ctx.log(`deps: unused sites not removed this time: ${(err as Error).message}`);
  }
}

/** Dependency collections: a minute after start (at most `keepMs`), hourly, and soon after a function is deleted. */
export function depsCollector(ctx: Pick<ServiceContext, 'store' | 'deps' | 'log'>, keepMs: number): Collector {
  const first = Math.min(COLLECT_FIRST_MS, keepMs);
  return new Collector(() => collectDependencySites(ctx, keepMs), first, COLLECT_EVERY_MS);
}
