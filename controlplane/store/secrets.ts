/**
 * Token secrets and their hashes, shared by every adapter so a token issued by one verifies the
 * same way in another. A secret is 32 random bytes (base64url) behind a kind prefix, so a leaked
 * one is recognisable in logs and by secret scanners. Only `hashSecret(secret)` is ever stored:
 * the secret has 256 bits of entropy, so a plain sha256 (no salt, no slow KDF) is enough and lets
 * the store look a token up by its hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TokenKind } from './types.js';

const PREFIX: Record<TokenKind, string> = { admin: 'fpa_', invoke: 'fpi_' };

export function newSecret(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

/** sha256 of the secret, lower-case hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A short random id for records (not a secret). */
export function newId(prefix: string): string {
  return prefix + randomBytes(9).toString('base64url');
}
