/**
 * The code check's private folders under the system's temporary folder, named for the platform's
 * process: `fp-check-<pid>-XXXXXX` (a warmed checker's, ./check-zygote.ts, kept for its life) and
 * `fp-validate-<pid>-XXXXXX` (a spawned check's, removed after it). A platform killed outright
 * (SIGKILL, a crash, the OOM killer) removes neither, so each start removes those whose process is
 * gone (loose ends round 14, ADR 0248 amended): never its own, never one of a process still running
 * (another platform on the machine, or one whose pid came back: kept until a later start), never
 * another user's, never a folder named otherwise (one of a version from before: removed by hand).
 * A platform in another PID namespace sharing this /tmp is not supported: its pids are not ours.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const STALE = /^fp-(?:check|validate)-(\d+)-[A-Za-z0-9]{6}$/;

/** The prefix of a check's folder of `kind` in `dir` (mkdtemp adds six characters). */
export function checkFolderPrefix(dir: string, kind: 'check' | 'validate'): string {
  return join(dir, `fp-${kind}-${process.pid}-`);
}

/** Whether a process with this pid exists (EPERM: it does, another user's). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the check folders in `dir` whose platform process is gone; returns their names. */
export function removeStaleCheckFolders(dir: string, alive: (pid: number) => boolean = running): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const name of names) {
    const pid = Number(STALE.exec(name)?.[1] ?? NaN);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    try {
      const stat = lstatSync(join(dir, name));
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove: left
    }
  }
  return removed;
}
