/**
 * The production log feed: one Redis stream per tailed function, shared by every platform process
 * (docs/adr/0014-live-logs.md). A process publishes the lines of the calls it serves while *any*
 * process tails the function: tails are announced in a hash (`logTails`, refreshed while they last)
 * and on a channel (`logTailsChannel`, so publishers start at once). Entries are appended by one
 * script (count, XADD with MAXLEN ~, TTL) in a pipeline per event-loop turn; a bounded backlog
 * drops and counts when Redis is slow or down.
 *
 * Reading: one blocking connection per process runs XREAD over the streams of the functions it
 * tails and fills a local ring per function (./ring.ts), which serves every local reader. A reader
 * whose cursor is older than its ring (a resumed stream, or a slow one) reads from the Redis stream
 * itself until it catches up (`Backfill`): a tail connected to any process sees the lines of calls
 * served by every process, and a client resuming after a restart of its process loses nothing the
 * stream still holds.
 */
import type { Redis } from 'ioredis';
import { PlatformError, redisKeys, type LiveLines, type LiveRunEnd, type RedisKeys } from '../../protocol/index.js';
import { endEvent, lineEvents, type FeedEntry, type FeedEvent } from './entries.js';
import { FEED_DEFAULTS, Reader, WorkspaceShares, type Backfill, type FeedLimits, type FeedStats, type FeedSubscription, type Gap, type LogFeed } from './feed.js';
import { compareFeedIds, formatFeedId, parseFeedId, ZERO_ID, type FeedId } from './ids.js';
import { LogRing } from './ring.js';
import { redisFailure } from '../store/production/redis-words.js';

export interface RedisFeedOptions {
  /** Commands: appends, reads, the tails hash. */
  client: Redis;
  /** The blocking XREAD (its command timeout must exceed `blockMs`). */
  reader: Redis;
  /** Subscribed to the tails channel (commands wait for the connection; renewed on reconnect). */
  subscriber: Redis;
  prefix?: string;
  log: (line: string) => void;
  limits?: Partial<FeedLimits>;
  /** Entries kept per function stream (MAXLEN ~). Default 1000. */
  maxLen?: number;
  /** A stream (and its count) expires this long after its last entry. Default 10 min. */
  streamTtlMs?: number;
  /** A tail announcement lasts this long unless refreshed (covers a client reconnecting). Default 60 s. */
  tailTtlMs?: number;
  /** How often announcements are refreshed and the others' read. Default 10 s. */
  refreshMs?: number;
  /** Longest XREAD block. Default 5 s. */
  blockMs?: number;
  /** Entries (and their bytes) waiting to be appended, at most. Default 2000 / 8 MiB. */
  maxBacklog?: number;
  maxBacklogBytes?: number;
  now?: () => number;
}

/** c: lines so far (incl. this entry); XADD with MAXLEN ~; both keys live `ttl` past the last entry. */
const APPEND_SCRIPT = `
local c = redis.call('INCRBY', KEYS[2], ARGV[3])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'c', c, 'n', ARGV[3], 'd', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return c`;

interface Local {
  ring: LogRing;
  readers: number;
  /** The last stream id put into the ring (where XREAD continues). */
  lastId: string;
}

interface Pending {
  fn: string;
  data: string;
  n: number;
  bytes: number;
}

type StreamRow = [id: string, fields: string[]];

export class RedisLogFeed implements LogFeed {
  private readonly keys: RedisKeys;
  private readonly limits: FeedLimits;
  private readonly shares: WorkspaceShares;
  private readonly now: () => number;
  private readonly maxLen: number;
  private readonly streamTtlMs: number;
  private readonly tailTtlMs: number;
  private readonly blockMs: number;
  private readonly maxBacklog: number;
  private readonly maxBacklogBytes: number;
  /** Function → until when some process tails it (as last heard). */
  private readonly tails = new Map<string, number>();
  private readonly local = new Map<string, Local>();
  private readonly starting = new Map<string, Promise<Local>>();
  private readers = 0;
  private backlog: Pending[] = [];
  private backlogBytes = 0;
  private flushing = false;
  private dropped = 0;
  private failing = false;
  private closed = false;
  private readerId: number | null = null;
  private blocked = false;
  /** Bumped when the set of functions to read changes; `readingGen` is the set the XREAD in flight reads. */
  private generation = 0;
  private readingGen = 0;
  private wakeLoop: (() => void) | null = null;
  private readonly loop: Promise<void>;
  private readonly refresher: NodeJS.Timeout;

  constructor(private readonly options: RedisFeedOptions) {
    this.keys = redisKeys(options.prefix);
    this.limits = { ...FEED_DEFAULTS, ...options.limits };
    this.shares = new WorkspaceShares(this.limits.maxSubscribersPerWorkspace);
    this.now = options.now ?? Date.now;
    this.maxLen = options.maxLen ?? 1000;
    this.streamTtlMs = options.streamTtlMs ?? 10 * 60_000;
    this.tailTtlMs = options.tailTtlMs ?? 60_000;
    this.blockMs = options.blockMs ?? 5000;
    this.maxBacklog = options.maxBacklog ?? 2000;
    this.maxBacklogBytes = options.maxBacklogBytes ?? 8 * 1024 * 1024;
    const { subscriber, reader } = options;
    const channel = this.keys.logTailsChannel();
    subscriber.on('message', (ch: string, fn: string) => {
      if (ch === channel) this.tails.set(fn, this.now() + this.tailTtlMs);
    });
    // Every (re)connect: what was announced meanwhile is in the hash.
    subscriber.on('ready', () => void this.refresh());
    subscriber.subscribe(channel).catch((err: unknown) => options.log(`controlplane: live logs: could not subscribe to tail announcements: ${redisFailure(subscriber, err)}`));
    reader.on('ready', () => {
      reader.client('ID').then((id) => { this.readerId = Number(id); }, () => {});
    });
    if (reader.status === 'ready') reader.client('ID').then((id) => { this.readerId = Number(id); }, () => {});
    this.refresher = setInterval(() => void this.refresh(), options.refreshMs ?? 10_000);
    this.refresher.unref();
    this.loop = this.readLoop();
  }

  wants(fn: string): boolean {
    if (this.closed) return false;
    const local = this.local.get(fn);
    if (local !== undefined && local.readers > 0) return true;
    const until = this.tails.get(fn);
    return until !== undefined && until > this.now();
  }

  lines(batch: LiveLines): void {
    if (!this.wants(batch.function)) return;
    for (const e of lineEvents(batch)) this.queue(batch.function, e);
  }

  end(run: LiveRunEnd): void {
    if (this.wants(run.function)) this.queue(run.function, endEvent(run));
  }

  async subscribe(fn: string, after: FeedId | null): Promise<FeedSubscription> {
    if (this.closed) throw new PlatformError('SHUTTING_DOWN', 'the log feed is closed');
    if (this.readers >= this.limits.maxSubscribers) {
      throw new PlatformError('LOG_STREAM_LIMIT', `this platform process already serves ${this.limits.maxSubscribers} live log streams`, { limit: this.limits.maxSubscribers });
    }
    const giveBack = this.shares.take(fn);
    this.readers++;
    let local: Local;
    try {
      // The ring may have been dropped (its last reader left) while this one was being opened: open it again.
      do local = await this.reading(fn);
      while (this.local.get(fn) !== local);
      local.readers++;
    } catch (err) {
      giveBack();
      this.readers--;
      throw unavailable(this.options, 'start reading the function\'s stream', err);
    }
    const release = (): void => {
      giveBack();
      this.readers--;
      local.readers--;
      if (local.readers === 0 && this.local.get(fn) === local) {
        this.local.delete(fn);
        this.unblock();
      }
    };
    try {
      await this.announce(fn, true);
    } catch (err) {
      release();
      throw unavailable(this.options, 'announce the tail', err);
    }
    let gap: Gap | null = null;
    let start = after;
    // A cursor past the stream's end belongs to a stream that is gone (expired, Redis emptied).
    if (after !== null && compareFeedIds(after, local.ring.last) > 0) {
      gap = { reason: 'expired', since: after.ms, dropped: null };
      start = local.ring.from;
    }
    return new Reader(local.ring, start, gap, this.limits.readBatch, this.backfill(fn), release);
  }

  stats(): FeedStats {
    return { mode: 'redis', subscribers: this.readers, functions: this.local.size, dropped: this.dropped };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.refresher);
    for (const l of this.local.values()) l.ring.wake();
    this.wakeLoop?.();
    this.unblock();
    this.options.subscriber.disconnect();
    this.options.reader.disconnect();
    await this.loop.catch(() => {});
    await this.flush();
    this.options.client.disconnect();
  }

  // ---- publishing ----

  private queue(fn: string, e: { event: FeedEvent; n: number; bytes: number }): void {
    if (this.backlog.length >= this.maxBacklog || this.backlogBytes + e.bytes > this.maxBacklogBytes) {
      this.dropped++;
      return;
    }
    this.backlog.push({ fn, data: JSON.stringify(e.event), n: e.n, bytes: e.bytes });
    this.backlogBytes += e.bytes;
    if (this.backlog.length === 1 && !this.flushing) setImmediate(() => void this.flush());
  }

  /** One pipeline for everything queued: entries of one function keep their order. */
  private async flush(): Promise<void> {
    if (this.flushing || this.backlog.length === 0) return;
    this.flushing = true;
    const batch = this.backlog;
    this.backlog = [];
    this.backlogBytes = 0;
    try {
      const pipeline = this.options.client.pipeline();
      for (const p of batch) {
        pipeline.eval(APPEND_SCRIPT, 2, this.keys.logStream(p.fn), this.keys.logCount(p.fn), this.maxLen, this.streamTtlMs, p.n, p.data);
      }
      const results = (await pipeline.exec()) ?? [];
      const failed = results.filter(([err]) => err !== null).length;
      if (failed > 0) this.failed(failed, results.find(([err]) => err !== null)?.[0]);
      else this.failing = false;
    } catch (err) {
      this.failed(batch.length, err);
    } finally {
      this.flushing = false;
    }
    if (this.backlog.length > 0 && !this.closed) setImmediate(() => void this.flush());
  }

  private failed(count: number, err: unknown): void {
    this.dropped += count;
    if (!this.failing) this.options.log(`controlplane: live logs: ${count} entries could not be appended, dropping until it answers: ${redisFailure(this.options.client, err)}`);
    this.failing = true;
  }

  // ---- tails ----

  /** Says (hash + channel) that this process tails `fn`; `now` also publishes, so publishers start at once. */
  private async announce(fn: string, now: boolean): Promise<void> {
    const until = this.now() + this.tailTtlMs;
    this.tails.set(fn, until);
    const multi = this.options.client.multi().hset(this.keys.logTails(), fn, String(until));
    if (now) multi.publish(this.keys.logTailsChannel(), fn);
    const results = await multi.exec();
    const err = results?.find(([e]) => e !== null)?.[0];
    if (err) throw err;
  }

  /** Renews this process's tails, learns everyone's, prunes the ones past. */
  private async refresh(): Promise<void> {
    if (this.closed) return;
    try {
      for (const [fn, l] of this.local) if (l.readers > 0) await this.announce(fn, false);
      const all = await this.options.client.hgetall(this.keys.logTails());
      const now = this.now();
      const past: string[] = [];
      for (const [fn, text] of Object.entries(all)) {
        const until = Number(text);
        if (!(until > now)) past.push(fn);
        else if ((this.tails.get(fn) ?? 0) < until) this.tails.set(fn, until);
      }
      for (const [fn, until] of this.tails) if (until <= now) this.tails.delete(fn);
      if (past.length > 0) await this.options.client.hdel(this.keys.logTails(), ...past);
    } catch {
      // Redis down: what we heard stays until it expires; the next refresh tries again.
    }
  }

  // ---- reading ----

  /** The function's local ring, reading from the stream's current end (started once per function). */
  private reading(fn: string): Promise<Local> {
    const have = this.local.get(fn);
    if (have !== undefined) return Promise.resolve(have);
    let pending = this.starting.get(fn);
    if (pending === undefined) {
      pending = (async () => {
        const key = this.keys.logStream(fn);
        const rows = (await this.options.client.xrevrange(key, '+', '-', 'COUNT', 1)) as StreamRow[];
        const last = rows[0] === undefined ? null : parseEntry(rows[0]);
        const from = last?.id ?? ZERO_ID;
        const local: Local = {
          ring: new LogRing({ maxEntries: this.limits.ringEntries, maxBytes: this.limits.ringBytes }, from, last?.c ?? 0),
          readers: 0,
          lastId: formatFeedId(from),
        };
        this.local.set(fn, local);
        this.unblock();
        return local;
      })().finally(() => this.starting.delete(fn));
      this.starting.set(fn, pending);
    }
    return pending;
  }

  private async readLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      this.readingGen = this.generation;
      const fns = [...this.local.keys()];
      if (fns.length === 0) {
        await new Promise<void>((resolve) => { this.wakeLoop = resolve; });
        this.wakeLoop = null;
        continue;
      }
      const keys = fns.map((fn) => this.keys.logStream(fn));
      const ids = fns.map((fn) => this.local.get(fn)!.lastId);
      let result: [string, StreamRow[]][] | null;
      this.blocked = true;
      try {
        result = (await this.options.reader.xread('COUNT', 256, 'BLOCK', this.blockMs, 'STREAMS', ...keys, ...ids)) as [string, StreamRow[]][] | null;
        failures = 0;
      } catch (err) {
        if (this.closed) return;
        if (failures++ === 0) this.options.log(`controlplane: live logs: reading failed, retrying: ${redisFailure(this.options.reader, err)}`);
        await sleep(Math.min(100 * 2 ** Math.min(failures, 4), 1000));
        continue;
      } finally {
        this.blocked = false;
      }
      for (const [key, rows] of result ?? []) {
        const fn = fns[keys.indexOf(key)];
        const local = fn === undefined ? undefined : this.local.get(fn);
        if (local === undefined) continue;
        for (const row of rows) {
          const entry = parseEntry(row);
          if (entry === null || compareFeedIds(entry.id, local.ring.last) <= 0) continue;
          local.ring.append(entry);
          local.lastId = row[0];
        }
      }
    }
  }

  /**
   * The set of streams to read changed: end the blocking XREAD now (else it ends within blockMs).
   * An UNBLOCK that arrives before Redis has started to block the XREAD in flight does nothing: it
   * is sent again, a few times, until the loop reads the new set.
   */
  private unblock(): void {
    const target = ++this.generation;
    this.wakeLoop?.();
    let tries = 0;
    const attempt = (): void => {
      if (this.closed || !this.blocked || this.readingGen >= target || this.readerId === null) return;
      this.options.client.client('UNBLOCK', this.readerId).then((n) => {
        if (Number(n) === 0 && tries++ < 20) setTimeout(attempt, 5);
      }, () => {});
    };
    attempt();
  }

  private backfill(fn: string): Backfill {
    const key = this.keys.logStream(fn);
    const client = this.options.client;
    return {
      async after(cursor, cursorC, max) {
        let known = cursorC;
        if (known === null && cursor.ms === 0 && cursor.seq === 0) known = 0;
        if (known === null) {
          // The cursor's own entry says how many lines came before: anything trimmed after it shows.
          const at = (await client.xrange(key, formatFeedId(cursor), formatFeedId(cursor))) as StreamRow[];
          known = at[0] === undefined ? null : (parseEntry(at[0])?.c ?? null);
        }
        const rows = (await client.xrange(key, `(${formatFeedId(cursor)}`, '+', 'COUNT', max)) as StreamRow[];
        const entries = rows.map(parseEntry).filter((e): e is FeedEntry => e !== null);
        const first = entries[0];
        let gap: Gap | null = null;
        if (known === null) gap = { reason: 'expired', since: cursor.ms, dropped: null };
        else if (first !== undefined && first.c - first.n > known) gap = { reason: 'expired', since: cursor.ms, dropped: first.c - first.n - known };
        return { entries, gap };
      },
    };
  }
}

/** A stream row as an entry; null when it is not one of ours. */
function parseEntry([key, fields]: StreamRow): FeedEntry | null {
  const id = parseFeedId(key);
  if (id === null) return null;
  const get = (name: string): string | undefined => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  };
  const data = get('d');
  if (data === undefined) return null;
  let event: FeedEvent;
  try {
    event = JSON.parse(data) as FeedEvent;
  } catch {
    return null;
  }
  return { id, key, event, n: Number(get('n') ?? 0), c: Number(get('c') ?? 0), bytes: data.length + 64 };
}

function unavailable(options: RedisFeedOptions, what: string, err: unknown): PlatformError {
  if (err instanceof PlatformError) return err;
  options.log(`controlplane: live logs: could not ${what}: ${redisFailure(options.client, err)}`);
  return new PlatformError('LOGS_UNAVAILABLE', 'the live log feed (Redis) did not answer; try again shortly');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
