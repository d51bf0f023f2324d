/**
 * One state directory, one platform process (docs/adr/0056-state-dir-lock.md). A second process
 * on the same state started a second FerretDB on its data folder, whose exit took the first one's
 * socket, and two SQLite writers with their own in-memory views (usage, webhook replay guards).
 * `<state>/platform.lock` holds the owner's pid and its start time (from /proc, so a pid reused
 * after a reboot or a crash is not taken for the owner); it is made with O_EXCL, so of two starts
 * at once one wins. A lock whose owner is gone (killed, crashed) is taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { PlatformError } from '../protocol/index.js';

export const LOCK_FILE = 'platform.lock';
/** State directories this process holds (two platforms in one process are refused too). */
const held = new Set<string>();

export interface StateLock {
  release(): void;
}

/** Takes `<stateDir>/platform.lock`; throws PlatformError STATE_DIR_IN_USE when a live process holds it. */
export function lockStateDir(stateDir: string): StateLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, LOCK_FILE);
  const mine = `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      held.add(stateDir);
      return { release: () => release(stateDir, path, mine) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
    const owner = ownerOf(path);
    if (owner !== null && (owner.pid !== process.pid || held.has(stateDir)) && alive(owner)) {
      throw new PlatformError('STATE_DIR_IN_USE', `the state directory ${stateDir} is in use by another platform process (pid ${owner.pid}): use that one, stop it first, or start this one with another state directory (--state-dir DIR)`, { stateDir, pid: owner.pid });
    }
    // Its owner is gone: take it over (another start doing the same loses the O_EXCL race above).
    rmSync(path, { force: true });
  }
}

function release(stateDir: string, path: string, mine: string): void {
  if (!held.delete(stateDir)) return;
  try {
    if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
  } catch {
    // already gone
  }
}

interface Owner {
  pid: number;
  start: string;
}

function ownerOf(path: string): Owner | null {
  try {
    const [pid, start] = readFileSync(path, 'utf8').trim().split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, start: start ?? '' } : null;
  } catch {
    return null;
  }
}

function alive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = startTimeOf(owner.pid);
  // Without /proc (or an old lock without a start time) the pid alone decides.
  return start === null || owner.start === '' || start === owner.start;
}

/** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or null. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
