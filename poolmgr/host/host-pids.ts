/**
 * Host processes the local process host signals but did not start itself (a zygote's box init, a
 * template's forked child): whether one exists, and which one a pid names now.
 */
import { readFileSync } from 'node:fs';

/** Whether a process exists (it may belong to another user: EPERM still means it is there). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When the process `pid` names now started (clock ticks since boot, /proc/<pid>/stat field 22), or
 * null when there is none. A pid and its start time name one process for good: a pid freed and
 * taken again (pid_max may be 32768) comes with a later start time.
 */
export function startedAt(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // After the command name (in parentheses, which may hold anything): state is field 3, start time field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
