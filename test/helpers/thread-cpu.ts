/**
 * CPU time a process spent, on its main thread and in all its threads, read from Linux's /proc.
 *
 * For tests that must show where work ran (a worker thread, not the event loop) on a loaded
 * machine: CPU time counts only the time a thread actually ran, so other processes competing for
 * the cores do not inflate it the way they inflate wall-clock timings (an event-loop gap, a
 * health check's latency). Compare the main thread's share with a baseline or with the whole
 * process, never with a fixed number of milliseconds (test/README.md, "No timed assertions").
 *
 * Resolution: the kernel's clock tick (USER_HZ, 100 on Linux: 10 ms), so measure work that takes
 * a few hundred ms of CPU.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: what /proc counts CPU time in (100 on every Linux architecture Node.js runs on). */
const TICK_MS = 10;

/** utime + stime of a /proc `stat` file, in ms. */
function statCpuMs(path: string): number {
  const text = readFileSync(path, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 14 (utime) and 15 (stime) of proc(5); fields[0] is field 3 (state).
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

export interface CpuSample {
  /** CPU ms of the main thread (the one running the event loop: its thread id is the pid). */
  mainMs: number;
  /** CPU ms of every thread of the process (worker threads, libuv's pool, V8's helpers, the main one). */
  totalMs: number;
}

/** The CPU time `pid` (default: this process) has used so far. */
export function cpuOf(pid: number = process.pid): CpuSample {
  return { mainMs: statCpuMs(`/proc/${pid}/task/${pid}/stat`), totalMs: statCpuMs(`/proc/${pid}/stat`) };
}

/** What was used between two samples. */
export function cpuSince(before: CpuSample, after: CpuSample): CpuSample {
  return { mainMs: after.mainMs - before.mainMs, totalMs: after.totalMs - before.totalMs };
}

/** Runs `fn` and returns its value with the CPU this process used meanwhile. */
export async function withCpu<T>(fn: () => Promise<T> | T): Promise<{ value: T; cpu: CpuSample }> {
  const before = cpuOf();
  const value = await fn();
  return { value, cpu: cpuSince(before, cpuOf()) };
}
