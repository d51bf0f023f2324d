/**
 * Bytes the gateway keeps in memory for clients, bounded across the server (docs/gateway.md, "Slow
 * clients"). Two budgets use this class (uws-adapter rules 7 and 10):
 *
 *  - **response bytes waiting for clients** (`maxHeldResponseBytes`): a whole response is written
 *    with `tryEnd`; what the socket does not take at once waits. Before this bound a client that
 *    never read (or read a few bytes now and then, which keeps a connection's idle timer from
 *    firing) kept a function's 60 MiB answer there as long as it liked, one per connection (red
 *    team, December 2026; test/e2e/attack-gateway.test.ts);
 *  - **request bodies being received or held by their calls** (`maxBodyBytesInFlight`): a body is
 *    buffered whole before the call, up to its limit, and 200 connections each sending most of a
 *    6 MiB body and then trickling took the platform from 100 MiB to 1.3 GiB (December 2026, same
 *    test file). A body received whole stays counted (`settle`) until its call is answered, its
 *    client gone or not: released on arrival, bodies sent quickly to a slow function waited in its
 *    queue (up to `maxQueue`, 100 000) uncounted, 1.5 GiB from 240 of them (red team 4). The
 *    bodies of one function's calls (a *share*) hold at most a quarter of it, so a client of one
 *    slow function cannot fill the budget and have every other function's bodies refused.
 *
 * For both:
 *  - what would take the bytes held past `maxBytes` is refused (`hold` answers false; the caller
 *    cuts it);
 *  - a client that moved (read, or sent) less than MIN_CLIENT_BYTES_PER_S over its last
 *    SLOW_CLIENT_WINDOW_MS, while more than half of `maxBytes` was held at some sweep of that
 *    window, is cut, so slow clients cannot keep the budget full and starve everyone else. (Judged
 *    on the window, not the instant its window ends: the windows of two slow clients end a sweep
 *    apart, and cutting the first took the budget under half, so the second, as slow through the
 *    same pressure, stayed; CI.)
 */
import { performance } from 'node:perf_hooks';

/** Bytes held for a client; `cut()` ends its exchange (and releases it). */
export interface Holder {
  cut(): void;
}

export const SLOW_CLIENT_WINDOW_MS = 10_000;
export const MIN_CLIENT_BYTES_PER_S = 32 * 1024;
export const DEFAULT_MAX_HELD_RESPONSE_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_MAX_BODY_BYTES_IN_FLIGHT = 512 * 1024 * 1024;

/** What one share (a function's calls) may hold of a budget that has shares: a quarter. */
export const SHARE_DIVISOR = 4;
/**
 * What one group of shares (a workspace's functions and API answers) may hold of a budget that
 * groups its shares: a half. Without it, one tenant's four functions held the whole held-answer
 * budget (red team round 7), and every other workspace's large answer waiting for its client was cut.
 */
export const GROUP_DIVISOR = 2;

interface Entry {
  /** Bytes this holder holds now. */
  held: number;
  /** Bytes its client moved since the current window started, and when that window started. */
  moved: number;
  since: number;
  /** More than half the budget was held at a sweep during the current window. */
  pressed: boolean;
  /** A request body received whole: still held (its call holds it), no longer a client to time. */
  settled: boolean;
  /** The share it counts in (a function's key), or null. */
  share: string | null;
  /** The group its share is in (a workspace), or null. */
  group: string | null;
}

export class ByteBudget {
  /** Bytes held now, all holders together. */
  held = 0;
  /** Holders cut so far (over the budget, or too slow while it was half used). */
  cutCount = 0;
  private readonly entries = new Map<Holder, Entry>();
  /** Bytes held per share. */
  private readonly shares = new Map<string, number>();
  /** Refusals because a share was full (the rest of `cutCount` are the whole budget's). */
  shareFullCount = 0;
  private timer: NodeJS.Timeout | null = null;

  /** Bytes held per group (prefixed, so that no share key is taken for a group's). */
  private readonly groups = new Map<string, number>();

  /**
   * `groupOf` names the group a share is in (its workspace), whose shares together hold at most a
   * half of the budget; without it shares are not grouped.
   */
  constructor(
    readonly maxBytes: number,
    private readonly now: () => number = () => performance.now(),
    private readonly groupOf: ((share: string) => string | null) | null = null,
    /** The slow-client window; only tests set another (HttpServerOptions.slowClientWindowMs). */
    private readonly windowMs: number = SLOW_CLIENT_WINDOW_MS,
  ) {}

  /**
   * `holder` holds `bytes` more (a new holder starts its window now); false when that would pass
   * the budget (the caller cuts it). While nothing else is held, anything fits: one body or answer
   * larger than the whole budget is still served alone.
   */
  hold(holder: Holder, bytes: number, share: string | null = null): boolean {
    const entry = this.entries.get(holder);
    const own = entry?.held ?? 0;
    if (this.held + bytes > this.maxBytes && this.held - own > 0) {
      this.cutCount++;
      return false;
    }
    // A share (one function's calls) may hold a quarter of the budget; its first body always fits.
    const key = entry?.share ?? share;
    const inShare = key === null ? 0 : this.shares.get(key) ?? 0;
    if (key !== null && inShare + bytes > this.maxBytes / SHARE_DIVISOR && inShare - own > 0) {
      this.cutCount++;
      this.shareFullCount++;
      return false;
    }
    // Its group (the share's workspace) a half; likewise, the group's first holder always fits.
    const group = entry !== undefined ? entry.group : key !== null ? this.groupOfShare(key) : null;
    const inGroup = group === null ? 0 : this.groups.get(group) ?? 0;
    if (group !== null && inGroup + bytes > this.maxBytes / GROUP_DIVISOR && inGroup - own > 0) {
      this.cutCount++;
      this.shareFullCount++;
      return false;
    }
    this.held += bytes;
    if (key !== null) this.shares.set(key, inShare + bytes);
    if (group !== null) this.groups.set(group, inGroup + bytes);
    if (entry !== undefined) {
      entry.held += bytes;
      return true;
    }
    this.entries.set(holder, { held: bytes, moved: 0, since: this.now(), pressed: false, settled: false, share: key, group });
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), 1000);
      this.timer.unref();
    }
    return true;
  }

  /** A response's client took bytes: `left` remain held. */
  progress(holder: Holder, left: number): void {
    const entry = this.entries.get(holder);
    if (entry === undefined || left >= entry.held) return;
    const took = entry.held - left;
    this.held -= took;
    if (entry.share !== null) this.unshare(entry.share, took);
    if (entry.group !== null) lessHeld(this.groups, entry.group, took);
    entry.held = left;
    entry.moved += took;
  }

  /** A request's client sent `bytes` more (what it holds is counted by `hold`). */
  moved(holder: Holder, bytes: number): void {
    const entry = this.entries.get(holder);
    if (entry !== undefined) entry.moved += bytes;
  }

  /**
   * A request body arrived whole: its bytes stay held (its call holds the body until it answers),
   * but its client has nothing left to send, so the slow-client rule no longer times it.
   */
  settle(holder: Holder): void {
    const entry = this.entries.get(holder);
    if (entry !== undefined) entry.settled = true;
  }

  /** The exchange ended, or its client left. */
  release(holder: Holder): void {
    const entry = this.entries.get(holder);
    if (entry === undefined) return;
    this.entries.delete(holder);
    this.held -= entry.held;
    if (entry.share !== null) this.unshare(entry.share, entry.held);
    if (entry.group !== null) lessHeld(this.groups, entry.group, entry.held);
    if (this.entries.size === 0) this.stop();
  }

  /** Bytes `share` holds now. */
  heldBy(share: string): number {
    return this.shares.get(share) ?? 0;
  }

  /** The group `share` is in (null: none, or shares are not grouped). */
  groupOfShare(share: string): string | null {
    return this.groupOf === null ? null : this.groupOf(share);
  }

  /** Bytes `group` holds now. */
  heldByGroup(group: string): number {
    return this.groups.get(group) ?? 0;
  }

  private unshare(share: string, bytes: number): void {
    lessHeld(this.shares, share, bytes);
  }

  /** Cuts the clients too slow over their last window, if more than half the budget was held during it. */
  sweep(): void {
    const now = this.now();
    const overHalf = this.held > this.maxBytes / 2;
    const slow: Holder[] = [];
    for (const [holder, entry] of this.entries) {
      if (entry.settled) continue;
      entry.pressed ||= overHalf;
      if (now - entry.since < this.windowMs) continue;
      if (entry.pressed && entry.moved < (MIN_CLIENT_BYTES_PER_S * (now - entry.since)) / 1000) slow.push(holder);
      entry.moved = 0;
      entry.since = now;
      entry.pressed = false;
    }
    for (const holder of slow) {
      this.cutCount++;
      this.release(holder);
      holder.cut();
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

/** `bytes` fewer held by `key` of `counts` (gone at zero). */
function lessHeld(counts: Map<string, number>, key: string, bytes: number): void {
  const left = (counts.get(key) ?? 0) - bytes;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
