/**
 * Token secrets, shared by every adapter. A secret is 32 random bytes (base64url) behind a kind
 * prefix, so a leaked one is recognisable in logs and by secret scanners. Only its keyed digest
 * (`Keyring.tokenDigest`: HMAC-SHA256 of its sha256 under the keyring's token key) is ever
 * stored: the secret has 256 bits of entropy, so no salt or slow KDF is needed, and the key makes
 * a row written by someone without it worthless (docs/adr/0009-secrets-at-rest.md).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { TOKEN_PREFIXES } from '../../protocol/index.js';
import type { NewToken, TokenKind } from './types.js';

const PREFIX: Readonly<Record<TokenKind, string>> = TOKEN_PREFIXES;

/** A new token's fields as every adapter stores them: scope only where the kind has one, a role only on workspace tokens. */
export function tokenInput(input: NewToken): Required<NewToken> {
  return {
    kind: input.kind,
    scope: input.kind === 'admin' ? null : (input.scope ?? null),
    label: input.label ?? '',
    role: input.kind === 'workspace' ? (input.role ?? 'viewer') : null,
    expiresAt: input.expiresAt ?? null,
    createdBy: input.createdBy ?? '',
  };
}

export function newSecret(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** A short random id for records (not a secret). */
export function newId(prefix: string): string {
  return prefix + randomBytes(9).toString('base64url');
}

/** Constant-time equality of two digests (hex). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
