/**
 * Is the embedded state directory's disk full? Read on every /readyz (one statfs): a full disk
 * refuses async calls (503 ASYNC_QUEUE_UNAVAILABLE) and API writes (507 STORAGE_FULL) while sync
 * calls are served, so it is a degraded problem, as a production Redis refusing writes is (chaos
 * round 1, ADR 0217: /readyz said 200 "ready" with no problem through it before).
 */
import { statfsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ReadinessProblem } from '../protocol/index.js';

/** Below this many free bytes the disk counts as full: SQLite needs whole pages, a journal and room to grow. */
export const STATE_DISK_LOW_BYTES = 1024 * 1024;

/**
 * The degraded problem of a full state directory disk, or null (also when statfs cannot tell).
 * Its message names no path: /readyz answers anyone, and the directory's path named the host's
 * layout and the operator's user (`/home/<user>/…`; red team round 41). The operator knows it.
 */
export function stateDiskProblem(stateDir: string): ReadinessProblem | null {
  let free: number;
  try {
    const fs = statfsSync(stateDir);
    free = fs.bavail * fs.bsize;
  } catch {
    return null;
  }
  if (free >= STATE_DISK_LOW_BYTES) return null;
  return {
    code: 'STORAGE_FULL',
    message: `the state directory's disk is full (${Math.floor(free / 1024)} KiB free): async calls answer 503 ASYNC_QUEUE_UNAVAILABLE, API writes 507 STORAGE_FULL, and run records and usage wait in memory; sync calls are served. Free space on that disk; nothing accepted is lost.`,
    degraded: true,
  };
}

/**
 * A start that failed on a full disk (STORAGE_FULL), said on the operator's own terminal: which
 * directory, what is free there and what the platform needs. It said `ENOSPC: no space left on
 * device, write` alone (chaos round 1). /readyz keeps its message without the path (above).
 */
export function fullDiskAtStart(stateDir: string, message: string): string {
  const dir = resolve(stateDir);
  let free = '';
  try {
    const fs = statfsSync(dir);
    free = ` (${Math.floor((fs.bavail * fs.bsize) / 1024)} KiB free)`;
  } catch {
    // statfs cannot tell: the directory is named without it
  }
  return `${message}: the state directory ${dir} is on a full disk${free}; the platform needs at least ${STATE_DISK_LOW_BYTES / 1024 / 1024} MiB free there to start, and room for what it keeps (df -h ${dir}): free space on that disk and start again; nothing in it was lost`;
}
