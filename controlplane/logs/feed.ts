/**
 * The log feed port: the pool and the gateway publish into it (it is their LogTap); the live-logs
 * endpoint reads one function's entries from it, resuming after an id. Two adapters, chosen in
 * platform/adapters.ts: in memory (embedded, ./memory-feed.ts) and on Redis streams (production,
 * ./redis-feed.ts). Why: docs/adr/0014-live-logs.md. Both keep a bounded ring per tailed function
 * and serve readers from it through the same `Reader`; a reader holds a cursor, never a buffer.
 */
import { PlatformError, workspaceOfKey, type LogTap } from '../../protocol/index.js';
import type { FeedEntry } from './entries.js';
import { compareFeedIds, formatFeedId, type FeedId } from './ids.js';
import type { LogRing } from './ring.js';

/**
 * Lines a reader did not get: `restart` — its cursor is from before this feed began (the
 * embedded platform restarted); `expired` — the feed no longer holds what follows the cursor
 * (nobody tailed the function for a while, or the stream was trimmed); `behind` — this connection
 * read slower than the function wrote and the ring moved past it (`dropped` counts the lines).
 * `since` is the time of the cursor: stored run records hold the lines from then on.
 */
export interface Gap {
  reason: 'restart' | 'expired' | 'behind';
  since: number | null;
  dropped: number | null;
}

export interface FeedRead {
  /** Entries after the cursor, oldest first; the cursor moves past them. */
  entries: FeedEntry[];
  /** Set when lines were skipped before `entries`. */
  gap: Gap | null;
  /** The cursor after this read (an SSE id). */
  position: string;
}

export interface FeedSubscription {
  /** The position the subscription starts after (the id of the stream's `ready` event). */
  readonly start: string;
  /** The next entries (waits for them); null once closed or `signal` aborted. Rejects when the backing store fails. */
  next(signal: AbortSignal): Promise<FeedRead | null>;
  close(): void;
}

export interface FeedStats {
  mode: 'memory' | 'redis';
  /** Open subscriptions in this process. */
  subscribers: number;
  /** Functions with a ring in this process. */
  functions: number;
  /** Entries this process could not publish (the backlog to Redis was full, or Redis refused them). */
  dropped: number;
}

export interface LogFeed extends LogTap {
  /**
   * Starts reading `fn` after `after` (an id a stream gave; null: from now). Throws PlatformError
   * LOG_STREAM_LIMIT when this process serves its maximum of tails, LOGS_UNAVAILABLE when the
   * backing store does not answer.
   */
  subscribe(fn: string, after: FeedId | null): Promise<FeedSubscription>;
  stats(): FeedStats;
  close(): Promise<void>;
}

/** The bounds of a feed (defaults: FEED_DEFAULTS). */
export interface FeedLimits {
  /** Open subscriptions per process. */
  maxSubscribers: number;
  /**
   * Open subscriptions per process of one workspace's functions: a tenant holding every stream of
   * the process left no tail to anyone else (red team, December 2026).
   */
  maxSubscribersPerWorkspace: number;
  /** Entries and bytes kept per function. */
  ringEntries: number;
  ringBytes: number;
  /** Entries a read returns at most. */
  readBatch: number;
}

export const FEED_DEFAULTS: FeedLimits = Object.freeze({
  maxSubscribers: 100,
  maxSubscribersPerWorkspace: 25,
  ringEntries: 2000,
  ringBytes: 4 * 1024 * 1024,
  readBatch: 64,
});

/** Where a reader gets entries its ring no longer has (Redis); absent: they are gone (memory). */
export interface Backfill {
  /** Entries after `cursor` (at most `max`), and whether some right after it are gone. */
  after(cursor: FeedId, cursorC: number | null, max: number): Promise<{ entries: FeedEntry[]; gap: Gap | null }>;
}

/**
 * One subscription's cursor over a ring (shared by both feeds). Fresh entries come from the ring;
 * when the ring has moved past the cursor, from `backfill` if there is one, else a `behind` gap.
 */
export class Reader implements FeedSubscription {
  readonly start: string;
  private cursor: FeedId;
  /** Lines in the feed up to the cursor, when known (to count dropped ones). */
  private cursorC: number | null;
  private pendingGap: Gap | null;
  private readonly closer = new AbortController();

  constructor(
    private readonly ring: LogRing,
    after: FeedId | null,
    firstGap: Gap | null,
    private readonly batch: number,
    private readonly backfill: Backfill | null,
    private readonly onClose: () => void,
  ) {
    this.cursor = after ?? ring.last;
    this.cursorC = after === null ? ring.c : ring.countAt(after);
    this.pendingGap = firstGap;
    this.start = formatFeedId(this.cursor);
  }

  async next(signal: AbortSignal): Promise<FeedRead | null> {
    const both = AbortSignal.any([signal, this.closer.signal]);
    for (;;) {
      if (both.aborted) return null;
      const got = this.ring.after(this.cursor, this.batch);
      if (got.behind) {
        if (this.backfill !== null) {
          const fetched = await this.backfill.after(this.cursor, this.cursorC, this.batch);
          if (both.aborted) return null;
          const gap = this.takeGap(fetched.gap);
          if (fetched.entries.length > 0) return this.advance(fetched.entries, gap);
          // Nothing after the cursor where the ring cannot see: continue from the ring's start.
          this.jumpTo(this.ring.from);
          if (gap !== null) return { entries: [], gap, position: formatFeedId(this.cursor) };
          continue;
        }
        const oldest = this.ring.oldest();
        const before = oldest === null ? this.ring.c : oldest.c - oldest.n;
        const dropped = this.cursorC === null ? null : Math.max(0, before - this.cursorC);
        const since = this.cursor.ms;
        this.jumpTo(this.ring.from);
        this.pendingGap = this.takeGap({ reason: 'behind', since, dropped });
        continue;
      }
      if (got.entries.length > 0) return this.advance(got.entries, this.takeGap(null));
      if (this.pendingGap !== null) return { entries: [], gap: this.takeGap(null), position: formatFeedId(this.cursor) };
      await this.ring.wait(both);
    }
  }

  close(): void {
    if (this.closer.signal.aborted) return;
    this.closer.abort();
    this.onClose();
  }

  private advance(entries: FeedEntry[], gap: Gap | null): FeedRead {
    const last = entries[entries.length - 1]!;
    if (compareFeedIds(last.id, this.cursor) > 0) {
      this.cursor = last.id;
      this.cursorC = last.c;
    }
    return { entries, gap, position: formatFeedId(this.cursor) };
  }

  private jumpTo(id: FeedId): void {
    if (compareFeedIds(id, this.cursor) <= 0) return;
    this.cursor = id;
    this.cursorC = this.ring.countAt(id);
  }

  /** The pending gap merged with `next` (the earlier reason and time win; counts add up). */
  private takeGap(next: Gap | null): Gap | null {
    const first = this.pendingGap;
    this.pendingGap = null;
    if (first === null) return next;
    if (next === null) return first;
    return { reason: first.reason, since: first.since ?? next.since, dropped: first.dropped !== null && next.dropped !== null ? first.dropped + next.dropped : null };
  }
}

/** Subscriptions per workspace, against FeedLimits.maxSubscribersPerWorkspace (both feeds count with it). */
export class WorkspaceShares {
  private readonly held = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Counts one subscription of the function `fn` (a key); LOG_STREAM_LIMIT when its workspace holds its share. Returns the release. */
  take(fn: string): () => void {
    const workspace = workspaceOfKey(fn);
    const now = this.held.get(workspace) ?? 0;
    if (now >= this.max) {
      throw new PlatformError('LOG_STREAM_LIMIT', `this workspace already holds ${this.max} live log streams of this platform process`, { limit: this.max, workspace });
    }
    this.held.set(workspace, now + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(workspace) ?? 1) - 1;
      if (left <= 0) this.held.delete(workspace);
      else this.held.set(workspace, left);
    };
  }
}
