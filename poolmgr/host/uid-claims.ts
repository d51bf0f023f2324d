/**
 * Host-wide claims on sandbox uids (docs/adr/0076-host-wide-uid-claims.md). Every platform on a host
 * starts from the same range, and a uid is a host-wide identity: two platforms that both gave
 * uid 600000 to a function would share its process limit (RLIMIT_NPROC counts per uid, host-wide)
 * and let one platform's function signal the other's. So a platform claims each uid it gives out
 * with a file `<dir>/<uid>` created exclusively (linked into place whole), holding its pid and the process's start time; a
 * claim whose process is gone (a platform that crashed) is taken over, under a lock so that two
 * platforms never take over the same one.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startedAt } from './host-pids.js';

export const DEFAULT_UID_CLAIMS_DIR = '/run/fastapi-platform/uids';
/**
 * How long a uid found held by another live platform is skipped without looking at its claim
 * again. Each look is ~5 file operations (~150 µs here) on the cold-start path, and every cold
 * start scanned from the range's first uid past every other platform's claims: with 33 held by
 * other platforms (parallel tests, `dev` beside `up`) a cold start spent 5-7 ms there. A uid freed
 * meanwhile is only taken a little later (the next free one serves meanwhile).
 */
export const OTHERS_RECHECK_MS = 30_000;

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

export class UidClaims {
  private readonly owner: string;
  private readonly held = new Set<number>();
  /** Uids another live platform held when last looked at, and when (OTHERS_RECHECK_MS). */
  private readonly others = new Map<number, number>();

  constructor(private readonly dir: string = DEFAULT_UID_CLAIMS_DIR, private readonly now: () => number = Date.now) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.owner = `${process.pid} ${startedAt(process.pid) ?? '0'}\n`;
  }

  /** Claims `uid` for this platform; false when a live platform holds it. */
  claim(uid: number): boolean {
    if (this.held.has(uid)) return true;
    const seen = this.others.get(uid);
    if (seen !== undefined && this.now() - seen < OTHERS_RECHECK_MS) return false;
    const path = join(this.dir, String(uid));
    if (this.create(path)) return this.took(uid);
    if (this.ownerAlive(path)) {
      this.others.set(uid, this.now());
      return false;
    }
    return this.takeOver(path) ? this.took(uid) : false;
  }

  /** The uids skipped as other platforms' are looked at again at their next claim (the range seemed used up). */
  forgetOthers(): boolean {
    const any = this.others.size > 0;
    this.others.clear();
    return any;
  }

  /** Gives `uid` back to the host (only if this platform still holds it). */
  release(uid: number): void {
    if (!this.held.delete(uid)) return;
    const path = join(this.dir, String(uid));
    try {
      if (readFileSync(path, 'utf8') === this.owner) unlinkSync(path);
    } catch {
      /* already gone */
    }
  }

  /** Every claim of this platform, given back (at close). */
  releaseAll(): void {
    for (const uid of [...this.held]) this.release(uid);
  }

  private took(uid: number): true {
    this.others.delete(uid);
    this.held.add(uid);
    return true;
  }

  /**
   * Creates `path` holding this platform's mark; false when it exists. Written whole beside it and
   * linked into place (link fails if the name exists), so a claim is never seen empty: a platform
   * killed mid-write leaves only its own temporary file, not a claim no one could take over.
   */
  private create(path: string): boolean {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, this.owner, { mode: 0o600 });
    try {
      linkSync(tmp, path);
      return true;
    } catch (err) {
      if (errCode(err) === 'EEXIST') return false;
      throw err;
    } finally {
      this.remove(tmp);
    }
  }

  /** Whether the process named in the claim at `path` still runs (the same process: its start time matches). */
  private ownerAlive(path: string): boolean {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
    const [pid, start] = text.trim().split(' ');
    const n = Number(pid);
    if (!Number.isInteger(n) || n <= 0) return false; // garbage: nobody's
    return startedAt(n) === start;
  }

  /**
   * Takes over a dead platform's claim. Under a host-wide lock (another platform taking over at the
   * same time skips the uid rather than wait), the claim is checked again and replaced atomically.
   */
  private takeOver(path: string): boolean {
    const lock = join(this.dir, '.takeover');
    if (!this.create(lock)) {
      // A platform that died holding the lock: the lock is cleared for the next try.
      if (!this.ownerAlive(lock)) this.remove(lock);
      return false;
    }
    try {
      if (this.ownerAlive(path)) return false;
      const fresh = `${path}.${process.pid}`;
      writeFileSync(fresh, this.owner, { mode: 0o600 });
      renameSync(fresh, path);
      return true;
    } finally {
      this.remove(lock);
    }
  }

  private remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      /* gone */
    }
  }
}
