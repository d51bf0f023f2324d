/**
 * Whether `dev` may keep a folder's dependency sites in a directory of the CLI's cache: the sites
 * are imported by the folder's functions at the next start, so no other local user may be able to
 * change them. The state directory is checked the same way (platform/state-lock.ts
 * stateDirWarnings); a cache is only a speed-up, so one that fails the check is not used.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The cache directory `dev` may use at `path` (privateCacheDir's real path), or why not: another
 * user could change it, or it cannot be written now (read-only, a full disk, a file in its place:
 * every `dev` start was refused with a bare EACCES or a STORAGE_FULL naming the state directory,
 * reliability round 6). A cache is only a speed-up: `dev` builds in its own state then.
 */
export function usableCacheDir(path: string): { path: string } | { problem: string } {
  let checked: { path: string } | { problem: string };
  try {
    checked = privateCacheDir(path);
  } catch (err) {
    return { problem: (err as Error).message };
  }
  if ('problem' in checked) return checked;
  const probe = join(checked.path, `.probe.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, 'x', { flag: 'wx', mode: 0o600 });
    return checked;
  } catch (err) {
    return { problem: (err as Error).message };
  } finally {
    rmSync(probe, { force: true });
  }
}

/**
 * `path` (made if missing, owner-only) as a real path, or why it cannot be trusted: it or a folder
 * above it belongs to another user (root excepted), or can be written by others; above it a
 * sticky folder writable by all (`/tmp`) is fine, since no one else can rename what this user made
 * there. Another user who can write any of them can swap the sites the next start serves (red
 * team 13: uid 65534 renamed a built site aside in a shared `FP_CACHE_DIR` and its own
 * `alpha.py` was what the next `dev` start imported). Symbolic links are resolved first: the real
 * path is what the platform is given, so a link another user owns cannot be pointed elsewhere later.
 */
export function privateCacheDir(path: string): { path: string } | { problem: string } {
  // What exists of it first, so that nothing is made through a folder (or a link) another user controls.
  let existing = resolve(path);
  while (!existsSync(existing)) existing = dirname(existing);
  const above = problemOf(realpathSync(existing), existing === resolve(path));
  if (above !== null) return { problem: above };
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const real = realpathSync(path);
  const problem = problemOf(real, true);
  return problem === null ? { path: real } : { problem };
}

/** Why `real` (a real path) or a folder above it can be changed by another user, or null. `own`: `real` is the cache's own folder. */
function problemOf(real: string, own: boolean): string | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  for (let dir = real; ; dir = dirname(dir)) {
    const st = lstatSync(dir);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.uid !== uid && st.uid !== 0) return `${dir} belongs to another user (uid ${st.uid})`;
    const othersWrite = (st.mode & 0o022) !== 0;
    // The cache's own folder: not even a sticky one, where others could make the sites' names first.
    if (othersWrite && ((own && dir === real) || (st.mode & 0o1000) === 0)) return `${dir} can be written by other users (mode ${mode})`;
    if (dir === dirname(dir)) return null;
  }
}
