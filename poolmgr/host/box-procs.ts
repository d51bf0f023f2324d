/**
 * A box's processes as /proc shows them from the host: a process's children, its pid in each PID
 * namespace, and whether the runtime of a box is stopped (docs/adr/0233-a-runtime-stopped-while-loading-is-the-platforms.md).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The host pids of the children of `pid` (every thread's), or [] once it is gone. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text !== '') for (const c of text.split(/\s+/)) out.push(Number(c));
    }
  } catch {
    // gone meanwhile
  }
  return out;
}

/** The pids of `pid` in each PID namespace it is in, the host's first and its box's last; [] once it is gone. */
export function nsPids(pid: number): number[] {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'));
    return line === undefined ? [] : line.slice(6).trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/**
 * The host pid of the runtime whose box `watched` (the process the host watches: the box's keeper
 * or init, or the runtime itself when unboxed or forked from a template) holds: the descendant
 * that is pid 2 of its box (keeper.py: keeper, init, runtime), else `watched`.
 */
export function runtimePid(watched: number): number {
  let level = [watched];
  for (let depth = 0; depth < 3 && level.length > 0; depth++) {
    const next: number[] = [];
    for (const pid of level) {
      const ns = nsPids(pid);
      if (ns.length >= 2 && ns[ns.length - 1] === 2) return pid;
      next.push(...childrenOf(pid));
    }
    level = next;
  }
  return watched;
}

/**
 * Why the runtime under `watched` answers nothing for a reason not its function's, or null: it is
 * stopped (SIGSTOP, a job-control stop), held by a tracer, or frozen by a cgroup freezer. Read once, when its load ran out of
 * time: a process in any other state (running, sleeping in the function's own call) may be loading.
 * No pid in the text: it reaches the function's callers and run records, and host pids are not theirs.
 */
export function stoppedWhy(watched: number): string | null {
  const pid = runtimePid(watched);
  let state: string | undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
  if (state === 'T') return 'its process was stopped (SIGSTOP or a job-control stop)';
  if (state === 't') return 'its process was held by a tracer';
  // Frozen (chaos round 5): in uninterruptible sleep (D) under cgroup v1, sleeping (S) under v2,
  // which alone say nothing; the freezer's own file says it. It answered FUNCTION_INIT_FAILED.
  if ((state === 'D' || state === 'S') && frozen(pid)) return 'its process was frozen (a cgroup freezer)';
  return null;
}

/**
 * Whether a freezer holds `pid`: its cgroup v1 freezer group FROZEN or FREEZING (a parent's
 * freezing shows in its children's state), or its cgroup v2 group `frozen 1` (cgroup.events, also
 * set under a frozen parent), at /sys/fs/cgroup or a hybrid's /sys/fs/cgroup/unified.
 */
export function frozen(pid: number): boolean {
  let lines: string[];
  try {
    lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  } catch {
    return false;
  }
  for (const line of lines) {
    const [id, controllers, path] = splitCgroupLine(line);
    if (path === undefined || path.includes('..')) continue;
    if (controllers?.split(',').includes('freezer') === true && /^FREEZING|^FROZEN/.test(readOr(`/sys/fs/cgroup/freezer${path}/freezer.state`))) return true;
    if (id === '0' && controllers === '') {
      for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) if (/^frozen 1$/m.test(readOr(`${root}${path}/cgroup.events`))) return true;
    }
  }
  return false;
}

/** `hierarchy-id:controllers:path` (a path may hold colons). */
function splitCgroupLine(line: string): [string | undefined, string | undefined, string | undefined] {
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (second < 0) return [undefined, undefined, undefined];
  return [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1)];
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
