/**
 * Host processes the local process host signals but did not start itself (a zygote's box init, a
 * template's forked child): whether one exists, and which one a pid names now.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/**
 * This process's pid namespace (the inode of /proc/self/ns/pid), or null when it cannot be read.
 * A pid names a process only within its namespace: a platform started in another one (`unshare
 * --pid`, a container sharing the host's cgroup hierarchies or /tmp) saw no process behind our
 * `fp-<pid>-…` directories and removed them as stale, idle cgroups and template roots alike, so
 * our next box or dependency build failed (apps round 12; docs/adr/0125-pid-namespace-in-names.md).
 */
export const PID_NS: string | null = (() => {
  try {
    return /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? null;
  } catch {
    return null;
  }
})();

/** What a host-wide name of this process ends with: `-<pid namespace>` ('' when it cannot be read). */
export const PID_NS_SUFFIX = PID_NS === null ? '' : `-${PID_NS}`;

/**
 * Whether the owner of a directory named with `pid` (and `ns`, its pid namespace, when the name
 * has one: names before ADR 0125 have none) is gone. Another namespace's owner cannot be seen
 * from here, so it is never taken for gone; nor the owner of a name without one, from a process
 * that does not see every pid of its /proc (ADR 0128: a platform of an earlier build still running
 * kept its directories only from sweeps in its own namespace).
 */
export function ownerGone(pid: number, ns: string | undefined): boolean {
  return (ns === undefined ? seesEveryPid() : ns === PID_NS) && !pidAlive(pid);
}

let seesAll: boolean | undefined;

/**
 * Whether this process's pid namespace is the one of the /proc it reads (its pid there is its own
 * pid): then a pid that is not alive here is gone. In a namespace nested in it (`unshare --pid`
 * without `--mount-proc`, as the Kubernetes tests' kubelet runs its pods: /proc/self names the
 * outer pid) every outside process looks dead. Unreadable: taken as yes, as before ADR 0125.
 */
function seesEveryPid(): boolean {
  if (seesAll === undefined) {
    try {
      seesAll = readlinkSync('/proc/self') === String(process.pid);
    } catch {
      seesAll = true;
    }
  }
  return seesAll;
}

/** Whether a process exists (it may belong to another user: EPERM still means it is there). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The kernel's PF_EXITING task flag (/proc/<pid>/stat field 9): set as a process starts to exit. */
const PF_EXITING = 0x4;

/**
 * Whether `pid` names a process that has not ended nor begun to: not a zombie (only waiting to be
 * reaped), and not exiting. A killed process closes its files (its sockets: what its peers see
 * end) before it turns zombie, still in state `R` meanwhile, a window a loaded machine widens; its
 * PF_EXITING flag is set before that (the zygote's forks counted as failures of a live zygote).
 */
export function running(pid: number): boolean {
  try {
    return !statSaysEnding(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

/** A /proc/<pid>/stat line of a process that is a zombie, dead, or exiting (PF_EXITING). */
export function statSaysEnding(stat: string): boolean {
  // After the command name (in parentheses, which may hold anything): state is field 3, flags field 9.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || fields[0] === 'X' || (Number(fields[6]) & PF_EXITING) !== 0;
}

/**
 * When the process `pid` names now started (clock ticks since boot, /proc/<pid>/stat field 22), or
 * null when there is none. A pid and its start time name one process for good: a pid freed and
 * taken again (pid_max may be 32768) comes with a later start time.
 */
export function startedAt(pid: number): string | null {
  return statIdentity(statOf(pid) ?? '')?.start ?? null;
}

/** The /proc/<pid>/stat line of `pid`, or null once there is no such process. */
export function statOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
}

/**
 * When `pid` started, read in the one line that says it is a child of `parent` (field 4), or null
 * when it is not (gone, or its pid taken by another process) — a template's forked child, whose
 * pid the host found by walking the template's box (templates.ts `findForkedChild`) and whose start
 * time it reads itself: the child is the function's own code and cannot be trusted to say it (ADR
 * 0243 covers a zygote's reporter only). Its parent is bound to its start time in one read: read
 * apart (the walk, then `startedAt`), a child that exited and was reaped between the two, its pid
 * taken, gave the newcomer's start time, and the host would have signalled that process as the
 * instance (loose ends round 8).
 */
export function startedAsChildOf(pid: number, parent: number, read: (pid: number) => string | null = statOf): string | null {
  const stat = read(pid);
  const self = stat === null ? null : statIdentity(stat);
  if (self === null || self.pid !== pid) return null;
  // After the command name (in parentheses, which may hold anything): state is field 3, ppid field 4.
  return Number(stat!.slice(stat!.lastIndexOf(')') + 2).split(' ', 2)[1]) === parent ? self.start : null;
}

/**
 * Whom a forked box's pid frame names and its start time (ADR 0243): the reporter's own stat line,
 * or, where a reporter that is the runtime itself also gave its `getpid()` and the line names
 * another pid (a /proc of another PID namespace: ADR 0128's setups), that pid, its start time read
 * here as before ADR 0243. Null: no stat line (the runtime then never reported its pid).
 */
export function reportedIdentity(stat: string, givenPid: unknown, startOf: (pid: number) => string | null = startedAt): { pid: number; start: string | null } | null {
  const self = statIdentity(stat);
  if (self === null) return null;
  const own = typeof givenPid === 'number' && Number.isSafeInteger(givenPid) && givenPid > 0 && givenPid !== self.pid ? givenPid : null;
  return own === null ? self : { pid: own, start: startOf(own) };
}

/**
 * The pid (field 1: in the PID namespace of the /proc it was read from) and start time (field 22)
 * a /proc/<pid>/stat line names, or null when it is no such line. A zygote box's reporter sends
 * its own (ADR 0243).
 */
export function statIdentity(stat: string): { pid: number; start: string } | null {
  const pid = Number(stat.slice(0, stat.indexOf(' (')));
  // After the command name (in parentheses, which may hold anything): the space before field 3,
  // then 19 more to the one before field 22 (no split: this runs on the ready path, ADR 0243).
  let at = stat.lastIndexOf(')') + 1;
  for (let field = 3; field < 22 && at > 0; field++) at = stat.indexOf(' ', at + 1);
  const end = stat.indexOf(' ', at + 1);
  const start = at > 0 ? stat.slice(at + 1, end < 0 ? stat.length : end).trimEnd() : '';
  return Number.isSafeInteger(pid) && pid > 0 && /^\d{1,20}$/.test(start) ? { pid, start } : null;
}
