/**
 * Writing a version's files into a directory the runtime imports from. The files go into a
 * temporary sibling directory first, which is renamed into place when complete: a runtime never
 * sees half a version, and a crash leaves only a `.tmp-` directory behind. Files are hard links to
 * the blobs where the blob store has them on the same filesystem (instant, no extra space), copies
 * otherwise. Hard-linked files share the blob's inode: the runtime must treat the directory as
 * read-only (docs/adr/0003-embedded-store.md).
 */
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BlobStore, FileEntry } from '../store/types.js';
import { normalizeBundlePath } from './paths.js';

export interface MaterializeResult {
  dir: string;
  /** False when the directory already existed (versions are immutable, so it is complete). */
  created: boolean;
  linked: number;
  copied: number;
}

export interface MaterializeOptions {
  /** `copy` never shares an inode with a blob. Default `link`. */
  mode?: 'link' | 'copy';
  /**
   * Make every file read-only (0444) before the directory appears. Only with `copy`: a linked
   * file is the blob itself (already read-only). Folders stay writable so a non-root runtime can
   * still write its `__pycache__`.
   */
  readOnly?: boolean;
  /**
   * Give every copied or written file this modification time (ms since the epoch), e.g. the
   * version's creation time: StaticFiles and FileResponse derive Last-Modified and the ETag from
   * it, so every copy of a version (another platform process, a rebuild after a restart) must
   * agree. Default: the time of the write.
   */
  mtimeMs?: number;
}

const CONCURRENCY = 16;

/** Link errors after which a copy is the answer (another filesystem, no hard links, too many links). */
const LINK_FALLBACK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK', 'EOPNOTSUPP']);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function chmodDirs(dir: string, mode: number): Promise<void> {
  await chmod(dir, mode);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await chmodDirs(join(dir, entry.name), mode);
  }
}

export async function materialize(version: { files: readonly FileEntry[] }, blobs: BlobStore, dir: string, options: MaterializeOptions = {}): Promise<MaterializeResult> {
  const result: MaterializeResult = { dir, created: false, linked: 0, copied: 0 };
  if (await exists(dir)) return result;
  await mkdir(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.tmp-${basename(dir)}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  try {
    const writeOne = async (file: FileEntry): Promise<void> => {
      // Stored paths were checked on upload; checking again costs nothing and guards the write.
      const target = join(tmp, normalizeBundlePath(file.path));
      await mkdir(dirname(target), { recursive: true });
      const source = options.mode === 'copy' ? null : await blobs.localPath(file.sha256);
      if (source !== null) {
        try {
          await link(source, target);
          result.linked++;
          return;
        } catch (err) {
          if (!LINK_FALLBACK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        }
        await copyFile(source, target);
      } else {
        const data = await blobs.get(file.sha256);
        if (data === null) throw new Error(`blob ${file.sha256} of ${file.path} is missing from the blob store`);
        await writeFile(target, data);
      }
      if (options.mtimeMs !== undefined) await utimes(target, options.mtimeMs / 1000, options.mtimeMs / 1000);
      // The platform's files, not the function's: it reads them, and writes nothing here (not their
      // owner; the mount is read-only). 0644 as a checkout's, not 0444: `shutil.copy` keeps the mode,
      // and a seed database copied to /tmp must be writable there, as under uvicorn (apps round 11).
      if (options.readOnly) await chmod(target, file.executable === true ? 0o755 : 0o644);
      result.copied++;
    };
    for (let i = 0; i < version.files.length; i += CONCURRENCY) {
      await Promise.all(version.files.slice(i, i + CONCURRENCY).map(writeOne));
    }
    // A sandboxed function runs as its own uid: its directories must be readable by others,
    // whatever the umask (its files are: 0644 above). Writes are refused by the read-only mount.
    if (options.readOnly) await chmodDirs(tmp, 0o755);
    await rename(tmp, dir);
    result.created = true;
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Someone else materialized the same version meanwhile: theirs is complete and identical.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(dir))) return { ...result, created: false };
    throw err;
  }
}
