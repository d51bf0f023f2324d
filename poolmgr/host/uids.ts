/**
 * One unprivileged uid per function (root mode): every instance of a function runs as the same
 * uid, no two functions share one while either has a runtime, and the uid goes back to the range
 * when the function's last runtime is gone. The lowest free uid is taken, so a function usually
 * keeps its uid across restarts of its instances. With `claims`, a uid another platform on the host
 * holds is skipped (uid-claims.ts).
 */
import { PlatformError } from '../../protocol/index.js';
import type { UidClaims } from './uid-claims.js';

export class UidAllocator {
  private readonly byFunction = new Map<string, { uid: number; users: number }>();
  private readonly taken = new Set<number>();
  private aheadTimer: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * `claimAheadMs`: that long after a function took a uid, the lowest uid no function holds is
   * claimed (if this platform does not hold it already), so the next new function's cold start takes
   * it without a file operation (~0.1-0.3 ms of the event loop: bench/README.md 3k). One spare claim
   * at most, the same state as a uid whose function ended (its claim stays, `release`); null: none.
   */
  /** `widen`: what the refusal of a used-up range tells the operator to do. */
  constructor(private readonly first: number, private readonly last: number, private readonly claims: UidClaims | null = null,
    private readonly claimAheadMs: number | null = null, private readonly widen = 'widen FP_SANDBOX_UIDS') {
    if (!(Number.isInteger(first) && Number.isInteger(last) && first >= 1 && last >= first)) {
      throw new RangeError(`bad uid range ${first}-${last}`);
    }
  }

  /** The uid of `fn` for one more runtime. RUNTIME_UNAVAILABLE when the range is used up. */
  acquire(fn: string): number {
    const held = this.byFunction.get(fn);
    if (held !== undefined) {
      held.users++;
      return held.uid;
    }
    // Uids other platforms held a moment ago are skipped unread (uid-claims.ts); only a range that
    // seems used up is read again whole before the refusal.
    for (let pass = 0; pass < 2; pass++) {
      for (let uid = this.first; uid <= this.last; uid++) {
        if (this.taken.has(uid)) continue;
        if (this.claims !== null && !this.claims.claim(uid)) continue;
        this.taken.add(uid);
        this.byFunction.set(fn, { uid, users: 1 });
        this.claimAheadSoon();
        return uid;
      }
      if (this.claims?.forgetOthers() !== true) break;
    }
    throw new PlatformError('RUNTIME_UNAVAILABLE',
      `every uid of the sandbox range ${this.first}-${this.last} is held by a function of this or another platform on the host; ${this.widen}`);
  }

  /** One runtime of `fn` is gone. */
  release(fn: string): void {
    const held = this.byFunction.get(fn);
    if (held === undefined) return;
    if (--held.users > 0) return;
    this.byFunction.delete(fn);
    this.taken.delete(held.uid);
    // The host-wide claim stays until close(): the platform's next function takes this uid (the
    // lowest free) without a file operation on its cold start (~30 µs a claim and its release).
  }

  /** Every uid claimed given back to the host (the platform stops). */
  close(): void {
    this.closed = true;
    if (this.aheadTimer !== null) clearTimeout(this.aheadTimer);
    this.aheadTimer = null;
    this.claims?.releaseAll();
  }

  /** Later, not now: on the cold-start path the claim's file operations would wait for the box's build (as ADR 0042's refills). */
  private claimAheadSoon(): void {
    if (this.claims === null || this.claimAheadMs === null || this.aheadTimer !== null || this.closed) return;
    this.aheadTimer = setTimeout(() => {
      this.aheadTimer = null;
      this.claimAhead();
    }, this.claimAheadMs);
    this.aheadTimer.unref();
  }

  /** The lowest uid no function holds, claimed now; skips the uids other platforms hold, as `acquire`. */
  private claimAhead(): void {
    if (this.closed || this.claims === null) return;
    for (let uid = this.first; uid <= this.last; uid++) {
      if (this.taken.has(uid)) continue;
      try {
        if (this.claims.claim(uid)) return;
      } catch {
        return; // out of files, say: the next cold start claims for itself, as before
      }
    }
  }

  /** The uid `fn` holds now, if any. */
  uidOf(fn: string): number | undefined {
    return this.byFunction.get(fn)?.uid;
  }
}
