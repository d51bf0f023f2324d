/**
 * The recent entries of one function's feed, in memory, bounded by entries and bytes. It holds
 * every entry after `from` that it was given, until evicted (then `from` moves up): a reader whose
 * cursor is before `from` has fallen behind. Readers wait for the next append with `wait`.
 */
import { compareFeedIds, type FeedId } from './ids.js';
import type { FeedEntry } from './entries.js';

export interface RingBounds {
  maxEntries: number;
  maxBytes: number;
}

export class LogRing {
  private entries: FeedEntry[] = [];
  private head = 0;
  private bytes = 0;
  private waiters: (() => void)[] = [];
  /** Lines appended since the ring began, as of its last entry (`c` of the last entry). */
  c: number;
  /** Every entry after this id that reached the ring is still in it. */
  from: FeedId;
  /** The newest entry's id, or `from` when empty. */
  last: FeedId;

  constructor(private readonly bounds: RingBounds, from: FeedId, c = 0) {
    this.from = from;
    this.last = from;
    this.c = c;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  append(entry: FeedEntry): void {
    this.entries.push(entry);
    this.bytes += entry.bytes;
    this.last = entry.id;
    this.c = entry.c;
    while (this.size > 1 && (this.size > this.bounds.maxEntries || this.bytes > this.bounds.maxBytes)) {
      const old = this.entries[this.head]!;
      this.entries[this.head] = undefined as unknown as FeedEntry;
      this.head++;
      this.bytes -= old.bytes;
      this.from = old.id;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.wake();
  }

  /** The oldest entry held, or null. */
  oldest(): FeedEntry | null {
    return this.size > 0 ? this.entries[this.head]! : null;
  }

  /** Entries after `cursor` (at most `max`); `behind` when entries after it were evicted. */
  after(cursor: FeedId, max: number): { behind: boolean; entries: FeedEntry[] } {
    if (compareFeedIds(cursor, this.from) < 0) return { behind: true, entries: [] };
    // Readers are mostly at the end: search backwards.
    let at = this.entries.length;
    while (at > this.head && compareFeedIds(this.entries[at - 1]!.id, cursor) > 0) at--;
    return { behind: false, entries: this.entries.slice(at, Math.min(at + max, this.entries.length)) };
  }

  /** `c` as of `cursor`: the lines up to and including the last entry at or before it. */
  countAt(cursor: FeedId): number | null {
    if (compareFeedIds(cursor, this.from) < 0) return null;
    for (let at = this.entries.length - 1; at >= this.head; at--) {
      const e = this.entries[at]!;
      if (compareFeedIds(e.id, cursor) <= 0) return e.c;
    }
    const first = this.oldest();
    return first === null ? this.c : first.c - first.n;
  }

  /** Resolves at the next append, at `close`, or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Wakes every waiter (the feed is closing or the ring is dropped). */
  wake(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
