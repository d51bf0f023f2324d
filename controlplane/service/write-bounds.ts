/**
 * What a tenant's changes through the API may grow (docs/adr/0103-api-writes-bounded.md): each
 * change is a row or more of the store (its audit entry at least), so a workspace's tokens make at
 * most FP_API_WRITE_RATE changes a minute (a bucket of that many, refilled over the minute, shared
 * by every process through the admission limiter), and a workspace keeps its newest
 * FP_AUDIT_MAX_ENTRIES audit entries (the store trims the oldest as it appends).
 */
import { PlatformError } from '../../protocol/index.js';
import type { ServiceContext } from './context.js';

export const DEFAULT_API_WRITE_RATE = 600;
export const DEFAULT_AUDIT_MAX_ENTRIES = 100_000;

const MINUTE_MS = 60_000;

/**
 * Takes one change of `workspace`'s rate, or throws API_RATE_LIMITED (429, Retry-After). The
 * bucket's key cannot be a function's (a function key has no `:`).
 */
export async function meterWrite(ctx: ServiceContext, workspace: string): Promise<void> {
  const perMinute = ctx.settings.apiWriteRate;
  if (perMinute <= 0) return;
  const verdict = await ctx.limiter.admit(workspace, { fn: `api-writes:${workspace}`, requests: perMinute, periodMs: MINUTE_MS, burst: perMinute }, null);
  if (verdict.ok) return;
  const retryAfterS = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
  throw new PlatformError('API_RATE_LIMITED', `workspace "${workspace}" may make ${perMinute} changes a minute through the API (FP_API_WRITE_RATE); retry in ${retryAfterS} s`, {
    workspace, limit: perMinute, retryAfterS,
  });
}

/** The `keep` of an audit append: the install's bound, none when it is 0. */
export function auditKeep(ctx: ServiceContext): { keep?: number } {
  const keep = ctx.settings.auditMaxEntries;
  return keep > 0 ? { keep } : {};
}
