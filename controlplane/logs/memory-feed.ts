/**
 * The embedded log feed: rings in this process's memory. A function's lines are kept while it is
 * tailed and for `lingerMs` after its last tail left (so a client that reconnects within that time,
 * e.g. after a network drop, resumes without losing a line); then its ring is dropped. Ids are made
 * from the clock like Redis stream ids, so the ids of a restarted platform sort after the old ones
 * and a cursor from before the restart is recognized (`restart` gap).
 */
import { PlatformError, type LiveLines, type LiveRunEnd } from '../../protocol/index.js';
import { endEvent, lineEvents, type FeedEvent } from './entries.js';
import { FEED_DEFAULTS, Reader, WorkspaceShares, type FeedLimits, type FeedStats, type FeedSubscription, type Gap, type LogFeed } from './feed.js';
import { compareFeedIds, formatFeedId, IdClock, type FeedId } from './ids.js';
import { LogRing } from './ring.js';

export interface MemoryFeedOptions {
  limits?: Partial<FeedLimits>;
  /** How long a function's ring outlives its last tail. Default 60 s. */
  lingerMs?: number;
  now?: () => number;
}

interface Tailed {
  ring: LogRing;
  /**
   * The function's own ids: one clock for every function let a tail (a `viewer` of any workspace)
   * read when other workspaces' tailed functions last logged, to the millisecond, from its
   * stream's first id or by probing `Last-Event-ID` for the `restart` gap (red team 6).
   */
  clock: IdClock;
  readers: number;
  /** When the ring may be dropped (no readers since); 0 while read. */
  lingerUntil: number;
}

export class MemoryLogFeed implements LogFeed {
  private readonly limits: FeedLimits;
  private readonly shares: WorkspaceShares;
  private readonly lingerMs: number;
  private readonly now: () => number;
  /** Ids before this one were given by an earlier process (or never). */
  private readonly began: FeedId;
  private readonly tailed = new Map<string, Tailed>();
  private readers = 0;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryFeedOptions = {}) {
    this.limits = { ...FEED_DEFAULTS, ...options.limits };
    this.shares = new WorkspaceShares(this.limits.maxSubscribersPerWorkspace);
    this.lingerMs = options.lingerMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.began = { ms: this.now(), seq: 0 };
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(this.lingerMs, 30_000)));
    this.sweeper.unref();
  }

  wants(fn: string): boolean {
    const t = this.tailed.get(fn);
    return t !== undefined && (t.readers > 0 || t.lingerUntil > this.now());
  }

  lines(batch: LiveLines): void {
    const t = this.live(batch.function);
    if (t === null) return;
    for (const e of lineEvents(batch)) this.append(t, e);
  }

  end(run: LiveRunEnd): void {
    const t = this.live(run.function);
    if (t !== null) this.append(t, endEvent(run));
  }

  async subscribe(fn: string, after: FeedId | null): Promise<FeedSubscription> {
    if (this.closed) throw new PlatformError('SHUTTING_DOWN', 'the log feed is closed');
    if (this.readers >= this.limits.maxSubscribers) {
      throw new PlatformError('LOG_STREAM_LIMIT', `this platform process already serves ${this.limits.maxSubscribers} live log streams`, { limit: this.limits.maxSubscribers });
    }
    const giveBack = this.shares.take(fn);
    let t = this.tailed.get(fn);
    if (t === undefined || (t.readers === 0 && t.lingerUntil <= this.now())) {
      // A new ring starts at the later of now and the feed's start: its ids sort after `began`.
      const clock = new IdClock(this.now, this.startOf(t));
      t = { ring: new LogRing({ maxEntries: this.limits.ringEntries, maxBytes: this.limits.ringBytes }, clock.current), clock, readers: 0, lingerUntil: 0 };
      this.tailed.set(fn, t);
    }
    const tail = t;
    tail.readers++;
    tail.lingerUntil = 0;
    this.readers++;
    let gap: Gap | null = null;
    let start = after;
    if (after !== null) {
      if (compareFeedIds(after, this.began) < 0) gap = { reason: 'restart', since: after.ms, dropped: null };
      else if (compareFeedIds(after, tail.clock.current) > 0) gap = { reason: 'restart', since: null, dropped: null };
      else if (compareFeedIds(after, tail.ring.from) < 0) gap = { reason: 'expired', since: after.ms, dropped: null };
      // What the ring holds is all newer than what the client saw: it gets all of it.
      if (gap !== null) start = tail.ring.from;
    }
    return new Reader(tail.ring, start, gap, this.limits.readBatch, null, () => {
      giveBack();
      this.readers--;
      tail.readers--;
      if (tail.readers === 0) tail.lingerUntil = this.now() + this.lingerMs;
    });
  }

  stats(): FeedStats {
    return { mode: 'memory', subscribers: this.readers, functions: this.tailed.size, dropped: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const t of this.tailed.values()) t.ring.wake();
  }

  /** The function's ring while it is tailed (or lingering), else null. */
  private live(fn: string): Tailed | null {
    if (this.closed) return null;
    const t = this.tailed.get(fn);
    return t !== undefined && (t.readers > 0 || t.lingerUntil > this.now()) ? t : null;
  }

  private append(t: Tailed, e: { event: FeedEvent; n: number; bytes: number }): void {
    const id = t.clock.next();
    t.ring.append({ id, key: formatFeedId(id), event: e.event, n: e.n, c: t.ring.c + e.n, bytes: e.bytes });
  }

  /**
   * Where a new ring's ids start: now, never before the feed began nor before the ring it replaces
   * ended (a clock stepping back must not give a function an id it gave before).
   */
  private startOf(previous: Tailed | undefined): FeedId {
    let start: FeedId = { ms: this.now(), seq: 0 };
    for (const floor of [this.began, previous?.clock.current]) if (floor !== undefined && compareFeedIds(floor, start) > 0) start = floor;
    return start;
  }

  /** Drops the rings of functions nobody tailed for `lingerMs`. */
  private sweep(): void {
    const now = this.now();
    for (const [fn, t] of this.tailed) if (t.readers === 0 && t.lingerUntil <= now) this.tailed.delete(fn);
  }
}
