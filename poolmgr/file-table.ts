/**
 * The host's open-file table (docs/security.md, the limits table): a box's processes may each hold
 * RLIMIT_NOFILE files, and one instance's 256 processes ~262 000, so a function's few instances
 * could fill `fs.file-max` and every unprivileged process on the host (every other tenant's
 * function) got ENFILE (red team of 2026-12-05; no cgroup counts files). While the host's table is
 * more than half full, the workspace holding the most of it (at least a tenth of the table, over
 * all its instances: many instances each under a tenth were as good as one) loses its instance
 * holding the most, with FUNCTION_FILE_LIMIT, one per check, until the table is below half again.
 *
 * A box's files are its processes' descriptors and their file-backed mappings: a file mapped and
 * then closed keeps its `struct file` (counted in `fs.file-nr`) with no descriptor, up to
 * `vm.max_map_count` (65 530) per process, so counting `/proc/<pid>/fd` alone let one instance take
 * the table to 54 % unseen (red team of 2026-12-05, second round, F1). The mappings are the lines of
 * `/proc/<pid>/maps` with a device or inode (anonymous memory has neither), read in 64 KiB chunks
 * off the event loop: ~0.7 µs a line, and a box pays ~400 bytes of its memory limit for each
 * mapped file, so its memory bounds what reading it costs. Not `/proc/<pid>/map_files`: listing
 * it makes a kernel inode and dentry per mapping (60 000 mappings: 0.4 s and ~50 MB of slab).
 * Both counts are upper bounds: a file mapped several times, or shared with a forked child, is
 * counted once per mapping and per process.
 */
import { readFileSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';

/** How often the table is read (the reaper's tick, at most this often). */
export const FILE_TABLE_CHECK_MS = 2_000;

/** `/proc/sys/fs/file-nr`: files allocated and the most there may be; null without /proc. */
export function fileTable(): { allocated: number; max: number } | null {
  try {
    const [allocated, , max] = readFileSync('/proc/sys/fs/file-nr', 'utf8').trim().split(/\s+/).map(Number);
    return allocated !== undefined && max !== undefined && Number.isFinite(allocated) && Number.isFinite(max) && max > 0 ? { allocated, max } : null;
  } catch {
    return null;
  }
}

/** Files these host processes hold, descriptors and file-backed mappings together (a process gone meanwhile counts 0). */
export async function heldFiles(pids: readonly number[]): Promise<number> {
  let n = 0;
  for (const pid of pids) {
    try {
      n += await descriptors(pid);
      n += await fileMappings(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return n;
}

/**
 * A process's open descriptors. A box under a subordinate uid (user-namespace mode, ADR 0141) has
 * its `/proc/<pid>/fd` readable by that uid alone (0500, and the platform has no CAP_DAC_READ_SEARCH):
 * then the size of its descriptor table (`FDSize`, readable by anyone), an upper bound.
 */
async function descriptors(pid: number): Promise<number> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    const size = /\nFDSize:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'latin1'));
    if (size === null) throw err;
    return Number(size[1]);
  }
}

const LF = 0x0a;
const SPACE = 0x20;
/** The device and inode of a mapping of no file: `00:00 0` then a space or the line's end. */
const NO_FILE = Buffer.from('00:00 0');

/** Lines of `/proc/<pid>/maps` naming a file (`start-end perms offset dev inode [path]`). */
async function fileMappings(pid: number): Promise<number> {
  const file = await open(`/proc/${pid}/maps`, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let n = 0;
    let kept = 0; // bytes of a line cut by the chunk's end, moved to the front
    for (;;) {
      const { bytesRead } = await file.read(buf, kept, buf.length - kept, null);
      const end = kept + bytesRead;
      let at = 0;
      for (let lf = buf.indexOf(LF, at); lf !== -1 && lf < end; lf = buf.indexOf(LF, at)) {
        let i = at;
        for (let spaces = 0; spaces < 3 && i < lf; i++) if (buf[i] === SPACE) spaces++;
        const anonymous = i + NO_FILE.length <= lf && buf.compare(NO_FILE, 0, NO_FILE.length, i, i + NO_FILE.length) === 0
          && (i + NO_FILE.length === lf || buf[i + NO_FILE.length] === SPACE);
        if (!anonymous) n++;
        at = lf + 1;
      }
      // A line is at most ~4.2 KiB (a PATH_MAX path), so a chunk always ends one; once nothing more is read, done.
      if (bytesRead === 0) return n;
      buf.copy(buf, 0, at, end);
      kept = end - at;
    }
  } finally {
    await file.close();
  }
}

/**
 * Which of `holders` (each with its open files and its owner: a workspace) to stop while the table
 * is past half: the one holding the most in the owner holding the most, if that owner holds at
 * least a tenth of the table; null otherwise.
 */
export function overFileShare<T>(table: { allocated: number; max: number }, holders: readonly { of: T; owner: string; files: number }[]): { of: T; owner: string; files: number; ownerFiles: number } | null {
  if (table.allocated * 2 < table.max) return null;
  const owners = new Map<string, { files: number; top: { of: T; owner: string; files: number } }>();
  for (const h of holders) {
    const o = owners.get(h.owner);
    if (o === undefined) owners.set(h.owner, { files: h.files, top: h });
    else {
      o.files += h.files;
      if (h.files > o.top.files) o.top = h;
    }
  }
  let worst: { files: number; top: { of: T; owner: string; files: number } } | null = null;
  for (const o of owners.values()) if (worst === null || o.files > worst.files) worst = o;
  return worst !== null && worst.files * 10 >= table.max ? { ...worst.top, ownerFiles: worst.files } : null;
}
