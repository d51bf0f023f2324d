/**
 * The host's open-file table (docs/security.md, the limits table): a box's processes may each hold
 * RLIMIT_NOFILE files, and one instance's 256 processes ~262 000, so a function's few instances
 * could fill `fs.file-max` and every unprivileged process on the host (every other tenant's
 * function) got ENFILE (red team of 2026-12-05; no cgroup counts files). While the host's table is
 * more than half full, the workspace holding the most of it (at least a tenth of the table, over
 * all its instances: many instances each under a tenth were as good as one) loses its instance
 * holding the most, with FUNCTION_FILE_LIMIT, one per check, until the table is below half again.
 */
import { readdirSync, readFileSync } from 'node:fs';

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

/** Open files of these host processes together (a process gone meanwhile counts 0). */
export function openFiles(pids: readonly number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      n += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // gone, or not ours to read
    }
  }
  return n;
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
