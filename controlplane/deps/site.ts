/**
 * The files side of a dependency build: a staging directory per build under `<root>/.staging/`,
 * and publishing a finished site as `<root>/<lock sha256>/{site/, lock.txt, modules.json}` — checked for size
 * by the host (the builder's own count is not trusted), owned by the platform, read-only
 * (files 0444, or 0555 when executable; folders 0555), then renamed into place in one step.
 * A site is never changed after that; two builds of the same lock keep the first.
 */
import { chmod, lchown, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { MODULES_FILE } from './site-modules.js';

export interface Staging {
  dir: string;
  /** Bound at /deps in the builder's box: pip installs here. */
  site: string;
  /** Bound at /run/fp-build: the declaration files (input/), pip's report, the lock, the proxy socket. */
  work: string;
}

export async function makeStaging(root: string, id: string, builderUid: number | null): Promise<Staging> {
  const dir = join(root, '.staging', id);
  const staging = { dir, site: join(dir, 'site'), work: join(dir, 'work') };
  await mkdir(join(staging.work, 'input'), { recursive: true, mode: 0o700 });
  await mkdir(staging.site, { mode: 0o700 });
  if (builderUid !== null) {
    for (const path of [staging.site, staging.work, join(staging.work, 'input')]) await lchown(path, builderUid, builderUid);
  }
  return staging;
}

/**
 * Bytes and entries under `dir`, symlinks counted, never followed. An entry that vanishes while it
 * is walked is not counted (a running build is measured too: its script could otherwise make
 * every walk fail by removing files under it).
 */
export async function usage(dir: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(gone([]))) {
    const path = join(dir, entry.name);
    const st = await lstat(path).catch(gone(null));
    if (st === null) continue;
    bytes += st.size;
    entries++;
    if (st.isDirectory()) {
      const inner = await usage(path);
      bytes += inner.bytes;
      entries += inner.entries;
    }
  }
  return { bytes, entries };
}

/** A promise's fallback for ENOENT (the entry is gone); any other error is thrown. */
function gone<T>(value: T): (err: NodeJS.ErrnoException) => T {
  return (err) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return value;
    throw err;
  };
}

/** Platform-owned and read-only, bottom-up; symlinks and special files are left as they are (never followed). */
async function freeze(dir: string, uid: number, gid: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await freeze(path, uid, gid);
    else if (entry.isFile()) {
      const st = await lstat(path);
      await lchown(path, uid, gid);
      await chmod(path, st.mode & 0o111 ? 0o555 : 0o444);
    } else if (entry.isSymbolicLink()) await lchown(path, uid, gid);
  }
  await lchown(dir, uid, gid);
  await chmod(dir, 0o555);
}

/** Moves the staged site to `<root>/<lock>/`; false when that lock's site was there already. */
export async function publish(root: string, staging: Staging, lock: string, lockText: string, modules: string): Promise<boolean> {
  const target = join(root, lock);
  const pub = join(staging.dir, 'pub');
  await mkdir(pub);
  await rename(staging.site, join(pub, 'site'));
  await writeFile(join(pub, 'lock.txt'), lockText, { mode: 0o444 });
  await writeFile(join(pub, MODULES_FILE), modules, { mode: 0o444 });
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await freeze(pub, uid, gid);
  // Writable until it is in place: moving a folder to another parent rewrites its `..`, which
  // only root may do in a folder it cannot write (a platform not root failed every publish with EACCES).
  await chmod(pub, 0o755);
  try {
    await rename(pub, target);
    await chmod(target, 0o555);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes a staging directory (made writable first: a frozen tree cannot be emptied otherwise). */
export async function dropStaging(staging: Staging): Promise<void> {
  await removeTree(staging.dir);
}

/**
 * Removes what builds left under `<root>/.staging/` (a crash's half-done builds). A process killed
 * while it froze a site (publish) left it read-only: a plain rm failed with EACCES for any user but
 * root, and the platform (a `dev` keeping its cache, reliability round 6) never started again.
 */
export async function dropAllStaging(root: string): Promise<void> {
  await removeTree(join(root, '.staging'));
}

/** Removes a published site `<root>/<lock>/` (its frozen tree made writable first). */
export async function removeSite(root: string, lock: string): Promise<void> {
  await removeTree(join(root, lock));
}

async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(async () => {
    await chmodTree(dir);
    await rm(dir, { recursive: true, force: true });
  }).catch(async (err: unknown) => {
    // Folders nested past PATH_MAX (a build script's: 3000 deep): Node's rm fails with
    // ENAMETOOLONG, and the folder stayed, at every start again (red team round 19). GNU rm walks
    // by descriptor, at any depth.
    const gone = await new Promise<boolean>((resolve) => execFile('rm', ['-rf', '--', dir], (failed) => resolve(failed === null)));
    if (!gone) throw err;
  });
}

async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) await chmodTree(join(dir, entry.name));
  }
}
