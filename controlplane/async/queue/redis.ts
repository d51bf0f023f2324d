/**
 * The production queue: Redis Streams with one consumer group per queue. A job is a hash plus one
 * stream entry while it is ready or leased (XREADGROUP leases it to a consumer; an entry idle for
 * longer than the lease is taken over by the next claim through XAUTOCLAIM), or a member of a
 * sorted set while it waits for its backoff time (moved into the stream by the next claim once
 * due). Dead letters go to their own stream. Every change is one Lua script (./redis-scripts.ts).
 * Durability is Redis's: run it with `appendonly yes` and `appendfsync always` (docs/queue.md).
 * A Redis that lost its data (restarted without persistence, flushed) loses the consumer group
 * too: the next operation that meets NOGROUP creates it again and says so once (`log`).
 * Why this shape: docs/adr/0007-async-queue.md.
 */
import type { Redis } from 'ioredis';
import { QUEUE_GROUP, redisKeys, type QueueKeys } from '../../../protocol/index.js';
import { isQueueError, QueueError } from './errors.js';
import { RedisClock } from './redis-clock.js';
import { ACK, CANCEL, CLAIM, DEAD_LETTER, ENQUEUE, EXTEND, HOLD, isRedisError, LuaScript, NACK, redisRefusal, STATS } from './redis-scripts.js';
import {
  DEFAULT_IDEMPOTENCY_WINDOW_MS, DEFAULT_LEASE_MS, DEFAULT_LIST_LIMIT,
  type CancelResult, type ClaimedJob, type ClaimOptions, type DeadLetter, type DeadLetterInfo, type EnqueueResult,
  type FunctionQueueStats, type Job, type JobInfo, type JobState, type Lease, type NewJob, type Queue, type QueueOptions, type QueueStats,
} from './types.js';
import { checkJob, checkMax, positiveMs } from './validate.js';

export interface RedisQueueOptions extends QueueOptions {
  /** An ioredis client (controlplane/store/production/redis-client.ts `connectRedis`); closed by `close` when `ownsClient`. */
  client: Redis;
  ownsClient?: boolean;
  /** Key prefix (protocol/redis-keys.ts); default `fp`. */
  prefix?: string;
  /** The queue's name inside the prefix; default `async`. */
  queue?: string;
  /**
   * This process's wall clock: the frame of the times callers pass (`notBefore`, `hold`'s until)
   * and get back (`enqueuedAt`, `notBefore`, `deadAt`). Stored times are on Redis's clock
   * (./redis-clock.ts), so processes with skewed clocks agree on them.
   */
  now?: () => number;
  /** This process's monotonic clock (default `performance.now`), which carries Redis's between reads. */
  monotonic?: () => number;
  /** Operator messages: the consumer group was missing and was created again. */
  log?: (line: string) => void;
  /** Told with that message, once per loss (the runs Redis lost are queued again: ADR 0225). */
  onGroupMissing?: () => void;
  /**
   * Dead letters older than this are deleted (with their index entries), checked at open and every
   * `pruneIntervalMs` (default 10 min): the run retention, past which the run, and so its replay,
   * is gone. Absent: kept until removed.
   */
  deadRetentionMs?: number;
  pruneIntervalMs?: number;
}

/** Index entries looked at per HSCAN step while pruning dead letters. */
const DEAD_PRUNE_SCAN = 1000;

const scripts = {
  enqueue: new LuaScript(ENQUEUE),
  claim: new LuaScript(CLAIM),
  ack: new LuaScript(ACK),
  nack: new LuaScript(NACK),
  extend: new LuaScript(EXTEND),
  dead: new LuaScript(DEAD_LETTER),
  cancel: new LuaScript(CANCEL),
  hold: new LuaScript(HOLD),
  stats: new LuaScript(STATS),
};

/** Leases read per functionStats call (leases are bounded by the dispatchers' concurrency). */
const MAX_LEASES_COUNTED = 10_000;

/** Creates the consumer group (and stream) when missing, then returns the queue. */
export async function openRedisQueue(options: RedisQueueOptions): Promise<Queue> {
  const keys = redisKeys(options.prefix).queue(options.queue ?? 'async');
  const leaseMs = positiveMs(options.leaseMs, DEFAULT_LEASE_MS, 'leaseMs');
  const windowMs = positiveMs(options.idempotencyWindowMs, DEFAULT_IDEMPOTENCY_WINDOW_MS, 'idempotencyWindowMs');
  let clock: RedisClock;
  try {
    await createGroup(options.client, keys);
    clock = await RedisClock.open(options.client, options.now ?? Date.now, options.monotonic);
  } catch (err) {
    throw unavailable(err);
  }
  const queue = new RedisQueue(options.client, options.ownsClient ?? false, keys, clock, leaseMs, windowMs, options.log ?? (() => {}), options.onGroupMissing ?? (() => {}));
  const retentionMs = options.deadRetentionMs;
  if (retentionMs !== undefined) queue.pruneDeadEvery(retentionMs, options.pruneIntervalMs ?? 600_000);
  return queue;
}

/** Creates the stream and its consumer group; false when the group exists already (BUSYGROUP). */
async function createGroup(client: Redis, keys: QueueKeys): Promise<boolean> {
  try {
    // From id 0, so entries added before the group existed (e.g. enqueued right after Redis came back empty) are not skipped.
    await client.xgroup('CREATE', keys.stream, QUEUE_GROUP, '0', 'MKSTREAM');
    return true;
  } catch (err) {
    if (isRedisError(err, 'BUSYGROUP')) return false;
    throw err;
  }
}

/**
 * Anything from the driver (connection refused, timeout, closed) is QUEUE_UNAVAILABLE with a plain
 * message (what callers may show); the driver's own error stays as the `cause`, for logs. Ours pass through.
 */
function unavailable(err: unknown): Error {
  if (isQueueError(err)) return err;
  return new QueueError('QUEUE_UNAVAILABLE', redisRefusal(err) ?? 'Redis could not be reached or did not answer in time', {}, err);
}

/** A flat [field, value, …] reply as a map of strings to Buffers. */
function fieldMap(flat: unknown): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const list = flat as Buffer[];
  for (let i = 0; i + 1 < list.length; i += 2) out.set(list[i]!.toString(), list[i + 1]!);
  return out;
}

const str = (m: Map<string, Buffer>, f: string): string => m.get(f)?.toString() ?? '';
const num = (m: Map<string, Buffer>, f: string): number => Number(str(m, f) || 0);

/** A job's fields; `now` and the stored times on Redis's clock, the times handed out on the caller's (`local`). */
function jobInfo(runId: string, m: Map<string, Buffer>, now: number, local: (stored: number) => number): JobInfo {
  const stored = str(m, 's') as JobState;
  const notBefore = num(m, 'nb');
  return {
    runId,
    function: str(m, 'f'),
    attempt: num(m, 'a'),
    notBefore: local(notBefore),
    enqueuedAt: local(num(m, 'eq')),
    idempotencyKey: str(m, 'ik') || null,
    // A delayed job that is due but not yet moved into the stream is ready already.
    state: stored === 'delayed' && notBefore <= now ? 'ready' : stored,
    consumer: stored === 'leased' ? str(m, 'c') : null,
    deliveries: num(m, 'd'),
    payloadBytes: m.get('p')?.length ?? 0,
  };
}

function deadFields(m: Map<string, Buffer>, local: (stored: number) => number): Omit<DeadLetter, 'payload'> {
  return {
    runId: str(m, 'r'), function: str(m, 'f'), attempt: num(m, 'a'), enqueuedAt: local(num(m, 'eq')),
    idempotencyKey: str(m, 'ik') || null, reason: str(m, 'why'), deadAt: local(num(m, 'at')),
  };
}

class RedisQueue implements Queue {
  private closed = false;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: Redis,
    private readonly ownsClient: boolean,
    private readonly keys: QueueKeys,
    private readonly clock: RedisClock,
    private readonly leaseMs: number,
    private readonly windowMs: number,
    private readonly log: (line: string) => void,
    private readonly onGroupMissing: () => void,
  ) {}

  /**
   * Runs one operation: QUEUE_CLOSED after close, driver failures as QUEUE_UNAVAILABLE. When the
   * consumer group is gone (NOGROUP: Redis lost its data), it is created again and the operation
   * retried once; the queue goes on with what Redis still has.
   */
  private async op<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new QueueError('QUEUE_CLOSED', 'the queue is closed');
    try {
      try {
        return await fn();
      } catch (err) {
        if (!isRedisError(err, 'NOGROUP')) throw err;
        await this.recreateGroup();
        return await fn();
      }
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Said once per loss: of several workers meeting NOGROUP together, only the one that creates the group logs. */
  private async recreateGroup(): Promise<void> {
    if (await createGroup(this.client, this.keys)) {
      this.log(`queue: the stream or consumer group of ${this.keys.stream} was missing (Redis lost its data: restarted without persistence, or flushed); created it again. Runs queued before the loss are gone from it (queued again from their acceptance records: ADR 0225).`);
      this.onGroupMissing();
    }
  }

  /** Redis's time now (./redis-clock.ts). */
  private now(): number {
    return this.clock.now();
  }

  private readonly local = (stored: number): number => this.clock.toLocal(stored);

  private lost(lease: Lease): never {
    throw new QueueError('QUEUE_LEASE_LOST', 'the lease is no longer held', { runId: lease.runId });
  }

  async enqueue(job: NewJob): Promise<EnqueueResult> {
    checkJob(job);
    return this.op(async () => {
      const now = this.now();
      // Never enqueued before the function it was accepted for (types.ts, `bornAt`).
      const enqueuedAt = job.bornAt === undefined ? now : Math.max(now, this.clock.toRedis(job.bornAt));
      const k = this.keys;
      const idem = job.idempotencyKey ?? '';
      const [status, runId] = (await scripts.enqueue.run(
        this.client,
        [k.stream, k.delayed, k.job(job.runId), k.idempotency(idem), k.waiting(job.function), k.waitingFunctions, k.idempotencyFingerprint(idem)],
        [job.runId, job.function, Buffer.from(job.payload), job.attempt ?? 1, job.notBefore === undefined ? enqueuedAt : this.clock.toRedis(job.notBefore), enqueuedAt, idem, this.windowMs, job.fingerprint ?? '', job.bornAt === undefined ? '' : String(job.bornAt)],
      )) as [number, string];
      if (status === -1) throw new QueueError('QUEUE_RUN_EXISTS', 'this run is queued already', { runId });
      if (status === 2) return { runId, created: false, mismatch: true };
      return { runId, created: status === 1 };
    });
  }

  async claim(consumer: string, max: number, options: ClaimOptions = {}): Promise<ClaimedJob[]> {
    checkMax(max);
    // Tagged, so that a workspace and a function of the same name are told apart (redis-scripts.ts CLAIM).
    const skip = [...(options.skipWorkspaces ?? []).map((w) => `w:${w}`), ...(options.skipFunctions ?? []).map((f) => `f:${f}`)];
    return this.op(async () => {
      const now = this.now();
      const reply = (await scripts.claim.runBuffer(
        this.client,
        [this.keys.stream, this.keys.delayed],
        [QUEUE_GROUP, consumer, max, this.leaseMs, now, this.keys.jobPrefix, this.keys.waitingPrefix, ...skip],
      )) as [Buffer, Buffer, Buffer[]][];
      return reply.map(([run, token, flat]) => {
        const m = fieldMap(flat);
        const runId = run.toString();
        const job: ClaimedJob = { ...jobInfo(runId, m, now, this.local), state: 'leased', consumer, token: token.toString(), payload: m.get('p') ?? Buffer.alloc(0), ...(m.has('b') ? { bornAt: num(m, 'b') } : {}) };
        if (str(m, 'x') === '1') job.cancelRequested = true;
        return job;
      });
    });
  }

  private async leased(script: LuaScript, keys: string[], lease: Lease, extra: (string | number)[] = []): Promise<void> {
    const ok = await this.op(() => script.run(this.client, keys, [QUEUE_GROUP, lease.consumer, lease.token, ...extra]));
    if (ok !== 1) this.lost(lease);
  }

  ack(lease: Lease): Promise<void> {
    return this.leased(scripts.ack, [this.keys.stream, this.keys.job(lease.runId)], lease);
  }

  nack(lease: Lease, notBefore: number): Promise<void> {
    const k = this.keys;
    return this.leased(scripts.nack, [k.stream, k.delayed, k.job(lease.runId), k.waitingFunctions], lease, [this.clock.toRedis(notBefore), this.now(), lease.runId, k.waitingPrefix]);
  }

  extend(lease: Lease): Promise<void> {
    return this.leased(scripts.extend, [this.keys.stream, this.keys.job(lease.runId)], lease);
  }

  deadLetter(lease: Lease, reason: string): Promise<void> {
    const k = this.keys;
    return this.leased(scripts.dead, [k.stream, k.job(lease.runId), k.dead, k.deadIndex], lease, [lease.runId, reason, this.now()]);
  }

  cancel(runId: string): Promise<CancelResult> {
    const k = this.keys;
    return this.op(async () => (await scripts.cancel.run(this.client, [k.stream, k.delayed, k.job(runId)], [runId, k.waitingPrefix])) as CancelResult);
  }

  hold(runId: string, untilMs: number): Promise<CancelResult> {
    const k = this.keys;
    return this.op(async () => (await scripts.hold.run(this.client, [k.stream, k.delayed, k.job(runId)], [runId, k.waitingPrefix, this.clock.toRedis(untilMs)])) as CancelResult);
  }

  peek(runId: string): Promise<Job | null> {
    return this.op(async () => {
      const m = new Map(Object.entries(await this.client.hgetallBuffer(this.keys.job(runId))));
      if (!m.has('s')) return null;
      return { ...jobInfo(runId, m, this.now(), this.local), payload: m.get('p') ?? Buffer.alloc(0) };
    });
  }

  list(limit = DEFAULT_LIST_LIMIT): Promise<JobInfo[]> {
    return this.op(async () => {
      const now = this.now();
      const entries = await this.client.xrange(this.keys.stream, '-', '+', 'COUNT', limit);
      const runs = entries.map(([, fields]) => fields[1] ?? '');
      if (runs.length < limit) runs.push(...(await this.client.zrange(this.keys.delayed, '0', String(limit - runs.length - 1))));
      const out: JobInfo[] = [];
      for (const runId of runs) {
        // Everything but the payload, whose length is enough here.
        const fields = ['f', 'a', 'nb', 'eq', 'ik', 's', 'c', 'd'];
        const [values, bytes] = await Promise.all([
          this.client.hmget(this.keys.job(runId), ...fields),
          this.client.hstrlen(this.keys.job(runId), 'p'),
        ]);
        if (values[5] === null) continue; // gone since the listing was read
        const m = new Map(fields.map((f, i) => [f, Buffer.from(values[i] ?? '')]));
        out.push({ ...jobInfo(runId, m, now, this.local), payloadBytes: bytes });
      }
      return out;
    });
  }

  listDead(limit = DEFAULT_LIST_LIMIT): Promise<DeadLetterInfo[]> {
    return this.op(async () => {
      const entries = await this.client.xrangeBuffer(this.keys.dead, '-', '+', 'COUNT', limit);
      return entries.map(([, flat]) => {
        const m = fieldMap(flat);
        return { ...deadFields(m, this.local), payloadBytes: m.get('p')?.length ?? 0 };
      });
    });
  }

  getDead(runId: string): Promise<DeadLetter | null> {
    return this.op(async () => {
      const id = await this.client.hget(this.keys.deadIndex, runId);
      if (id === null) return null;
      const [entry] = await this.client.xrangeBuffer(this.keys.dead, id, id);
      if (!entry) return null;
      const m = fieldMap(entry[1]);
      return { ...deadFields(m, this.local), payload: m.get('p') ?? Buffer.alloc(0) };
    });
  }

  stats(): Promise<QueueStats> {
    return this.op(async () => {
      const k = this.keys;
      const now = this.now();
      const [streamLen, pending, delayedAll, due, dead] = await Promise.all([
        this.client.xlen(k.stream),
        this.client.xpending(k.stream, QUEUE_GROUP) as Promise<[number, ...unknown[]]>,
        this.client.zcard(k.delayed),
        this.client.zcount(k.delayed, '-inf', String(now)),
        this.client.xlen(k.dead),
      ]);
      const leased = Number(pending[0]);
      return { delayed: delayedAll - due, ready: streamLen - leased + due, leased, dead };
    });
  }

  functionStats(): Promise<FunctionQueueStats[]> {
    return this.op(async () => {
      const k = this.keys;
      const rows = (await scripts.stats.run(this.client, [k.stream, k.waitingFunctions], [QUEUE_GROUP, this.now(), k.jobPrefix, k.waitingPrefix, MAX_LEASES_COUNTED])) as [string, number, number, number, string][];
      return rows
        .map(([fn, ready, delayed, leased, oldest]) => ({ function: fn, ready, delayed, leased, oldestReadyAt: oldest === '' ? null : this.local(Number(oldest)) }))
        .sort((a, b) => (a.function < b.function ? -1 : a.function > b.function ? 1 : 0));
    });
  }

  /**
   * Deletes the dead letters put before `beforeMs` and their index entries (ops round 1: the dead
   * stream kept every failed run's payload, up to the async body limit, in Redis's memory for
   * ever, while replay, which needs the run, could no longer reach it past the run retention).
   * A stream entry's id is the Redis clock's milliseconds at XADD: XTRIM MINID drops the older
   * ones without reading their payloads. Returns how many index entries went.
   */
  pruneDead(beforeMs: number): Promise<number> {
    return this.op(async () => {
      const cutoff = Math.max(0, Math.floor(this.clock.toRedis(beforeMs)));
      await this.client.xtrim(this.keys.dead, 'MINID', '=', String(cutoff));
      let removed = 0;
      let cursor = '0';
      do {
        const [next, flat] = await this.client.hscan(this.keys.deadIndex, cursor, 'COUNT', DEAD_PRUNE_SCAN);
        cursor = next;
        const old: string[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) if (Number(flat[i + 1]!.split('-')[0]) < cutoff) old.push(flat[i]!);
        if (old.length > 0) removed += await this.client.hdel(this.keys.deadIndex, ...old);
      } while (cursor !== '0' && !this.closed);
      return removed;
    });
  }

  pruneDeadEvery(retentionMs: number, intervalMs: number): void {
    const run = () => void this.pruneDead(this.clock.toLocal(this.now()) - retentionMs).catch(() => undefined);
    run();
    this.pruneTimer = setInterval(run, intervalMs);
    this.pruneTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.close();
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer);
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }
}
