/**
 * Where the platform's cgroup v2 directories go, and how its controllers reach them (ADR 0144).
 *
 * cgroup v2 lets a cgroup hand its controllers to children only while it holds no process itself
 * (the "no internal processes" rule: writing `cgroup.subtree_control` fails with EBUSY), and the
 * platform's own cgroup holds the platform: a systemd service's, a container's, a login session's.
 * Only the root cgroup is exempt. So on a cgroup v2 host every box ran without its memory, CPU and
 * tasks limits unless the platform ran in the root cgroup (ops round 3). As systemd asks of a
 * service with a delegated cgroup, the platform first moves itself, and the processes it started
 * that are still there, into a leaf of its own, `fp-<pid>-self-<ns>`, then enables the controllers
 * in the cgroup it came from, where its directories go as before. A process there that is not the
 * platform's (a login shell, a sibling service) is never moved: the start says which it found.
 * cgroup v1 hierarchies have no such rule; nothing here runs for them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PID_NS_SUFFIX } from './host-pids.js';

/** The leaf the platform moves itself into (a name `removeStale` knows: removed once its pid is gone). */
export const SELF_LEAF = `fp-${process.pid}-self${PID_NS_SUFFIX}`;

/**
 * The cgroup the platform's directories go in: its own, or, once it moved itself into SELF_LEAF
 * (`/proc/self/cgroup` names the leaf from then on), the one it left.
 */
export function v2Home(ownDir: string): string {
  const cut = ownDir.lastIndexOf('/');
  return ownDir.slice(cut + 1) === SELF_LEAF ? ownDir.slice(0, cut) : ownDir;
}

/** Enables `controllers` for `home`'s children, first moving the platform's processes out of `home` when the kernel asks for it. */
export function enableV2Controllers(home: string, controllers: readonly string[]): void {
  const enable = controllers.map((c) => `+${c}`).join(' ');
  try {
    writeFileSync(`${home}/cgroup.subtree_control`, enable);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
  }
  const here = processesIn(home);
  const foreign = here.filter((pid) => !startedBy(pid, process.pid));
  if (foreign.length > 0) {
    throw new Error(
      `the platform's cgroup ${home} also holds processes that are not the platform's (pid ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}), ` +
        'and cgroup v2 gives a cgroup with processes no controller for its children: start the platform in a cgroup of its own ' +
        '(a systemd service, or `systemd-run --scope -p Delegate=yes …`; docs/platform.md "cgroup v2")',
    );
  }
  const self = `${home}/${SELF_LEAF}`;
  mkdirSync(self, { recursive: true });
  for (const pid of here) {
    try {
      writeFileSync(`${self}/cgroup.procs`, String(pid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ended meanwhile
    }
  }
  writeFileSync(`${home}/cgroup.subtree_control`, enable);
}

function processesIn(dir: string): number[] {
  return readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter((l) => l !== '').map(Number);
}

/** True when `pid` is `ancestor` or one of its descendants (parents from /proc/<pid>/stat). */
export function startedBy(pid: number, ancestor: number): boolean {
  for (let at = pid, steps = 0; at > 1 && steps < 4096; steps++) {
    if (at === ancestor) return true;
    const parent = parentOf(at);
    if (parent === null) return false;
    at = parent;
  }
  return false;
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}
