/**
 * Directories a host makes under the machine's temporary directory (its template root, each
 * zygote's socket directory), named after the process that made them, so that the next start
 * removes those a killed platform left behind (ADR 0125 for the pid namespace in the name).
 */
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
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
 *
 * Only a directory this user made is removed (red26): the name alone is anyone's to pick in a
 * shared TMPDIR. Another local user planted `fp-zygote-default-<a dead pid>-1` with a folder of
 * 20 000 files and, once the sweep (root's) was inside that folder, swapped it for a symlink: the
 * recursive removal's next paths went through it, and root removed the directory the link named
 * (docs/security.md, round 26). So: a real directory (lstat), owned by this uid, writable by
 * nobody else, in a parent where nobody else can rename it (sticky, or writable by us alone).
 */
/** The longest path of a file `name` in a directory `makeOwnedDir(prefix)` makes (a socket's: 107 bytes at most). */
export function ownedDirFile(prefix: string, name: string): string {
  return join(tmpdir(), `${prefix}-${process.pid}-999999${PID_NS_SUFFIX}`, name);
}

export function makeOwnedDir(prefix: string): string {
  const parent = tmpdir();
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-\\d+(?:-(\\d+))?$`);
  const sweep = renameSafe(parent);
  for (const name of sweep ? readdirSafe(parent) : []) {
    const m = pattern.exec(name);
    if (m === null || !ownerGone(Number(m[1]), m[2]) || !madeByThisUser(join(parent, name))) continue;
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

/** Group or other may write (and so create, rename or remove entries, unless sticky). */
const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/** Whether `path` is a directory itself (not a link to one), this user's, and nobody else may write in it. */
function madeByThisUser(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & WRITABLE_BY_OTHERS) === 0;
  } catch {
    return false;
  }
}

/** Whether nobody else can rename an entry of ours in `dir` (a sticky TMPDIR such as /tmp, or one only we write). */
function renameSafe(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return (st.mode & STICKY) !== 0 || (st.mode & WRITABLE_BY_OTHERS) === 0;
  } catch {
    return false;
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
