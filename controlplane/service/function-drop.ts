/** A deleted function leaves this process (ADR 0156): used by its delete, and by a change from another process. */
import type { ServiceContext } from './context.js';

/**
 * What this process holds of a function that is gone: its registry entry, tokens, connections,
 * instances, series, code directories, webhook refusal tallies and cron triggers. No store read (ADR 0156: it may be the
 * store that failed); a function created again meanwhile comes back at its next read (a catch-up).
 */
export async function dropFunction(ctx: ServiceContext, name: string): Promise<void> {
  if (ctx.registry.recordOf(name) !== null) ctx.forgetSeries(name);
  ctx.registry.remove(name);
  ctx.tokens.removeScope(name);
  ctx.pool.endConnections?.(name, 'FUNCTION_NOT_FOUND');
  ctx.pool.drain(name);
  ctx.pool.forget?.(name);
  await ctx.code.removeFunction(name);
  ctx.hookRefusals?.forget(name);
  await ctx.cron?.forget(name);
}
