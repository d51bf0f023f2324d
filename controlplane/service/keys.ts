/**
 * The keyring against the store (docs/secrets.md): the start-up check that every sealed value is
 * under a key the ring has (never start with secrets it cannot open), and the re-encryption step
 * of a key rotation with its report of which old keys are still needed.
 */
import { PlatformError } from '../../protocol/index.js';
import type { Keyring } from '../secrets/index.js';
import type { KeyUsage, Store } from '../store/index.js';

export interface KeyReport {
  /** The key new values are sealed and digested with. */
  currentKeyId: string;
  /** Fields re-sealed by this run (0 for a check). */
  reencrypted: number;
  /** Every key id the store's sealed fields and live token digests name (`null`: token rows without a key id). */
  usage: KeyUsage[];
  /** Older keys of the ring that something still needs (token rows not re-keyed yet, or fields written meanwhile). */
  stillNeeded: string[];
  /** Older keys of the ring nothing needs any more: they may be removed once every process has the current key. */
  notNeeded: string[];
}

function report(ring: Keyring, usage: KeyUsage[], reencrypted: number): KeyReport {
  const needed = new Set(usage.filter((u) => u.keyId !== null && u.fields + u.tokens > 0).map((u) => u.keyId!));
  const older = ring.ids.filter((id) => id !== ring.currentId);
  return {
    currentKeyId: ring.currentId,
    reencrypted,
    usage,
    stillNeeded: older.filter((id) => needed.has(id)),
    notNeeded: older.filter((id) => !needed.has(id)),
  };
}

/** SECRETS_KEY_UNKNOWN (naming the ids) when sealed fields use keys the ring lacks; the report otherwise. */
export async function checkKeys(store: Store, ring: Keyring, where: string): Promise<KeyReport> {
  const usage = await store.keys.usage();
  refuseUnopenable(usage, ring, where);
  return report(ring, usage, 0);
}

/**
 * What checkKeys refuses, on a usage read anywhere: the stores read it as found, before their
 * migrations write (`checkBeforeWrite`), so an upgrade refused for its key leaves the store as the
 * older build had it (docs/adr/0171-a-refused-start-writes-nothing.md).
 */
export function refuseUnopenable(usage: readonly KeyUsage[], ring: Keyring, where: string): void {
  const missing = usage.filter((u) => u.keyId !== null && u.fields > 0 && !ring.has(u.keyId));
  const unsealed = usage.find((u) => u.keyId === null && u.fields > 0);
  if (missing.length > 0) {
    const ids = missing.map((u) => `${u.keyId} (${u.fields} value${u.fields === 1 ? '' : 's'})`).join(', ');
    throw new PlatformError('SECRETS_KEY_UNKNOWN', `the store holds secrets sealed under ${ids}, which ${where} does not have; restore that key (docs/secrets.md)`, {
      keyId: missing[0]!.keyId,
      keyIds: missing.map((u) => u.keyId),
    });
  }
  if (unsealed !== undefined) {
    throw new PlatformError('SECRET_DECRYPT_FAILED', `the store holds ${unsealed.fields} secret value(s) that are not sealed envelopes (written by hand?); see docs/errors.md`, { reason: 'malformed' });
  }
}

/** Re-seals every field under the ring's current key, then reports what each key still protects. */
export async function reencryptSecrets(store: Store, ring: Keyring): Promise<KeyReport> {
  const reencrypted = await store.keys.reencrypt();
  return report(ring, await store.keys.usage(), reencrypted);
}
