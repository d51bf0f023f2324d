/**
 * API auth: every /api/v1 call carries `Authorization: Bearer <token>`, checked against the token
 * index (an HMAC and a map lookup; no store call): the install's root (admin) token, or a workspace
 * token with its role (docs/adr/0011-tenants.md). Invoke tokens are refused here with 403: they
 * are real tokens, but only for calling their function. Codes keep their names from before
 * workspaces (ADMIN_TOKEN_*): clients match on them.
 */
import { PlatformError, type Pairs, type RequiredRole } from '../../protocol/index.js';
import type { TokenIndex } from '../service/tokens.js';

/** Who calls: the token's id, its label and what it may do. */
export interface Principal {
  tokenId: string;
  /** What the history records as "who" (`createdBy`, `actor`). */
  label: string;
  kind: 'admin' | 'workspace';
  /** `root` for the admin token; a workspace token's role. */
  role: RequiredRole;
  /** A workspace token's workspace; null for the root token (it acts in any). */
  workspace: string | null;
  expiresAt: number | null;
}

export function authenticate(tokens: TokenIndex, headers: Pairs, now: number = Date.now()): Principal {
  const secret = bearer(headers);
  if (secret === null) throw new PlatformError('ADMIN_TOKEN_REQUIRED', 'send Authorization: Bearer <token> (the admin token, or a workspace token)');
  const entry = tokens.lookup(secret);
  if (entry === undefined) throw new PlatformError('ADMIN_TOKEN_INVALID', 'the token is unknown, was revoked or was rotated');
  if (entry.kind === 'invoke') throw new PlatformError('ADMIN_TOKEN_FORBIDDEN', 'an invoke token cannot call the API');
  if (tokens.expired(entry, now)) throw new PlatformError('TOKEN_EXPIRED', 'the token has expired; ask its workspace owner for a new one', { expiresAt: entry.expiresAt });
  return {
    tokenId: entry.id,
    label: entry.label || entry.id,
    kind: entry.kind,
    role: entry.kind === 'admin' ? 'root' : (entry.role ?? 'viewer'),
    workspace: entry.kind === 'workspace' ? entry.scope : null,
    expiresAt: entry.expiresAt,
  };
}

function bearer(headers: Pairs): string | null {
  for (const [key, value] of headers) {
    if (key !== 'authorization') continue;
    const match = /^Bearer +(\S+) *$/i.exec(value);
    return match ? match[1]! : null;
  }
  return null;
}
