/**
 * One state directory, one platform process (docs/adr/0056-state-dir-lock.md). A second process
 * on the same state started a second FerretDB on its data folder, whose exit took the first one's
 * socket, and two SQLite writers with their own in-memory views (usage, webhook replay guards).
 * `<state>/platform.lock` holds the owner's pid and its start time (from /proc, so a pid reused
 * after a reboot or a crash is not taken for the owner); it is hard-linked into place whole (the
 * link fails when the name exists), so of two starts at once one wins. A lock whose owner is gone
 * (killed, crashed) is taken over, under a second lock (`platform.lock.takeover`).
 *
 * Its pid means something only in the pid namespace it was written in (docs/adr/0131): two
 * containers on one volume, each platform pid 1 (or tini's child, the same pid in both), took each
 * other's lock for a dead owner's. The lock also names the namespace (boot id and pid namespace);
 * an owner of another one cannot be asked, so it proves it lives by touching the lock every second,
 * and a start there waits up to FOREIGN_WAIT_MS for a touch before it takes the lock over.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PID_NS } from '../poolmgr/index.js';
import { PlatformError } from '../protocol/index.js';

export const LOCK_FILE = 'platform.lock';
/** State directories this process holds (two platforms in one process are refused too). */
const held = new Set<string>();

export interface StateLock {
  release(): void;
}

/** Takes `<stateDir>/platform.lock`; throws PlatformError STATE_DIR_IN_USE when a live process holds it. */
export function lockStateDir(stateDir: string): StateLock {
  makeStateDir(stateDir);
  const path = join(stateDir, LOCK_FILE);
  const mine = `${process.pid} ${procStat(process.pid)?.start ?? ''} ${NAMESPACE}\n`;
  for (let attempt = 0; ; attempt++) {
    if (create(path, mine)) {
      held.add(stateDir);
      // Proof of life for a start in another pid namespace, which cannot ask about this pid.
      const heartbeat = setInterval(() => touch(path, mine), HEARTBEAT_MS);
      heartbeat.unref();
      return { release: () => { clearInterval(heartbeat); release(stateDir, path, mine); } };
    }
    if (attempt >= MAX_ATTEMPTS) throw new Error(`could not take the lock ${path}: other processes kept taking and dropping it`);
    const seen = contentOf(path);
    if (seen === null) continue; // removed meanwhile: try again
    const owner = parseOwner(seen);
    if (owner !== null && (owner.ns !== NAMESPACE || owner.pid !== process.pid || held.has(stateDir)) && alive(owner, path, seen)) {
      throw new PlatformError('STATE_DIR_IN_USE', `the state directory ${stateDir} is in use by another platform process (pid ${owner.pid}${owner.ns === NAMESPACE ? '' : ' of another pid namespace: another container, or another host on a shared volume'}): use that one, stop it first, or start this one with another state directory (--state-dir DIR)`, { stateDir, pid: owner.pid });
    }
    // Its owner is gone: take it over.
    removeIfStill(path, seen, mine);
  }
}

/**
 * The state directory, made when missing. A service user whose directory was never made (no
 * `StateDirectory=`, /var/lib root's) and a path that is a file both stopped the start with
 * `[START_FAILED] EACCES: permission denied, mkdir …` or `EEXIST …` alone (new-user round 13).
 */
function makeStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The nearest part of the path that exists: the folder this user may not write, or the file in the way.
    let found = stateDir;
    while (!existsSync(found) && dirname(found) !== found) found = dirname(found);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new PlatformError('STATE_READ_ONLY', `the state directory ${stateDir} cannot be created: this user may not make folders in ${found} (${code}): make it once as root and give it to this user (\`install -d -m 0700 -o <user> ${stateDir}\`; a systemd unit's StateDirectory= does it), or start with another state directory (--state-dir DIR)`, { stateDir });
    }
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new PlatformError('BAD_CONFIG', `the state directory ${stateDir} cannot be a directory: ${found} is a file: give a directory with --state-dir DIR or FP_STATE_DIR`, { stateDir });
    }
    throw err;
  }
}

const MAX_ATTEMPTS = 200;
/** How often the owner touches its lock (its mtime), for starts in other pid namespaces. */
const HEARTBEAT_MS = 1_000;
/** How long a start waits for a touch of a lock written in another pid namespace before it takes it over. */
const FOREIGN_WAIT_MS = 5_000;

/**
 * This process's pid namespace on this boot (`<boot id>/<pid namespace inode>`): where a pid in a
 * lock means this pid. Empty without /proc (then every lock is taken as written here).
 */
const NAMESPACE = namespaceOf();

function namespaceOf(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return boot !== '' && PID_NS !== null ? `${boot}/${PID_NS}` : '';
  } catch {
    return '';
  }
}

/** Touches the lock while it is still ours (a lock taken over is left alone). */
function touch(path: string, mine: string): void {
  try {
    if (contentOf(path) !== mine) return;
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // gone, or the disk refuses: the next beat tries again
  }
}

/** The lock file's mtime in ns (not through a link), or null when it is gone. */
function mtimeOf(path: string): bigint | null {
  try {
    return lstatSync(path, { bigint: true }).mtimeNs;
  } catch {
    return null;
  }
}

/**
 * Makes the lock with its whole content at once (written aside, then hard-linked: link fails when
 * the name exists, as O_EXCL does). A file made with O_EXCL is empty until written, and a reader
 * in between took it for a dead owner's (red team 6). False: a lock is there.
 */
function create(path: string, content: string): boolean {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(aside, content, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    // Made but not written (a full disk): not left behind, one per failed start (reliability round).
    rmSync(aside, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    // A read-only mount, a directory of another user or made immutable: START_FAILED "EROFS …" before (reliability round 9).
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
      throw new PlatformError('STATE_READ_ONLY', `the state directory ${dirname(path)} cannot be written (${code}): make it writable by this user (a read-write mount, chmod, chown, chattr -i), or start with another state directory (--state-dir DIR)`, { stateDir: dirname(path) });
    }
    throw err;
  }
  try {
    linkSync(aside, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(aside, { force: true });
  }
}

/**
 * Removes the lock if it still reads `stale`, under `<lock>.takeover` (made the same way): reading
 * the dead owner and removing the file are two steps, and without it a process that read the dead
 * owner removed the lock another process had just taken over; two or three platforms then ran on
 * one state (red team 6). Only the takeover's holder removes the lock, and only the dead owner's.
 * A takeover whose holder is gone (it died in those few microseconds) is removed in turn.
 */
function removeIfStill(path: string, stale: string, mine: string): void {
  const takeover = `${path}.takeover`;
  if (!create(takeover, mine)) {
    const holder = contentOf(takeover);
    const owner = holder === null ? null : parseOwner(holder);
    if (owner !== null && holder !== null && alive(owner, takeover, holder)) pause(5); // another start is taking over: wait
    else if (holder !== null && contentOf(takeover) === holder) rmSync(takeover, { force: true });
    return;
  }
  try {
    if (contentOf(path) === stale) rmSync(path, { force: true });
  } finally {
    rmSync(takeover, { force: true });
  }
}

/**
 * What is wrong with who may write to the state directory (empty: nothing). Another user who can
 * write there can plant or remove the lock, and replace the secrets key, the SQLite files and the
 * code (red team 6); one who can enter it reads them (red team round 27): told at start, not
 * refused (a Kubernetes emptyDir is world-writable).
 */
export function stateDirWarnings(stateDir: string): string[] {
  const st = statSync(stateDir);
  const out: string[] = [];
  if ((st.mode & 0o002) !== 0) {
    out.push(`the state directory ${stateDir} is writable by every user (mode ${(st.mode & 0o7777).toString(8)}): any local user can take over this platform's data and secrets; chmod 700 it`);
  } else if ((st.mode & 0o005) !== 0) {
    // Made 0700 when the platform creates it; one made before (`mkdir`, umask 022) let every user in,
    // and the files in it are 0644 (red team round 27: `nobody` read every tenant's code and platform.db).
    out.push(`the state directory ${stateDir} can be entered by every user (mode ${(st.mode & 0o7777).toString(8)}): any local user can read every workspace's code, runs, logs, plain env values and queued requests in it; chmod 700 it`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    out.push(`the state directory ${stateDir} belongs to another user (uid ${st.uid}): that user can read and change this platform's data and secrets`);
  }
  return out;
}

function release(stateDir: string, path: string, mine: string): void {
  if (!held.delete(stateDir)) return;
  try {
    if (contentOf(path) === mine) unlinkSync(path);
  } catch {
    // already gone
  }
}

interface Owner {
  pid: number;
  start: string;
  /** The pid namespace it was written in (NAMESPACE); empty in a lock from before it was written. */
  ns: string;
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The lock's text, or null when there is none. Never through a symbolic link (the platform makes
 * none): a link in its place reads as no owner, and is taken over (the link removed, not its target).
 */
function contentOf(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') return SYMLINK;
    throw err;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** What a symbolic link in the lock's place reads as (no owner). */
const SYMLINK = 'symlink';

function parseOwner(text: string): Owner | null {
  const [pid, start, ns] = text.trim().split(' ');
  const n = Number(pid);
  // A lock without a namespace (an older platform's) is taken as written here, as it was read before.
  return Number.isInteger(n) && n > 0 ? { pid: n, start: start ?? '', ns: ns ?? NAMESPACE } : null;
}

/**
 * Whether the owner of the file at `path` (which read `seen`) lives. Written in this pid namespace:
 * its pid says. Written in another (another container, another host on a shared volume): its pid
 * means nothing here, so the file's mtime is watched for up to FOREIGN_WAIT_MS. A touch (the
 * owner's heartbeat) means alive; a file changed or removed meanwhile is left to the caller's next
 * look (false: nothing is removed unless it still reads `seen`). Watched, not compared with this
 * clock: the owner's clock may be another, or jump.
 */
function alive(owner: Owner, path: string, seen: string): boolean {
  if (owner.ns !== NAMESPACE) {
    const before = mtimeOf(path);
    for (let waited = 0; waited < FOREIGN_WAIT_MS; waited += 100) {
      pause(100);
      if (contentOf(path) !== seen) return false;
      if (mtimeOf(path) !== before) return true;
    }
    return false;
  }
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(owner.pid);
  // A zombie (killed, not yet reaped by its parent) is dead: a restart right after `kill -9`, or
  // under a parent that never reaps, was refused STATE_DIR_IN_USE (reliability round, 2026-12-05).
  if (stat?.state === 'Z') return false;
  // Without /proc (or an old lock without a start time) the pid alone decides.
  return stat === null || owner.start === '' || stat.start === owner.start;
}

/** The process's state (/proc/<pid>/stat field 3) and start time in clock ticks since boot (field 22), or null. */
function procStat(pid: number): { state: string; start: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return null;
  }
}
