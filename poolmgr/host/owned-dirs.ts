/**
 * Directories a host makes under the machine's temporary directory (its template root, each
 * zygote's socket directory), named after the process that made them, so that the next start
 * removes those a killed platform left behind (ADR 0125 for the pid namespace in the name).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerGone, PID_NS_SUFFIX } from './host-pids.js';

/** Directories this module instance made so far, every prefix together. */
let made = 0;

/**
 * A fresh 0700 directory `<tmp>/<prefix>-<pid>-<n>-<pid namespace>`. Those of the same prefix
 * whose process no longer exists (a platform that was killed: its `close()` never ran) are removed
 * first, where this user may: another user's (a root platform's, seen by one running as nobody)
 * stays, and is no reason not to start; so does another pid namespace's (ADR 0125). One with this
 * pid is another host's of this process (a second copy of this module counts from 1 too:
 * bench/ab-cold.ts loads two builds): never removed, the next number taken.
 */
export function makeOwnedDir(prefix: string): string {
  const parent = tmpdir();
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-\\d+(?:-(\\d+))?$`);
  for (const name of readdirSafe(parent)) {
    const m = pattern.exec(name);
    if (m === null || !ownerGone(Number(m[1]), m[2])) continue;
    try {
      rmSync(join(parent, name), { recursive: true, force: true });
    } catch {
      // not ours to remove
    }
  }
  for (;;) {
    const dir = join(parent, `${prefix}-${process.pid}-${++made}${PID_NS_SUFFIX}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
