/**
 * `minWarm` made good ahead of calls: the version callers get now (deployed, rolled back to,
 * resumed, its limits changed, active at start, changed by another process) has its warm
 * instances started at once (PoolDrain.keepWarm), so the first call after a deploy is not cold.
 * Before, minWarm only kept instances from the reaper once calls had started them (apps round of
 * 2026-12-05).
 */
import type { ServiceContext } from './context.js';

type Needs = Pick<ServiceContext, 'registry' | 'pool'>;

/** Starts `name`'s warm instances when its active version has a minWarm and it is not paused. */
export function keepWarm(ctx: Needs, name: string): void {
  const held = ctx.registry.resolve(name);
  if (!held.found || held.paused || held.fn === null || !(held.fn.minWarm > 0)) return;
  ctx.pool.keepWarm?.(held.fn);
}

/** keepWarm for every function the registry holds (at start, after a resync). */
export function keepAllWarm(ctx: Needs): void {
  for (const fn of ctx.registry.list()) keepWarm(ctx, fn.name);
}
