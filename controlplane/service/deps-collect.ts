/**
 * Dependency sites no version uses are removed (docs/dependencies.md, "Removal"): each distinct
 * requirements lock adds a site of up to FP_DEPS_MAX_BYTES, and before this they stayed after their
 * functions were deleted, so a deployer filled the disk with new pins (red team of 2026-12-04).
 * The keys in use are those of every stored version of every workspace, read from the store; a
 * listing that fails removes nothing.
 */
import type { ServiceContext } from './context.js';

const PAGE = 100;

/** When the collector looks: a minute after start, hourly, and after a function is deleted. */
export const COLLECT_FIRST_MS = 60_000;
export const COLLECT_EVERY_MS = 3_600_000;

/** The dependency keys every stored version (of `workspace`, or all) declares; throws when the store cannot list them all. */
export async function liveDepsKeys(ctx: Pick<ServiceContext, 'store' | 'deps'>, workspace?: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const fn of await ctx.store.functions.list(workspace !== undefined ? { workspace } : {})) {
    let before: number | undefined;
    for (;;) {
      const page = await ctx.store.versions.list(fn.name, { limit: PAGE, ...(before !== undefined ? { before } : {}) });
      for (const summary of page) {
        const version = await ctx.store.versions.get(fn.name, summary.version);
        const key = version === null ? null : ctx.deps.keyOf(version);
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

/** Schedules collections; `soon()` asks for one within a minute (at most `keepMs`); `stop()` ends them. */
export class DepsCollector {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = Infinity;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly ctx: Pick<ServiceContext, 'store' | 'deps' | 'log'>, private readonly keepMs: number) {}

  start(): void {
    this.schedule(Math.min(COLLECT_FIRST_MS, this.keepMs));
  }

  /** After a function is deleted: its sites may be unused now. */
  soon(): void {
    this.schedule(Math.min(COLLECT_FIRST_MS, this.keepMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs a collection in `delayMs`, unless one is due sooner (deletes in a row do not keep putting it off). */
  private schedule(delayMs: number): void {
    if (this.stopped || Date.now() + delayMs >= this.dueAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.dueAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dueAt = Infinity;
      this.running = (this.running ?? Promise.resolve()).then(() => collectDependencySites(this.ctx, this.keepMs));
      void this.running.then(() => this.schedule(COLLECT_EVERY_MS));
    }, delayMs);
    this.timer.unref();
  }
}
