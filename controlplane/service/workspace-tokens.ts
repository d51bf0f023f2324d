/**
 * Workspace tokens (docs/adr/0011-tenants.md, "Tokens"): issued with a role and an optional
 * expiry, shown once, stored as keyed digests, listed with their last use, revocable. The token
 * index the API and the gateway read changes in the same turn as the store.
 */
import { PlatformError, type Role } from '../../protocol/index.js';
import { REVOKED_TOKENS_KEPT, type IssuedToken, type TokenRecord } from '../store/index.js';
import type { ServiceContext } from './context.js';

export interface NewWorkspaceToken {
  workspace: string;
  role: Role;
  label: string;
  expiresAt: number | null;
  /** The label of the token that asked. */
  createdBy: string;
}

/**
 * Tokens a workspace may hold, not revoked (expired ones are revoked to make room at the bound):
 * each is an entry of the in-memory index every API call and invoke looks tokens up in, and of
 * `GET /tokens`; an owner could create tens of thousands (red team of 2026-12-04), and, with
 * lifetimes of a millisecond, as many again (red team round 7).
 */
export const MAX_WORKSPACE_TOKENS = 1000;

/** Creates run one at a time in this process, so concurrent ones do not each see a free place. */
let creating: Promise<unknown> = Promise.resolve();

export function createToken(ctx: ServiceContext, input: NewWorkspaceToken): Promise<IssuedToken> {
  const turn = creating.then(() => createNow(ctx, input));
  creating = turn.catch(() => undefined);
  return turn;
}

async function createNow(ctx: ServiceContext, input: NewWorkspaceToken): Promise<IssuedToken> {
  const now = Date.now();
  const held = await ctx.store.tokens.list({ kind: 'workspace', scope: input.workspace });
  let live = held.length;
  // An expired token holds a place until it is revoked: it stays in every process's token index and
  // in each list of the workspace's tokens. Before (red team round 7), the bound counted live tokens
  // only, and an owner creating tokens with `expiresIn: 1ms` held as many as it liked (7 700 in five
  // minutes: each create, which lists them all, took 1 s, and /healthz waited up to 1.2 s). At the
  // bound, the expired ones are retired (revoked) to make room.
  if (live >= MAX_WORKSPACE_TOKENS) live -= await retireExpired(ctx, held, now);
  if (live >= MAX_WORKSPACE_TOKENS) {
    throw new PlatformError('QUOTA_EXCEEDED', `workspace "${input.workspace}" holds ${live} live tokens, the most it may (${MAX_WORKSPACE_TOKENS}): revoke some first (fastapi-platform tokens list, tokens revoke <id>)`, {
      quota: 'tokens', workspace: input.workspace, limit: MAX_WORKSPACE_TOKENS, used: live,
    });
  }
  const issued = await ctx.store.tokens.issue({ kind: 'workspace', scope: input.workspace, role: input.role, label: input.label, expiresAt: input.expiresAt, createdBy: input.createdBy });
  ctx.tokens.add(issued.record);
  ctx.bus.publish({ kind: 'tokens' });
  return issued;
}

/** Revokes the expired ones of `held`; how many it revoked (one revoked meanwhile elsewhere counts too). */
async function retireExpired(ctx: ServiceContext, held: readonly TokenRecord[], now: number): Promise<number> {
  const expired = held.filter((t) => t.expiresAt !== null && t.expiresAt <= now);
  for (const t of expired) {
    try {
      await ctx.store.tokens.revoke(t.id, { keepRevoked: REVOKED_TOKENS_KEPT });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'TOKEN_NOT_FOUND') throw err;
    }
    ctx.tokens.remove(t.id);
  }
  if (expired.length > 0) ctx.bus.publish({ kind: 'tokens' });
  return expired.length;
}

/**
 * Revoked tokens a list shows at most (the newest): an owner makes one per create of a token that
 * expires at once (red team round 7: 4 005 listed in 0.21 s, growing). The store keeps as many
 * (REVOKED_TOKENS_KEPT, ADR 0103) and deletes older ones as more are revoked.
 */
export const MAX_LISTED_REVOKED_TOKENS = 1000;

/** The workspace's tokens, newest first (with `includeRevoked`, the newest revoked ones too); uses noted so far written first. */
export async function listTokens(ctx: ServiceContext, workspace: string, includeRevoked: boolean): Promise<TokenRecord[]> {
  await ctx.tokens.flushUses();
  return ctx.store.tokens.list({ kind: 'workspace', scope: workspace, includeRevoked, revokedLimit: MAX_LISTED_REVOKED_TOKENS });
}

/** Revokes a live token of the workspace; any other id (another workspace's, an invoke or the admin token) is TOKEN_NOT_FOUND. */
export async function revokeToken(ctx: ServiceContext, workspace: string, id: string): Promise<TokenRecord> {
  const live = await ctx.store.tokens.list({ kind: 'workspace', scope: workspace });
  const record = live.find((t) => t.id === id);
  if (record === undefined) throw new PlatformError('TOKEN_NOT_FOUND', `no live token ${JSON.stringify(id)} in this workspace`, { field: 'id' });
  await ctx.store.tokens.revoke(id, { keepRevoked: REVOKED_TOKENS_KEPT });
  ctx.tokens.remove(id);
  ctx.bus.publish({ kind: 'tokens' });
  return { ...record, revokedAt: Date.now() };
}
