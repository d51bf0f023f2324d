/** Keyrings for store tests: fresh random keys, in memory (no key file). */
import { generateKey, Keyring } from '../../controlplane/secrets/index.js';

export function testKeyring(): Keyring {
  return new Keyring([generateKey()]);
}

/** A master key and the keyring of it alone (the conformance suite needs both). */
export function testKey(): { masterKey: Buffer; keyring: Keyring } {
  const masterKey = generateKey();
  return { masterKey, keyring: new Keyring([masterKey]) };
}
