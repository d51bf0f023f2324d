/**
 * The secrets keyring: 256-bit master keys, each known by an id derived from the key itself (so
 * every process holding the same key agrees on its id), one of them current. Pure: no I/O
 * (./key-file.ts loads and writes keys). Decisions: docs/adr/0009-secrets-at-rest.md; operator
 * guide: docs/secrets.md.
 *
 * Two uses, each with its own sub-key (HKDF-SHA256 of the master key), so no key material serves
 * two algorithms:
 * - **Envelopes**: AES-256-GCM, written as `fpenc:v1:<keyId>:<iv>:<ciphertext+tag>` (base64url).
 *   A `context` naming where the value lives (`fn/orders/secret/DB_PASSWORD`) is bound as
 *   associated data, so a ciphertext copied to another function or field does not open.
 * - **Token digests**: HMAC-SHA256(tokenKey, sha256(secret)). Keyed, so a row planted by someone
 *   who can write the database but has no key matches no secret. The inner sha256 is what the
 *   stores kept before, which let the one-time upgrade re-key existing rows without their secrets.
 *
 * A ciphertext or digest naming a key id that is not in the ring fails with SECRETS_KEY_UNKNOWN
 * (naming the id); a ciphertext that does not authenticate with SECRET_DECRYPT_FAILED. Never a
 * silent fallback. Error messages carry key ids and contexts, never values.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { PlatformError } from '../../protocol/index.js';

/** A master key is this many random bytes. */
export const KEY_BYTES = 32;
const ENVELOPE_PREFIX = 'fpenc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^k_[0-9a-f]{12}$/;

interface DerivedKey {
  id: string;
  enc: Buffer;
  mac: Buffer;
}

function derive(master: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `fastapi-platform ${info}`, length));
}

/** The id of a master key: `k_` and 12 hex digits derived from it (reveals nothing usable about the key). */
export function keyIdOf(master: Uint8Array): string {
  return `k_${derive(master, 'key id v1', 6).toString('hex')}`;
}

export function isKeyId(text: string): boolean {
  return KEY_ID.test(text);
}

/** A fresh random master key. */
export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** True for a value written by `Keyring.seal` (whatever its key). */
export function isEnvelope(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENVELOPE_PREFIX);
}

/** The key id an envelope names, or null for anything that is not an envelope. */
export function envelopeKeyId(value: unknown): string | null {
  if (!isEnvelope(value)) return null;
  const id = value.slice(ENVELOPE_PREFIX.length).split(':', 1)[0] ?? '';
  return isKeyId(id) ? id : null;
}

export class Keyring {
  private readonly keys: ReadonlyMap<string, DerivedKey>;

  /**
   * @param masters the master keys (each KEY_BYTES long); `currentId` names the one new values are
   *   sealed and digested with (default: the first).
   */
  constructor(masters: readonly Uint8Array[], currentId?: string) {
    if (masters.length === 0) throw new PlatformError('SECRETS_KEY_INVALID', 'the keyring has no key');
    const keys = new Map<string, DerivedKey>();
    for (const master of masters) {
      if (master.length !== KEY_BYTES) throw new PlatformError('SECRETS_KEY_INVALID', `a secrets key must be ${KEY_BYTES} bytes, got ${master.length}`);
      const id = keyIdOf(master);
      keys.set(id, { id, enc: derive(master, 'secrets v1 aes-256-gcm', 32), mac: derive(master, 'tokens v1 hmac-sha256', 32) });
    }
    const current = currentId ?? keyIdOf(masters[0]!);
    if (!keys.has(current)) throw new PlatformError('SECRETS_KEY_INVALID', `the current key ${current} is not among the keys`, { keyId: current });
    this.keys = keys;
    this.currentId = current;
  }

  /** The key new values are sealed and digested with. */
  readonly currentId: string;

  /** Every key id in the ring, the current one first. */
  get ids(): string[] {
    return [this.currentId, ...[...this.keys.keys()].filter((id) => id !== this.currentId)];
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Encrypts `plaintext` under the current key, bound to `context` (where the value is stored). */
  seal(plaintext: string, context: string): string {
    const key = this.key(this.currentId, context);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.enc, iv);
    cipher.setAAD(aad(key.id, context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${ENVELOPE_PREFIX}${key.id}:${iv.toString('base64url')}:${body.toString('base64url')}`;
  }

  /** The plaintext of an envelope sealed for `context`. SECRETS_KEY_UNKNOWN, SECRET_DECRYPT_FAILED. */
  open(envelope: string, context: string): string {
    const parts = isEnvelope(envelope) ? envelope.slice(ENVELOPE_PREFIX.length).split(':') : [];
    const [keyId, ivText, bodyText] = parts;
    if (parts.length !== 3 || keyId === undefined || !isKeyId(keyId) || ivText === undefined || bodyText === undefined) {
      throw new PlatformError('SECRET_DECRYPT_FAILED', `the stored value of ${context} is not an encrypted envelope`, { context, reason: 'malformed' });
    }
    const key = this.key(keyId, context);
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== IV_BYTES || body.length < TAG_BYTES) {
      throw new PlatformError('SECRET_DECRYPT_FAILED', `the stored value of ${context} is a damaged envelope`, { context, keyId, reason: 'malformed' });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.enc, iv);
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new PlatformError('SECRET_DECRYPT_FAILED', `the stored value of ${context} does not decrypt with key ${keyId}: altered, or moved from another place`, { context, keyId, reason: 'authentication' });
    }
  }

  /** The envelope again under the current key (unchanged when it already is). */
  reseal(envelope: string, context: string): string {
    return envelopeKeyId(envelope) === this.currentId ? envelope : this.seal(this.open(envelope, context), context);
  }

  /** The stored digest of a token secret under `keyId` (default: the current key). */
  tokenDigest(secret: string, keyId: string = this.currentId): string {
    return this.digestOfSha256(createHash('sha256').update(secret, 'utf8').digest(), keyId);
  }

  /**
   * The digest from a token's plain sha256 (hex), as stores kept it before keyed digests: the
   * one-time upgrade of existing rows (docs/adr/0009-secrets-at-rest.md).
   */
  tokenDigestFromSha256(sha256Hex: string, keyId: string = this.currentId): string {
    return this.digestOfSha256(Buffer.from(sha256Hex, 'hex'), keyId);
  }

  private digestOfSha256(inner: Buffer, keyId: string): string {
    return createHmac('sha256', this.key(keyId, 'token digest').mac).update(inner).digest('hex');
  }

  private key(keyId: string, context: string): DerivedKey {
    const key = this.keys.get(keyId);
    if (key === undefined) {
      throw new PlatformError('SECRETS_KEY_UNKNOWN', `${context} is protected by key ${keyId}, which is not in this platform's keyring (it has ${this.ids.join(', ')}); restore that key (docs/secrets.md)`, {
        keyId,
        context,
      });
    }
    return key;
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${ENVELOPE_PREFIX}${keyId}:${context}`, 'utf8');
}
