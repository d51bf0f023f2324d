/**
 * A small text file a folder holds (a `.env`, `.platformignore`), read as the folder may be a hostile
 * clone's (red team round 39): a regular file only (a FIFO hung the command, /dev/zero was read up to
 * Node's 2 GiB string limit: 600 MB and 2.5 s for every deploy, validate and dev reload), of at most
 * `maxBytes`, and with `tree` only if its real path, links followed, is inside `tree` (or one
 * `tree.also` takes).
 */
import { constants } from 'node:fs';
import { open, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

/** Where a file may be, links followed: inside `root`, or a real path `also` takes. */
export interface FileTree {
  root: string;
  also?: (real: string) => boolean;
}

/** `path` is `root` or inside it (both real or both lexical). */
export function isWithin(root: string, path: string): boolean {
  const inside = relative(root, path);
  return !(inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside));
}

/** Test seam: runs between the location check and the open, where a swap is what the check after the open catches. */
export const smallFileHooks: { beforeOpen?: (real: string) => Promise<void> } = {};

/** Where an open file is, links followed (Linux's /proc/self/fd); null where that cannot be told. */
async function openedPath(fd: number): Promise<string | null> {
  if (process.platform !== 'linux') return null;
  return readlink(`/proc/self/fd/${fd}`).catch(() => null);
}

/** The file's text; null when there is none; `refused` says why it was not read (`outsideHint` ends the message of a file outside `tree`). */
export async function smallFileText(path: string, maxBytes: number, tree: string | FileTree | null, outsideHint: string): Promise<string | null | { refused: string }> {
  const bytes = await smallFileBytes(path, maxBytes, tree, outsideHint);
  return bytes instanceof Uint8Array ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : bytes;
}

/** smallFileText's bytes, as they are (a bundle's file, which `deploy` hashes and uploads). */
export async function smallFileBytes(path: string, maxBytes: number, tree: string | FileTree | null, outsideHint: string): Promise<Uint8Array | null | { refused: string }> {
  try {
    const real = await realpath(path);
    if (tree !== null) {
      const { root, also } = typeof tree === 'string' ? { root: tree, also: undefined } : tree;
      if ((real === root || !isWithin(root, real)) && also?.(real) !== true) {
        return { refused: `is ${real}, outside ${root} (links followed): not read; ${outsideHint}` };
      }
    }
    await smallFileHooks.beforeOpen?.(real);
    // O_NONBLOCK: opening a FIFO for reading waits for a writer; the checks below refuse it.
    const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      // The file opened is the one checked: a folder on its way swapped for a link between the
      // check and the open (by whoever else writes in the tree) led anywhere (red team round 40).
      const opened = tree === null ? null : await openedPath(handle.fd);
      if (opened !== null && opened !== real) return { refused: `was replaced while it was read (it is now ${opened}): not read` };
      const info = await handle.stat();
      if (!info.isFile()) return { refused: 'is not a regular file (a FIFO, a device or a folder): not read' };
      if (info.size > maxBytes) return { refused: `is ${info.size} bytes, over the ${maxBytes} it may have: not read` };
      const buffer = Buffer.alloc(info.size);
      let filled = 0;
      while (filled < info.size) {
        const { bytesRead } = await handle.read(buffer, filled, info.size - filled, filled);
        if (bytesRead === 0) break; // shorter now than its size said
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { refused: `cannot be read: ${(err as Error).message}` };
  }
}
