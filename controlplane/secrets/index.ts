/**
 * Secrets at rest (docs/secrets.md, docs/adr/0009-secrets-at-rest.md): the keyring that seals
 * stored secrets and keys token digests, and where its keys come from. The stores take a Keyring
 * at open; the composition root (platform/start.ts) loads it.
 */
export { envelopeKeyId, generateKey, isEnvelope, isKeyId, KEY_BYTES, keyIdOf, Keyring } from './keyring.js';
export { addKeyToFile, decodeKey, KEY_FILE_FORMAT, keyringFromText, loadKeyring, type KeySource, type LoadedKeyring } from './key-file.js';
