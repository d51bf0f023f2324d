/**
 * Content-addressed blobs as files: `<root>/<aa>/<rest of the sha256>`. Written into `<root>/tmp/`
 * first, fsynced, then hard-linked into place, so a reader sees a whole blob or none and two
 * writers of the same content cannot clobber each other (link fails with EEXIST; the loser's copy
 * is dropped). Blob files are made read-only: materialized function directories hard-link them.
 * Hashing uses WebCrypto's digest, which runs on libuv's thread pool, not the event loop.
 * A blob's mtime is when it was last put or touched: what the collector's grace period is measured
 * from (`sweep`; docs/adr/0099-collecting-contents.md). Function directories are copies
 * (docs/adr/0089-version-directories-collected.md): deleting a blob leaves them whole.
 * Decision record: docs/adr/0003-embedded-store.md.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, link, unlink, chmod, utimes } from 'node:fs/promises';
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

  async put(data: Uint8Array, expectedSha256?: string, options: { write?: boolean } = {}): Promise<{ sha256: string; size: number; created: boolean }> {
    this.check();
    const sha256 = await sha256Async(data);
    if (expectedSha256 !== undefined && expectedSha256 !== sha256) {
      throw new StoreError('BLOB_HASH_MISMATCH', `content hashes to ${sha256}, not ${expectedSha256}`, { expected: expectedSha256, actual: sha256 });
    }
    const path = this.pathOf(sha256)!;
    // Already there: touched, so the collector keeps it; collected meanwhile: written again.
    if (options.write !== true && (await this.touch([sha256])).length === 0) return { sha256, size: data.byteLength, created: false };
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
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Asked to write whatever is stored: the stored copy is touched after the answer, as the
      // temporary file is removed (freeing it costs what freeing nothing does not), so both
      // answers take the same steps.
      if (options.write === true) void this.touch([sha256]).catch(() => {});
      return { sha256, size: data.byteLength, created: false };
    } finally {
      if (options.write === true) void unlink(tmp).catch(() => {});
      else await unlink(tmp).catch(() => {});
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

  async touch(sha256s: readonly string[]): Promise<string[]> {
    this.check();
    const now = new Date();
    const unique = [...new Set(sha256s)];
    const found = await Promise.all(unique.map(async (sha) => {
      const path = this.pathOf(sha);
      if (path === null) return false;
      try {
        await utimes(path, now, now);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    }));
    return unique.filter((_, i) => !found[i]);
  }

  async sweep(cutoff: number, inUse: (sha256: string) => boolean): Promise<{ removed: number; bytes: number }> {
    this.check();
    let removed = 0;
    let bytes = 0;
    for (const dir of await readdir(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(dir)) continue;
      for (const rest of await readdir(join(this.root, dir)).catch(() => [] as string[])) {
        const sha = dir + rest;
        if (!SHA256.test(sha) || inUse(sha)) continue;
        const path = join(this.root, dir, rest);
        const seen = await stat(path).catch(() => null);
        if (seen === null || seen.mtimeMs >= cutoff) continue;
        // Moved out of place in one step, then looked at again: a put or touch between the stat and
        // the move set its mtime on, and it goes back; one after the move finds it gone (a put
        // writes it again, a version upload is refused with BLOB_NOT_FOUND).
        const trash = join(this.root, 'tmp', `gc-${sha.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
        try {
          await rename(path, trash);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
        const moved = await stat(trash);
        if (moved.mtimeMs >= cutoff) {
          await link(trash, path).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') throw err;
          });
        } else {
          removed += 1;
          bytes += moved.size;
        }
        await unlink(trash);
      }
    }
    return { removed, bytes };
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
