/**
 * Where the keyring comes from (docs/secrets.md): a key file outside the state directory (default
 * `~/.config/fastapi-platform/secrets.key`, created 0600 in a 0700 folder on first start), or
 * base64 keys given directly (`FP_SECRETS_KEY`, for production processes that must share one
 * key). A key file that group or others may read or write is refused, never used.
 *
 * The file is JSON: `{"format", "current", "keys": [{"id", "key" (base64), "createdAt"}]}`. Its
 * ids are checked against the keys (an id is derived from its key), so a hand-edited file that
 * mixes them up is refused instead of sealing under a wrong id.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { PlatformError } from '../../protocol/index.js';
import { generateKey, isKeyId, KEY_BYTES, keyIdOf, Keyring } from './keyring.js';

export const KEY_FILE_FORMAT = 'fastapi-platform-keyring/1';

/** Where the keys are: a key file, or base64 keys (comma-separated, the first current). */
export type KeySource = { kind: 'file'; path: string } | { kind: 'inline'; keys: string };

export interface LoadedKeyring {
  keyring: Keyring;
  /** Set when this load created the key file (first start). */
  created: boolean;
  /** Where the keys came from, for messages (`FP_SECRETS_KEY` or the file's path). */
  where: string;
}

const fileSchema = z.strictObject({
  format: z.literal(KEY_FILE_FORMAT),
  current: z.string(),
  keys: z.array(z.strictObject({ id: z.string(), key: z.string(), createdAt: z.number().int() })).min(1),
});
type KeyFile = z.output<typeof fileSchema>;

const BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/** One base64 key (44 characters, 32 bytes) → its bytes; SECRETS_KEY_INVALID otherwise. */
export function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const bytes = BASE64.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES) {
    throw new PlatformError('SECRETS_KEY_INVALID', `${where}: a key must be ${KEY_BYTES} random bytes in base64 (44 characters), e.g. from \`openssl rand -base64 32\``, { where });
  }
  return bytes;
}

/** The keyring from `FP_SECRETS_KEY`-style text: base64 keys separated by commas, the first one current. */
export function keyringFromText(text: string, where = 'FP_SECRETS_KEY'): Keyring {
  const keys = text.split(',').map((part) => part.trim()).filter((part) => part.length > 0).map((part) => decodeKey(part, where));
  if (keys.length === 0) throw new PlatformError('SECRETS_KEY_INVALID', `${where} holds no key`, { where });
  return new Keyring(keys);
}

/** Loads the keyring, creating the key file with a fresh key when it does not exist yet. */
export async function loadKeyring(source: KeySource): Promise<LoadedKeyring> {
  if (source.kind === 'inline') return { keyring: keyringFromText(source.keys), created: false, where: 'FP_SECRETS_KEY' };
  const existing = await readKeyFile(source.path);
  if (existing !== null) return { keyring: ringOf(existing, source.path), created: false, where: source.path };
  const key = generateKey();
  const file: KeyFile = { format: KEY_FILE_FORMAT, current: keyIdOf(key), keys: [{ id: keyIdOf(key), key: key.toString('base64'), createdAt: Date.now() }] };
  // A folder that cannot be written (a read-only home, another user's, immutable): START_FAILED
  // "EPERM … mkdir '~/.config'" with no word of the key before (reliability round 9).
  await mkdir(dirname(source.path), { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw keyFileError(source.path, err);
  });
  // Written whole to a temporary file, then linked into place: link() fails with EEXIST when the
  // file exists, so two processes starting at once on a fresh machine cannot both write a key,
  // and neither can ever read a half-written file.
  const temp = `${source.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, serialize(file), { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600);
    await link(temp, source.path);
    return { keyring: ringOf(file, source.path), created: true, where: source.path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw keyFileError(source.path, err);
    const other = await readKeyFile(source.path);
    if (other === null) throw keyFileError(source.path, err);
    return { keyring: ringOf(other, source.path), created: false, where: source.path };
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/**
 * Adds a fresh key to the key file as the current one (older keys stay, to read what they
 * protect). Written to a temporary file, then renamed, mode 0600. Returns the new keyring.
 */
export async function addKeyToFile(path: string): Promise<{ keyring: Keyring; added: string }> {
  const file = await readKeyFile(path);
  if (file === null) throw new PlatformError('SECRETS_KEY_INVALID', `${path} does not exist: nothing to rotate`, { where: path });
  const key = generateKey();
  const added = keyIdOf(key);
  const next: KeyFile = { ...file, current: added, keys: [...file.keys, { id: added, key: key.toString('base64'), createdAt: Date.now() }] };
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, serialize(next), { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
  return { keyring: ringOf(next, path), added };
}

/** The parsed key file, or null when it does not exist. Refuses one readable by group or others. */
async function readKeyFile(path: string): Promise<KeyFile | null> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw keyFileError(path, err);
  }
  if ((mode & 0o077) !== 0) {
    const shown = (mode & 0o777).toString(8).padStart(4, '0');
    throw new PlatformError('SECRETS_KEY_FILE_INSECURE', `the secrets key file ${path} has mode ${shown}: group or others may read or change it; run \`chmod 600 ${path}\``, { where: path, mode: shown });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw keyFileError(path, err);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PlatformError('SECRETS_KEY_INVALID', `${path} is not a fastapi-platform key file (${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`, { where: path });
  }
  return parsed.data;
}

function ringOf(file: KeyFile, path: string): Keyring {
  const keys = file.keys.map((entry, i) => {
    const key = decodeKey(entry.key, `${path} keys[${i}]`);
    if (!isKeyId(entry.id) || keyIdOf(key) !== entry.id) {
      throw new PlatformError('SECRETS_KEY_INVALID', `${path} keys[${i}]: the id ${entry.id} does not belong to its key`, { where: path });
    }
    return key;
  });
  return new Keyring(keys, file.current);
}

function serialize(file: KeyFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Codes of a folder or file this user may not write. */
const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

function keyFileError(path: string, err: unknown): PlatformError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && NOT_WRITABLE.has(code)) {
    return new PlatformError('SECRETS_KEY_INVALID', `cannot make or read the secrets key file ${path} (${code}: ${(err as Error).message}): make its folder writable by this user, point FP_CONFIG_DIR (or FP_SECRETS_KEY_FILE) at a folder it may write, outside the state directory, or give the key in FP_SECRETS_KEY (docs/secrets.md)`, { where: path });
  }
  return new PlatformError('SECRETS_KEY_INVALID', `cannot use the secrets key file ${path}: ${(err as Error).message}`, { where: path });
}
