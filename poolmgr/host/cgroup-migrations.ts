/**
 * Fast cgroup migrations: the kernel's `favordynmods` flag of the cgroup2 root
 * (docs/adr/0029-fast-cgroup-migrations.md).
 *
 * Moving a process into a cgroup (a write to `cgroup.procs`, v1 or v2) takes the kernel's
 * threadgroup lock for writing, which by default waits for an RCU grace period: 8-14 ms here for
 * the first move of a burst, more than the whole fork of a box. With `favordynmods` set on the
 * cgroup2 root (Linux 6.1+) moves no longer wait (0.5 ms here) and forks and exits pay a little
 * more. The flag lives on the one cgroup2 root and rules the lock of every hierarchy, v1 ones
 * included, even where no controller is on v2.
 *
 * How it is set: a cgroup2 mount that lacks it is remounted with its own options plus
 * `favordynmods` (every root flag not given on a remount is cleared, so `nsdelegate` and the
 * `memory_*` options are carried over); without any cgroup2 mount one is made in a temporary
 * directory and unmounted at once (the root keeps the flag). Once per platform process, in root
 * mode with cgroups, before the first box is made.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FLAG = 'favordynmods';

/** What `favorDynamicModifications` found or did. */
export interface MigrationMode {
  /** True when moves into cgroups no longer wait for a grace period. */
  fast: boolean;
  /** How: 'already' (a mount has the flag), 'remount', 'mount'; or why not. */
  how: string;
}

/** A cgroup2 mount: where, and the root's options as mountinfo shows them. */
export interface Cgroup2Mount {
  mountPoint: string;
  options: string[];
}

/** The cgroup2 mounts of a mountinfo text. */
export function cgroup2Mounts(mountinfo: string): Cgroup2Mount[] {
  const mounts: Cgroup2Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const mountPoint = before.split(' ')[4];
    const [fstype, , superOptions] = after.split(' ');
    if (fstype !== 'cgroup2' || mountPoint === undefined || superOptions === undefined) continue;
    mounts.push({ mountPoint: mountPoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), options: superOptions.split(',') });
  }
  return mounts;
}

/** The `mount` invocations that set the flag, given the cgroup2 mounts (none when one has it). */
export function plan(mounts: readonly Cgroup2Mount[], scratch: string): string[][] {
  if (mounts.some((m) => m.options.includes(FLAG))) return [];
  const first = mounts[0];
  if (first === undefined) return [['-t', 'cgroup2', '-o', FLAG, 'cgroup2', scratch], ['umount', scratch]];
  const kept = first.options.filter((o) => o !== 'rw' && o !== 'ro');
  return [['-o', ['remount', ...kept, FLAG].join(','), first.mountPoint]];
}

/** Sets the flag if it is not set; never throws (a kernel before 6.1, no privilege: `fast` false). */
export function favorDynamicModifications(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): MigrationMode {
  const mounts = cgroup2Mounts(mountinfo);
  let scratch: string | null = null;
  try {
    if (mounts.length === 0) scratch = mkdtempSync(join(tmpdir(), 'fp-cgroup2-'));
    const steps = plan(mounts, scratch ?? '');
    if (steps.length === 0) return { fast: true, how: 'already' };
    for (const step of steps) {
      const [command, args] = step[0] === 'umount' ? ['umount', step.slice(1)] : ['mount', step];
      execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
    }
    return { fast: true, how: scratch === null ? 'remount' : 'mount' };
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return { fast: false, how: `could not set ${FLAG} on the cgroup2 root (${stderr || (err as Error).message})` };
  } finally {
    if (scratch !== null) {
      try {
        rmdirSync(scratch);
      } catch {
        // still mounted after a failed umount: left for the operator, named fp-cgroup2-*
      }
    }
  }
}
