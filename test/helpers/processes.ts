/**
 * Test helper: host processes seen from /proc (Linux), to check what a box left behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function pids(): string[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
}

/**
 * A Python statement that names the calling thread `name` (its comm, what `pidNamed` finds), one
 * line: `prctl(PR_SET_NAME)`, since a box's /proc is read-only (red team round 45).
 */
export function pyNameSelf(name: string): string {
  return `__import__("ctypes").CDLL(None).prctl(15, ${JSON.stringify(name)}.encode(), 0, 0, 0)`;
}

/** The host pid of a live process whose name (`/proc/<pid>/comm`: a load can set its own, pyNameSelf) is `name`, or 0. */
export function pidNamed(name: string): number {
  for (const pid of pids()) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return 0;
}

/** Host pids of live processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  return pids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

/** Host pids of live processes running as `uid` (a function's processes, in root mode). */
export function processesOfUid(uid: number): number[] {
  return pids().filter((pid) => {
    try {
      const line = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return line !== null && Number(line[1]) === uid;
    } catch {
      return false;
    }
  }).map(Number);
}

/** Polls every 20 ms until `check()` holds (true) or `ms` passed (false). */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The parent pid of `pid`, or null when it is gone. */
function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: fields after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** Host pids of every live descendant of `root` (children, their children, …). */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids()) {
    const parent = parentOf(pid);
    if (parent !== null) children.set(parent, [...(children.get(parent) ?? []), Number(pid)]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

/** Whether the process `pid` is alive (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Sends `signal` to `pid` unless it is gone (ESRCH): a process found by a listing may end on its own
 * before the kill (a `sh` that ended first threw ESRCH in CI). Other errors are thrown.
 */
export function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** The pid of the FerretDB an embedded platform started for this state directory. */
export function ferretdbPid(stateDir: string): number {
  const socket = `--listen-unix=${join(stateDir, 'data', 'ferretdb', 'ferretdb.sock')}`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(socket)) return Number(entry);
    } catch {
      // gone
    }
  }
  throw new Error('no ferretdb process for this state directory');
}

/**
 * Stops `pid` (SIGSTOP) and waits until every one of its threads is stopped: `kill` returns
 * before a busy machine has run the stop, and until then the process may still answer (a
 * FerretDB answered a command 4 ms after the signal under load).
 */
export async function stopProcess(pid: number, ms = 5000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const stopped = (): boolean => {
    try {
      return readdirSync(`/proc/${pid}/task`).every((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        return /^[Tt]/.test(stat.slice(stat.lastIndexOf(')') + 2));
      });
    } catch {
      return false;
    }
  };
  if (!(await eventually(stopped, ms))) throw new Error(`process ${pid} did not stop within ${ms} ms`);
}
