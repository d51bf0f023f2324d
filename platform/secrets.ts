/**
 * Where this process's keyring comes from (docs/secrets.md): `secretsKey` (FP_SECRETS_KEY) or the
 * key file (`secretsKeyFile`, default under the user's config folder), which must live outside
 * the state directory — a copy of the state must never carry the key that opens it. With
 * `rotate`, a fresh key is added to the key file as the current one first.
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { addKeyToFile, loadKeyring, type Keyring, type KeySource } from '../controlplane/index.js';
import { isPlatformError, PlatformError } from '../protocol/index.js';
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

/** Key files a platform on this machine may have used: the default without FP_CONFIG_DIR, with it, and the systemd unit's. */
function otherKeyFiles(env: Record<string, string | undefined>, where: string): string[] {
  const candidates = [
    defaultSecretsKeyFile({ XDG_CONFIG_HOME: env['XDG_CONFIG_HOME'], HOME: env['HOME'] }),
    defaultSecretsKeyFile({ FP_CONFIG_DIR: env['FP_CONFIG_DIR'], XDG_CONFIG_HOME: env['XDG_CONFIG_HOME'], HOME: env['HOME'] }),
    '/etc/fastapi-platform/secrets.key',
  ].map((path) => resolve(path));
  return [...new Set(candidates)].filter((path) => path !== where && existsSync(path));
}

/**
 * A start refused SECRETS_KEY_UNKNOWN with a key file: names another key file on this machine that
 * holds the missing keys, and removes the key file this start created for nothing. Builds before
 * 2026-12-04 kept the default key file in ~/.config/fastapi-platform even with FP_CONFIG_DIR set;
 * the same state started by a newer build with FP_CONFIG_DIR created a new key there and stopped
 * with "restore that key", naming neither (new-user round 5).
 */
export async function explainUnknownKey(err: unknown, keys: OpenedKeyring, env: Record<string, string | undefined>): Promise<unknown> {
  if (!isPlatformError(err) || err.code !== 'SECRETS_KEY_UNKNOWN' || keys.where === 'FP_SECRETS_KEY') return err;
  const missing = ((err.details as { keyIds?: unknown } | undefined)?.keyIds as string[] | undefined) ?? [];
  let found: string | undefined;
  for (const path of otherKeyFiles(env, keys.where)) {
    const other = await loadKeyring({ kind: 'file', path }).catch(() => null);
    if (other !== null && missing.length > 0 && missing.every((id) => other.keyring.has(id))) {
      found = path;
      break;
    }
  }
  let removed = '';
  if (keys.created) {
    await unlink(keys.where).catch(() => {});
    removed = `; the new key file this start had created at ${keys.where} was removed`;
  }
  const hint = found === undefined
    ? ''
    : `: ${found} has it (the default key file without FP_CONFIG_DIR, which builds before 2026-12-04 used even with it set): start with FP_SECRETS_KEY_FILE=${found}, or move that file to ${keys.where}`;
  return new PlatformError('SECRETS_KEY_UNKNOWN', `${err.message}${hint}${removed}`, { ...(err.details as Record<string, unknown>), ...(found !== undefined ? { found } : {}) });
}
