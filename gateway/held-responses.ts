/**
 * Rule 10 of uws-adapter.ts: response bytes that wait in the platform's memory for clients that
 * have not read them yet, bounded across the server (docs/gateway.md, "Slow clients").
 *
 * A whole response is written with `tryEnd`; what the socket does not take at once waits, and
 * before this bound a client that never read (or read a few bytes now and then, which keeps a
 * connection's idle timer from firing) kept a function's 60 MiB answer there for as long as it
 * liked, one per connection: a handful of such clients could exhaust the platform's memory
 * (red team, December 2026; test/e2e/attack-gateway.test.ts). Now:
 *  - a response that would take the bytes held past `maxBytes` is cut (its connection closed);
 *  - while more than half of `maxBytes` is held, a client that took less than
 *    MIN_CLIENT_BYTES_PER_S over its last SLOW_CLIENT_WINDOW_MS is cut, so slow readers cannot keep
 *    the budget full and starve everyone's large answers.
 */
import { performance } from 'node:perf_hooks';

/** A response waiting for its client; `cut()` closes its connection (and releases it). */
export interface Holder {
  cut(): void;
}

export const SLOW_CLIENT_WINDOW_MS = 10_000;
export const MIN_CLIENT_BYTES_PER_S = 32 * 1024;
export const DEFAULT_MAX_HELD_RESPONSE_BYTES = 1024 * 1024 * 1024;

interface Entry {
  /** Bytes still to be taken by the client. */
  left: number;
  /** `left` at the start of the current window, and when that window started. */
  mark: number;
  since: number;
}

export class HeldResponses {
  /** Bytes held now, all responses together. */
  held = 0;
  /** Responses cut so far (over the budget, or too slow while it was half used). */
  cutCount = 0;
  private readonly entries = new Map<Holder, Entry>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly maxBytes: number = DEFAULT_MAX_HELD_RESPONSE_BYTES,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `holder` waits for its client with `left` bytes; false when that would pass the budget (the caller cuts it). */
  hold(holder: Holder, left: number): boolean {
    if (this.held + left > this.maxBytes) {
      this.cutCount++;
      return false;
    }
    this.held += left;
    this.entries.set(holder, { left, mark: left, since: this.now() });
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), 1000);
      this.timer.unref();
    }
    return true;
  }

  /** The client took bytes: `left` remain. */
  progress(holder: Holder, left: number): void {
    const entry = this.entries.get(holder);
    if (entry === undefined || left >= entry.left) return;
    this.held -= entry.left - left;
    entry.left = left;
  }

  /** The response ended or its client left. */
  release(holder: Holder): void {
    const entry = this.entries.get(holder);
    if (entry === undefined) return;
    this.entries.delete(holder);
    this.held -= entry.left;
    if (this.entries.size === 0) this.stop();
  }

  /** Cuts the clients too slow over their last window, while more than half the budget is held. */
  sweep(): void {
    const now = this.now();
    const slow: Holder[] = [];
    for (const [holder, entry] of this.entries) {
      if (now - entry.since < SLOW_CLIENT_WINDOW_MS) continue;
      const took = entry.mark - entry.left;
      if (this.held > this.maxBytes / 2 && took < (MIN_CLIENT_BYTES_PER_S * (now - entry.since)) / 1000) slow.push(holder);
      entry.mark = entry.left;
      entry.since = now;
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
