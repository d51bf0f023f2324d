/**
 * Admin auth: every /api/v1 call carries `Authorization: Bearer <admin token>`, checked against
 * the token index (a hash and a map lookup; no store call). Invoke tokens are refused here with
 * 403: they are real tokens, but only for calling their function.
 */
import { PlatformError, type Pairs } from '../../protocol/index.js';
import type { TokenIndex } from '../service/tokens.js';

export interface AdminIdentity {
  tokenId: string;
  /** What the history records as "who" (`createdBy`, `actor`). */
  label: string;
}

export function authenticate(tokens: TokenIndex, headers: Pairs): AdminIdentity {
  const secret = bearer(headers);
  if (secret === null) throw new PlatformError('ADMIN_TOKEN_REQUIRED', 'send Authorization: Bearer <admin token>');
  const entry = tokens.lookup(secret);
  if (entry === undefined) throw new PlatformError('ADMIN_TOKEN_INVALID', 'the admin token is unknown or was rotated');
  if (entry.kind !== 'admin') throw new PlatformError('ADMIN_TOKEN_FORBIDDEN', 'an invoke token cannot call the admin API');
  return { tokenId: entry.id, label: entry.label || entry.id };
}

function bearer(headers: Pairs): string | null {
  for (const [key, value] of headers) {
    if (key !== 'authorization') continue;
    const match = /^Bearer +(\S+) *$/i.exec(value);
    return match ? match[1]! : null;
  }
  return null;
}
