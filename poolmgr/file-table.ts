/**
 * The host's open-file table (docs/security.md, the limits table): a box's processes may each hold
 * RLIMIT_NOFILE files, and one instance's 256 processes ~262 000, so a function's few instances
 * could fill `fs.file-max` and every unprivileged process on the host (every other tenant's
 * function) got ENFILE (red team of 2026-12-05; no cgroup counts files). While the host's table is
 * more than half full, the instance holding the most of it (at least a tenth of the table) is
 * stopped with FUNCTION_FILE_LIMIT, one per check, until it is below half again.
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
 * Which of `holders` (each with its open files) to stop while the table is past half: the one
 * holding the most, if it holds at least a tenth of the table; null otherwise.
 */
export function overFileShare<T>(table: { allocated: number; max: number }, holders: readonly { of: T; files: number }[]): { of: T; files: number } | null {
  if (table.allocated * 2 < table.max) return null;
  let top: { of: T; files: number } | null = null;
  for (const h of holders) if (top === null || h.files > top.files) top = h;
  return top !== null && top.files * 10 >= table.max ? top : null;
}
