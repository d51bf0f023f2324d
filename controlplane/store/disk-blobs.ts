/**
 * Content-addressed blobs as files: `<root>/<aa>/<rest of the sha256>`. Written into `<root>/tmp/`
 * first, fsynced, then hard-linked into place, so a reader sees a whole blob or none and two
 * writers of the same content cannot clobber each other (link fails with EEXIST; the loser's copy
 * is dropped). Blob files are made read-only: materialized function directories hard-link them.
 * Hashing uses WebCrypto's digest, which runs on libuv's thread pool, not the event loop.
 * Decision record: docs/adr/0003-embedded-store.md.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, open, readFile, readdir, stat, link, unlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';
import type { BlobStore } from './types.js';

const SHA256 = /^[0-9a-f]{64}$/;
/** Temp files older than this at open time are leftovers of a crash. */
const STALE_TMP_MS = 60 * 60 * 1000;

export async function sha256Async(data: Uint8Array): Promise<string> {
  // The DOM typing wants an ArrayBuffer-backed view; blob contents never live in shared memory.
  const digest = await webcrypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Buffer.from(digest).toString('hex');
}

export class DiskBlobStore implements BlobStore {
  private constructor(
    readonly root: string,
    private readonly check: () => void,
  ) {}

  /** `check` throws when the owning store is closed. */
  static async open(root: string, check: () => void = () => {}): Promise<DiskBlobStore> {
    await mkdir(join(root, 'tmp'), { recursive: true });
    await removeStaleTemps(join(root, 'tmp'));
    return new DiskBlobStore(root, check);
  }

  /** Where a blob lives; null for anything that is not a sha256 (so it can never name another path). */
  private pathOf(sha256: string): string | null {
    return SHA256.test(sha256) ? join(this.root, sha256.slice(0, 2), sha256.slice(2)) : null;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    this.check();
    const path = this.pathOf(sha256);
    if (path === null) return null;
    try {
      return (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async put(data: Uint8Array, expectedSha256?: string): Promise<{ sha256: string; size: number; created: boolean }> {
    this.check();
    const sha256 = await sha256Async(data);
    if (expectedSha256 !== undefined && expectedSha256 !== sha256) {
      throw new StoreError('BLOB_HASH_MISMATCH', `content hashes to ${sha256}, not ${expectedSha256}`, { expected: expectedSha256, actual: sha256 });
    }
    const path = this.pathOf(sha256)!;
    if ((await this.size(sha256)) !== null) return { sha256, size: data.byteLength, created: false };
    const tmp = join(this.root, 'tmp', `${sha256.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
    const handle = await open(tmp, 'wx', 0o444);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } catch (err) {
      // A write that failed (the disk full) leaves nothing behind: it left an empty file in tmp/.
      await handle.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await handle.close();
    try {
      await mkdir(join(this.root, sha256.slice(0, 2)), { recursive: true });
      await link(tmp, path);
      return { sha256, size: data.byteLength, created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { sha256, size: data.byteLength, created: false };
      throw err;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  async get(sha256: string): Promise<Buffer | null> {
    this.check();
    const path = this.pathOf(sha256);
    if (path === null) return null;
    try {
      return await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async localPath(sha256: string): Promise<string | null> {
    return (await this.has(sha256)) ? this.pathOf(sha256) : null;
  }
}

async function removeStaleTemps(dir: string): Promise<void> {
  const cutoff = Date.now() - STALE_TMP_MS;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (info !== null && info.mtimeMs < cutoff) {
      await chmod(path, 0o644).catch(() => {});
      await unlink(path).catch(() => {});
    }
  }
}
