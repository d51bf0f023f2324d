/**
 * Does Redis keep its data across a restart? The async queue is only as durable as Redis: on a
 * Redis that persists nothing, a restart silently loses every accepted run. So the platform checks,
 * at start and again on every reconnect (a restarted Redis may come back with other settings), and
 * refuses to call a run "durably queued" when it is not — unless the operator said it accepts that
 * (`FP_REDIS_ALLOW_VOLATILE=1`). Decision and operator guide: docs/platform.md ("Production mode").
 *
 * How it is read: `CONFIG GET appendonly` / `save` / `appendfsync`. Managed Redis often disables or
 * renames CONFIG; then `INFO persistence` decides: `aof_enabled:1` counts as persistent, anything
 * else as "unknown", treated as volatile (INFO does not show the snapshot schedule, and a guess that
 * turns out wrong loses runs).
 *
 * Eviction too (reliability round 10, ADR 0151): a Redis with `maxmemory` and any policy but
 * `noeviction` drops keys when it is full (the queue's stream, run timelines, idempotency keys, cron
 * tick claims, webhook replay records), as a Redis shared with a cache often is. Accepted runs then
 * vanish, or stay `queued` for ever, without a word. So the same check reads `maxmemory` and
 * `maxmemory-policy` (CONFIG GET, else `INFO memory`) and treats an evicting Redis as not durable.
 * It is read again every `recheckMs` (a policy changed with CONFIG SET needs no reconnect).
 */
import type { Redis } from 'ioredis';
import { PlatformError } from '../../../protocol/index.js';
import type { ReadinessProblem } from '../../../protocol/index.js';
import { redisAddress } from './redis-client.js';

export type PersistenceMode = 'aof' | 'rdb' | 'aof+rdb' | 'none' | 'unknown';

export interface Persistence {
  /** True when Redis writes its data to disk (AOF, RDB snapshots, or both). */
  persistent: boolean;
  mode: PersistenceMode;
  /** The settings seen, for operators: `appendonly=no save="" (CONFIG)`. */
  detail: string;
  /**
   * Null when Redis keeps every key (no `maxmemory`, or `maxmemory-policy noeviction`: a full Redis
   * then refuses writes, which callers see as 503). Else the settings that let it drop keys when
   * full, for operators: `maxmemory=20971520 maxmemory-policy=allkeys-lru (CONFIG GET)`.
   */
  evicts: string | null;
}

/** What CONFIG GET (or INFO memory) says of eviction, or null when neither could be read. */
export interface EvictionSettings {
  maxmemory: string;
  policy: string;
  source: string;
}

/** Pure: the settings that let Redis drop keys, or null when it keeps every key (or cannot tell). */
export function judgeEviction(e: EvictionSettings | null): string | null {
  if (e === null) return null;
  const policy = e.policy.trim().toLowerCase();
  if (Number(e.maxmemory) === 0 || policy === '' || policy === 'noeviction') return null;
  return `maxmemory=${e.maxmemory} maxmemory-policy=${policy} (${e.source})`;
}

/** What CONFIG GET answered, or null when CONFIG was refused. */
export interface PersistenceSettings {
  appendonly: string;
  appendfsync: string;
  save: string;
}

/** Pure: the verdict from CONFIG's answer, or (when CONFIG was refused) from the INFO persistence text. */
export function judgePersistence(settings: PersistenceSettings | null, info: string, eviction: EvictionSettings | null = null): Persistence {
  const evicts = judgeEviction(eviction);
  if (settings !== null) {
    const aof = settings.appendonly.trim().toLowerCase() === 'yes';
    const rdb = settings.save.trim() !== '';
    const mode: PersistenceMode = aof && rdb ? 'aof+rdb' : aof ? 'aof' : rdb ? 'rdb' : 'none';
    const detail = `appendonly=${settings.appendonly}${aof ? ` appendfsync=${settings.appendfsync}` : ''} save="${settings.save}" (CONFIG GET)`;
    return { persistent: aof || rdb, mode, detail, evicts };
  }
  const aofEnabled = /^aof_enabled:(\d+)\s*$/m.exec(info)?.[1];
  if (aofEnabled === '1') return { persistent: true, mode: 'aof', detail: 'aof_enabled:1 (INFO persistence; CONFIG is not available)', evicts };
  return {
    persistent: false,
    mode: 'unknown',
    detail: `aof_enabled:${aofEnabled ?? '?'} and CONFIG is not available, so the snapshot schedule cannot be read (INFO persistence)`,
    evicts,
  };
}

/** True when queued runs may be lost without a word: Redis persists nothing, or drops keys when full. */
function volatile(v: Persistence): boolean {
  return !v.persistent || v.evicts !== null;
}

/** `maxmemory:` and `maxmemory_policy:` of an INFO memory text (Redis 4 and later), or null. */
function evictionFromInfo(info: string): EvictionSettings | null {
  const maxmemory = /^maxmemory:(\d+)\s*$/m.exec(info)?.[1];
  const policy = /^maxmemory_policy:(\S+)\s*$/m.exec(info)?.[1];
  return maxmemory === undefined || policy === undefined ? null : { maxmemory, policy, source: 'INFO memory; CONFIG is not available' };
}

/** Asks Redis (CONFIG GET, else INFO persistence). Rejects only when Redis does not answer at all. */
export async function readPersistence(client: Redis): Promise<Persistence> {
  let settings: PersistenceSettings | null = null;
  let eviction: EvictionSettings | null = null;
  try {
    // One key per call: Redis before 7 takes a single pattern per CONFIG GET.
    const [appendonly, appendfsync, save, maxmemory, policy] = await Promise.all(
      ['appendonly', 'appendfsync', 'save', 'maxmemory', 'maxmemory-policy'].map(async (key) => ((await client.call('CONFIG', 'GET', key)) as string[])[1] ?? ''),
    );
    settings = { appendonly: appendonly!, appendfsync: appendfsync!, save: save! };
    eviction = { maxmemory: maxmemory!, policy: policy!, source: 'CONFIG GET' };
  } catch (err) {
    // Refused (renamed or disabled CONFIG, an ACL without it): INFO tells. No answer (a timeout, a
    // closed connection) tells nothing: a slow link made this "cannot be shown to persist", and an
    // AOF Redis was refused for async runs until the next check (reliability round 10).
    if (!refused(err)) throw err;
  }
  let info = '';
  if (settings === null) {
    try {
      info = String(await client.info('persistence'));
      eviction = evictionFromInfo(String(await client.info('memory')));
    } catch (err) {
      // Refused too (an ACL without INFO): it cannot be told, so "unknown". No answer: no verdict.
      if (!refused(err) || client.status !== 'ready') throw err;
    }
  }
  return judgePersistence(settings, info, eviction);
}

/** Redis answered with an error (ioredis's ReplyError: an unknown or forbidden command), as against no answer. */
function refused(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

export interface RedisDurabilityOptions {
  /** The client the async queue writes with (its reconnects trigger the check). */
  client: Redis;
  /** For log lines (credentials are left out). */
  url: string;
  /** Accept a Redis that does not persist (FP_REDIS_ALLOW_VOLATILE=1): warn, but answer 202. */
  allowVolatile: boolean;
  log: (line: string) => void;
  /**
   * The key of the durability mark (`<prefix>:v1:durability-mark`); none: no mark is kept. Each
   * process INCRs it every `markIntervalMs` (default 1 s) and after each reconnect, and remembers the
   * value Redis answered: a later answer not above it means Redis lost writes it had acknowledged.
   */
  markKey?: string;
  markIntervalMs?: number;
  /** How often the settings are read again while connected (default 30 s; 0: only at start and reconnects). */
  recheckMs?: number;
  /** Told each time the mark goes back (the runs Redis lost are queued again from their acceptance records: ADR 0225). */
  onDataLoss?: () => void;
}

/**
 * Watches one client: checks persistence at start and after every reconnect, says once when the
 * connection is lost and when it is back, and answers whether async intake may accept runs.
 */
/** How long /readyz says that Redis lost acknowledged data, after this process saw it. */
const DATA_LOSS_SHOWN_MS = 3_600_000;

export class RedisDurability {
  private verdict: Persistence | null = null;
  private checking: Promise<Persistence> | null = null;
  private connected: boolean;
  private lostAt = 0;
  private lastError = '';
  private readonly address: string;
  private readonly onReady = (): void => this.reconnected();
  private readonly onClose = (): void => this.lost();
  private readonly onError = (err: Error): void => void (this.lastError = err.message);
  /** The highest durability mark Redis acknowledged to this process (0: none yet). */
  private markSeen = 0;
  private markSeenAt = 0;
  private marking = false;
  /**
   * When this process last saw the mark go back (Redis lost acknowledged data), on both clocks, and
   * the time from which writes may be lost: /readyz says so for DATA_LOSS_SHOWN_MS (chaos round 9).
   */
  private dataLost: { at: number; mono: number; since: number } | null = null;
  /** Redis refuses the mark's write (out of memory, cannot save, a replica): what it said and since when. */
  private refusing: { words: string; fix: string; since: number } | null = null;
  private readonly markTimer: NodeJS.Timeout | null;
  private readonly recheckTimer: NodeJS.Timeout | null;

  constructor(private readonly o: RedisDurabilityOptions) {
    this.address = redisAddress(o.url);
    this.connected = o.client.status === 'ready';
    o.client.on('ready', this.onReady);
    o.client.on('close', this.onClose);
    o.client.on('error', this.onError);
    this.markTimer = o.markKey === undefined ? null : setInterval(() => this.mark(), o.markIntervalMs ?? 1_000);
    this.markTimer?.unref();
    const recheckMs = o.recheckMs ?? 30_000;
    this.recheckTimer = recheckMs > 0 ? setInterval(() => this.recheck(), recheckMs) : null;
    this.recheckTimer?.unref();
  }

  /** The first check (call once Redis is ready); logs the verdict when it is not a plain "persistent". */
  async start(): Promise<Persistence> {
    return this.current();
  }

  /** The verdict in force: waits for a check under way, or starts one when none is known. */
  async current(): Promise<Persistence> {
    return this.checking ?? this.verdict ?? this.check();
  }

  /**
   * Throws ASYNC_QUEUE_NOT_DURABLE when Redis does not persist (and that was not accepted). When the
   * check cannot run (Redis down), lets the caller go on: its own write fails with QUEUE_UNAVAILABLE.
   */
  async admit(): Promise<void> {
    let verdict: Persistence;
    try {
      verdict = await this.current();
    } catch {
      return;
    }
    if (verdict.evicts !== null && !this.o.allowVolatile) {
      throw new PlatformError('ASYNC_QUEUE_NOT_DURABLE', 'Redis drops keys when it is full (maxmemory with an evicting policy), so a queued run could vanish; nothing was queued. The operator must set maxmemory-policy noeviction, or accept the risk with FP_REDIS_ALLOW_VOLATILE=1.');
    }
    if (!verdict.persistent && !this.o.allowVolatile) {
      throw new PlatformError('ASYNC_QUEUE_NOT_DURABLE', `Redis ${doesNot(verdict)}, so a queued run would not survive a Redis restart; nothing was queued. The operator must enable AOF or snapshots, or accept the risk with FP_REDIS_ALLOW_VOLATILE=1.`);
    }
  }

  /** For /readyz: why async intake refuses runs now, or null. Uses the last verdict (no I/O). */
  problem(): ReadinessProblem | null {
    const v = this.verdict;
    if (v === null || !volatile(v) || this.o.allowVolatile) return this.unreachable() ?? this.refusal() ?? this.dataLoss();
    if (v.evicts !== null) {
      return { code: 'ASYNC_QUEUE_NOT_DURABLE', message: `Redis ${this.address} drops keys when it is full (${v.evicts}); async runs are refused until maxmemory-policy is noeviction (or FP_REDIS_ALLOW_VOLATILE=1)` };
    }
    return { code: 'ASYNC_QUEUE_NOT_DURABLE', message: `Redis ${this.address} ${doesNot(v)} (${v.detail}); async runs are refused until it does (or FP_REDIS_ALLOW_VOLATILE=1)` };
  }

  close(): void {
    if (this.markTimer !== null) clearInterval(this.markTimer);
    if (this.recheckTimer !== null) clearInterval(this.recheckTimer);
    this.o.client.off('ready', this.onReady);
    this.o.client.off('close', this.onClose);
    this.o.client.off('error', this.onError);
  }

  private check(): Promise<Persistence> {
    const previous = this.verdict;
    const running = readPersistence(this.o.client).then(
      (verdict) => {
        this.verdict = verdict;
        if (previous === null || previous.persistent !== verdict.persistent || previous.mode !== verdict.mode) this.announce(verdict, previous);
        if (((previous?.evicts ?? null) === null) !== (verdict.evicts === null)) this.announceEviction(verdict, previous);
        return verdict;
      },
    );
    this.checking = running;
    const done = (): void => {
      if (this.checking === running) this.checking = null;
    };
    running.then(done, done);
    return running;
  }

  /** A check while connected, when none is under way (the settings may change without a reconnect). */
  private recheck(): void {
    if (this.checking !== null || this.o.client.status !== 'ready') return;
    this.check().catch(() => {
      // Lost meanwhile: the reconnect checks.
    });
  }

  /** One line when Redis starts or stops dropping keys when full. */
  private announceEviction(v: Persistence, previous: Persistence | null): void {
    if (v.evicts === null) {
      if (previous !== null) this.o.log(`platform: Redis ${this.address} no longer drops keys when full; ${volatile(v) ? 'its persistence still decides' : 'async runs are accepted again'}`);
      return;
    }
    const risk = 'a full Redis drops keys: queued async runs (their jobs, or their records: RUN_NOT_FOUND, or `queued` for ever), idempotency keys, cron tick claims and webhook replay records';
    if (this.o.allowVolatile) {
      this.o.log(`platform: WARNING: Redis ${this.address} evicts keys when full (${v.evicts}); accepted because FP_REDIS_ALLOW_VOLATILE=1: ${risk} can vanish without a word`);
    } else {
      this.o.log(
        `platform: ERROR: Redis ${this.address} evicts keys when full (${v.evicts}): ${risk} would vanish without a word. ` +
        'Async calls, webhooks and cron ticks are refused (503 ASYNC_QUEUE_NOT_DURABLE) and /readyz is not ready until Redis runs with ' +
        'maxmemory-policy noeviction (a full Redis then refuses writes: 503, nothing lost), or FP_REDIS_ALLOW_VOLATILE=1 accepts the risk.',
      );
    }
  }

  /** One line per verdict change; loud when runs would be lost. */
  private announce(v: Persistence, previous: Persistence | null): void {
    if (v.persistent) {
      if (v.mode === 'rdb') this.o.log(`platform: warning: Redis ${this.address} persists by snapshots only (${v.detail}): a crash loses the runs accepted since the last snapshot; AOF (appendonly yes, appendfsync always) loses none`);
      else if (previous !== null) this.o.log(`platform: Redis ${this.address} persists its data now (${v.detail}); ${v.evicts === null ? 'async runs are accepted again' : 'but it still drops keys when full'}`);
      return;
    }
    if (this.o.allowVolatile) {
      this.o.log(`platform: WARNING: Redis ${this.address} ${doesNot(v)} (${v.detail}); accepted because FP_REDIS_ALLOW_VOLATILE=1: a Redis restart loses every queued async run`);
    } else {
      this.o.log(
        `platform: ERROR: Redis ${this.address} ${doesNot(v)} (${v.detail}): a Redis restart would lose every queued async run. ` +
        'Async calls, webhooks and cron ticks are refused (503 ASYNC_QUEUE_NOT_DURABLE) and /readyz is not ready until Redis runs with ' +
        'appendonly yes (or snapshots), or FP_REDIS_ALLOW_VOLATILE=1 accepts the risk.',
      );
    }
  }

  private lost(): void {
    if (!this.connected) return;
    this.connected = false;
    this.lostAt = Date.now();
    this.o.log(`platform: lost the connection to Redis ${this.address}${this.lastError ? ` (${this.lastError})` : ''}; reconnecting. Meanwhile async calls answer 503 and run records and metrics wait in memory.`);
  }

  private reconnected(): void {
    if (!this.connected && this.lostAt > 0) this.o.log(`platform: Redis ${this.address} is back after ${((Date.now() - this.lostAt) / 1000).toFixed(1)} s`);
    this.connected = true;
    this.lastError = '';
    // A Redis that restarted may have other settings (or none): check again before trusting it.
    this.check().catch(() => {
      // Lost again meanwhile: the next reconnect checks.
    });
    this.mark();
  }

  /**
   * A Redis that answers but refuses writes, seen by the mark's write (every second; ops round 4):
   * async calls, webhooks and cron ticks are refused and run records wait, while sync calls go on.
   * /readyz listed no problem (200 "ready", `problems: []`) through a Redis out of memory, so only
   * the log said so. Degraded, not blocking: every process shares that Redis, and a 503 from each
   * would take sync calls out of every load balancer too.
   */
  private refusal(): ReadinessProblem | null {
    const r = this.refusing;
    if (r === null) return null;
    return {
      code: 'ASYNC_QUEUE_UNAVAILABLE',
      message: `Redis ${this.address} ${r.words} (since ${new Date(r.since).toISOString()}): async calls, webhooks and cron ticks are refused and run records and metrics wait in memory; sync calls are served. ${r.fix}`,
      degraded: true,
    };
  }

  /**
   * Redis came back without data it had acknowledged (the mark went back: restarted empty, flushed,
   * an older file restored, a failover to a replica behind), within the last DATA_LOSS_SHOWN_MS.
   * Only the log said so before (chaos round 9: /readyz was 200 "ready" with no problem while the
   * runs queued before answered RUN_NOT_FOUND). Degraded: what is lost is lost; nothing waits for
   * the operator, and every process of a cluster sees it (each process's mark goes back).
   */
  private dataLoss(): ReadinessProblem | null {
    const lost = this.dataLost;
    if (lost === null || performance.now() - lost.mono > DATA_LOSS_SHOWN_MS) return null;
    return {
      code: 'REDIS_DATA_LOST',
      message: `Redis ${this.address} came back at ${new Date(lost.at).toISOString()} without data it had acknowledged (restarted empty, flushed, an older AOF or snapshot restored, or a failover to a replica that was behind): ` +
        `writes since about ${new Date(lost.since).toISOString()} or before may be lost. Async runs accepted then and not yet run are queued again with their ids, from their acceptance records in MongoDB; runs that had run answer from their records; runs finished then may run again. Async runs are accepted as usual. Said for an hour after it was seen.`,
      degraded: true,
    };
  }

  /**
   * Redis does not answer (the queue's connection lost): async calls, webhooks and cron ticks are
   * refused as when it refuses writes, so /readyz says so the same way, degraded (chaos round 1,
   * ADR 0217). It said 200 "ready" with no problem through the whole outage before, while every
   * `POST /async/` answered 503 ASYNC_QUEUE_UNAVAILABLE.
   */
  private unreachable(): ReadinessProblem | null {
    if (this.connected) return null;
    return {
      code: 'ASYNC_QUEUE_UNAVAILABLE',
      // The client library's words stay in the log (the `lost the connection` line): /readyz answers anyone.
      message: `Redis ${this.address} cannot be reached${this.lostAt > 0 ? ` (since ${new Date(this.lostAt).toISOString()})` : ''}: async calls, webhooks and cron ticks are refused and run records and metrics wait in memory; sync calls are served. Check that Redis runs and FP_REDIS_URL.`,
      degraded: true,
    };
  }

  /**
   * One step of the durability mark (reliability round 5): a Redis restarted from an older AOF or
   * snapshot, or a failover to a replica that was behind, comes back without writes it had
   * acknowledged: async runs accepted (202) are gone (RUN_NOT_FOUND) and finished ones may run
   * again. Nothing else told; the mark going back says so, once per such return.
   */
  private mark(): void {
    const key = this.o.markKey;
    if (key === undefined || this.marking || this.o.client.status !== 'ready') return;
    this.marking = true;
    this.o.client.incr(key).then((value) => {
      if (this.markSeen > 0 && value <= this.markSeen) {
        this.dataLost = { at: Date.now(), mono: performance.now(), since: this.markSeenAt };
        this.o.onDataLoss?.();
        this.o.log(
          `platform: ERROR: Redis ${this.address} came back with older data than it had acknowledged, or evicted keys (its durability mark went from ${this.markSeen} back to ${value - 1}): ` +
          `writes acknowledged since about ${new Date(this.markSeenAt).toISOString()} or before may be lost. Async runs accepted then (202) and not yet run are queued again from their acceptance records in MongoDB (ADR 0225), ` +
          'runs finished then may run again, and config changes may be missing until the next change. Check how Redis was restored (an older AOF or snapshot, a failover to a replica that was behind), or whether it evicted keys (maxmemory-policy other than noeviction). [REDIS_DATA_LOST]',
        );
      }
      this.markSeen = value;
      this.markSeenAt = Date.now();
      if (this.refusing !== null) this.o.log(`platform: Redis ${this.address} takes writes again after ${((Date.now() - this.refusing.since) / 1000).toFixed(1)} s`);
      this.refusing = null;
    }, (err: unknown) => {
      // Redis down: the next tick or reconnect marks. Redis refusing the write: /readyz says so.
      const refused = writeRefusal(err);
      if (refused !== null && this.refusing === null) {
        this.refusing = { ...refused, since: Date.now() };
        this.o.log(`platform: ERROR: Redis ${this.address} ${refused.words}: async calls, webhooks and cron ticks are refused until it takes writes again. ${refused.fix}`);
      }
    }).finally(() => {
      this.marking = false;
    });
  }
}

/** Redis's refusal of a write, in words and with its fix; null for anything else (down, a timeout). */
function writeRefusal(err: unknown): { words: string; fix: string } | null {
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('OOM ')) return { words: 'is out of memory (maxmemory, noeviction) and refuses writes', fix: 'Free memory in it, or raise its maxmemory.' };
  if (message.startsWith('MISCONF ')) return { words: 'refuses writes because it cannot save its data', fix: "Fix what keeps it from writing its AOF or snapshot (its disk: see Redis's log)." };
  if (message.startsWith('READONLY ')) return { words: 'is a read-only replica and refuses writes', fix: 'Point FP_REDIS_URL at the primary.' };
  return null;
}

/** "does not persist its data", or, when that cannot be read, says so. */
function doesNot(v: Persistence): string {
  return v.mode === 'unknown' ? 'cannot be shown to persist its data' : 'does not persist its data';
}
