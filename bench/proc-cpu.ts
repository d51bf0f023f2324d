/**
 * CPU time of a process and all its descendants (Linux /proc), in microseconds: on a shared
 * machine the CPU a request costs is steadier than the requests a second it allows.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

interface Stat { pid: number; ppid: number; cpuUs: number }

function stats(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: fields start after the last ')'.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(fields[1]), cpuUs: (Number(fields[11]) + Number(fields[12])) * TICK_US });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** user + system CPU of `root` and every live descendant, µs (exited children's time is counted in their parent's cutime, not here). */
export function treeCpuUs(root: number): number {
  const all = stats();
  const children = new Map<number, Stat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  let total = 0;
  const stack = all.filter((s) => s.pid === root);
  while (stack.length > 0) {
    const s = stack.pop()!;
    total += s.cpuUs;
    stack.push(...(children.get(s.pid) ?? []));
  }
  return total;
}

/** user + system CPU from a /proc stat file (a process's or one thread's), µs; 0 when it is gone. */
function statCpuUs(path: string): number {
  try {
    const text = readFileSync(path, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return 0;
  }
}

/** user + system CPU of one process (all its threads), µs; 0 when it is gone. */
export function processCpuUs(pid: number): number {
  return statCpuUs(`/proc/${pid}/stat`);
}

/**
 * One process's main thread (the task whose id is the pid: a Node process's event loop): its user +
 * system CPU, µs, and its voluntary context switches (each a sleep: the loop waited for work).
 * The rest of processCpuUs is its other threads' (V8's compiler and GC helpers, libuv's pool).
 * Zeros when it is gone.
 */
export function mainThread(pid: number): { cpuUs: number; sleeps: number } {
  let sleeps = 0;
  try {
    sleeps = Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    // gone meanwhile
  }
  return { cpuUs: statCpuUs(`/proc/${pid}/task/${pid}/stat`), sleeps };
}

/**
 * Context switches of one process (all its threads), from /proc/<pid>/task/<tid>/status:
 * voluntary (it went to sleep) and involuntary (it was preempted). Zero when it is gone.
 */
export function processSwitches(pid: number): { voluntary: number; involuntary: number } {
  const out = { voluntary: 0, involuntary: 0 };
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      out.voluntary += Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(text)?.[1] ?? 0);
      out.involuntary += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(text)?.[1] ?? 0);
    }
  } catch {
    // gone meanwhile
  }
  return out;
}

/** The live descendants of `root` (not `root` itself). */
export function descendants(root: number): number[] {
  const all = stats();
  const children = new Map<number, number[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Time the threads of one process spent runnable but waiting for a CPU, µs (the second field of
 * /proc/<pid>/task/<tid>/schedstat, ns; the kernel keeps it when schedstats are available, as
 * /proc/<pid>/schedstat exists). A process that waits here is held back by the machine, not by
 * its peers. Zero when it is gone.
 */
export function processRunqueueWaitUs(pid: number): number {
  let ns = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[1] ?? 0);
  } catch {
    // gone meanwhile
  }
  return ns / 1000;
}
