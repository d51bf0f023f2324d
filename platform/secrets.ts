/**
 * Where this process's keyring comes from (docs/secrets.md): `secretsKey` (FP_SECRETS_KEY) or the
 * key file (`secretsKeyFile`, default under the user's config folder), which must live outside
 * the state directory — a copy of the state must never carry the key that opens it. With
 * `rotate`, a fresh key is added to the key file as the current one first.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { addKeyToFile, loadKeyring, type Keyring, type KeySource } from '../controlplane/index.js';
import { PlatformError } from '../protocol/index.js';
import { defaultSecretsKeyFile, type PlatformConfig } from './config.js';

export interface OpenedKeyring {
  keyring: Keyring;
  /** `FP_SECRETS_KEY` or the key file's absolute path. */
  where: string;
  /** This start created the key file (its first start on this machine). */
  created: boolean;
  /** The key id `rotate` added (key file only). */
  added?: string;
}

export function keySourceOf(config: PlatformConfig): KeySource {
  if (config.secretsKey !== undefined) return { kind: 'inline', keys: config.secretsKey };
  return { kind: 'file', path: resolve(config.secretsKeyFile ?? defaultSecretsKeyFile({})) };
}

export async function openKeyring(config: PlatformConfig, stateDir: string, rotate: boolean): Promise<OpenedKeyring> {
  const source = keySourceOf(config);
  if (source.kind === 'file' && isInside(source.path, stateDir)) {
    throw new PlatformError('SECRETS_KEY_INVALID', `the secrets key file ${source.path} is inside the state directory ${stateDir}: keep it outside (a copy of the state must not carry its key); see docs/secrets.md`, { where: source.path });
  }
  const loaded = await loadKeyring(source);
  if (!rotate || source.kind === 'inline') return { keyring: loaded.keyring, where: loaded.where, created: loaded.created };
  const { keyring, added } = await addKeyToFile(source.path);
  return { keyring, where: loaded.where, created: loaded.created, added };
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(resolve(dir), path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
