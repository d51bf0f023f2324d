/**
 * A child process whose spawn failed for want of file descriptors (EMFILE, ENFILE: the platform at
 * its open-files limit, chaos round 8). Node then sets up none of its stdio (`child.stdio`,
 * `child.stdout` … are undefined, whatever `stdio` asked for) and emits 'error' on the next tick.
 * Code that reached for a pipe before adding its 'error' listener threw a TypeError there, and the
 * 'error' then had no listener: the platform process exited, every call in hand and every run record
 * held in memory with it (a cold start of three functions at once under `ulimit -n`). Each spawn
 * site asks this first, and treats `true` as the failed spawn it is (the 'error' event follows).
 * Every spawn of the platform's goes through it: a failed spawn's `kill()` signals the platform's own
 * process group (below).
 */
import type { ChildProcess } from 'node:child_process';

/**
 * True when `child` was not spawned for want of file descriptors (no stdio set up). For any spawn
 * that failed (no pid: EMFILE, ENOENT, EACCES…) it adds a listener for the 'error' that follows, so
 * it never goes unheard (callers add their own as well), and disarms `child.kill`: until that 'error'
 * Node still holds the failed process handle, whose pid was never set (0 when seen), and `kill()` sends the signal to
 * kill(0), **the platform's own process group** (the platform, and in a terminal the shell and
 * everything started with it, got the SIGKILL meant for a runtime that never started; chaos round 8).
 */
export function spawnedWithoutFds(child: ChildProcess): boolean {
  if (child.pid !== undefined) return false;
  child.kill = () => false;
  child.on('error', () => {});
  return !Array.isArray(child.stdio);
}
