/**
 * HotMetrics in Redis (ioredis), shared by every gateway. Keys come from protocol/redis-keys.ts.
 * A batch of samples is aggregated in memory first (one HINCRBY per touched field, not per run),
 * then applied by one Lua script, atomically: counted whole or not at all, and skipped when its
 * batch id was applied before (a retry after a lost reply must not count twice; a MULTI cannot
 * make its commands conditional, a script can). Percentiles merge the per-minute (or per-hour)
 * latency buckets of the window (../metrics/histogram.ts).
 *
 * The client (./redis-client.ts) fails fast when Redis is down, so callers (a SampleRecorder) see an
 * error at once and retry later; it keeps reconnecting in the background.
 */
import type { Redis } from 'ioredis';
import {
  BATCH_MARKER_TTL_MS,
  BUCKET_FIELDS,
  coldLatencyField,
  HOUR_BUCKET_TTL_MS,
  initField,
  latencyField,
  MINUTE_BUCKET_TTL_MS,
  redisKeys,
  type RedisKeys,
} from '../../../protocol/index.js';
import { SampleBatch, type Samples } from '../metrics/batch.js';
import { emptyTally, HOUR_MS, LATENCY_BUCKETS, MINUTE_MS, windowBuckets, type Tally } from '../metrics/histogram.js';
import { DEFAULT_WARM_TTL_MS, type FunctionUsage, type HotMetrics, type TallySeries, type UsageWindow } from '../metrics/types.js';
import { assertWarm, assertWindow, buildUsage, closedError } from '../metrics/usage.js';

export interface RedisHotMetricsOptions {
  /** A client from `connectRedis` (./redis-client.ts); closed by `close` when `ownsClient`. */
  client: Redis;
  ownsClient?: boolean;
  /** Key prefix (protocol/redis-keys.ts); default `fp`. */
  prefix?: string;
  now?: () => number;
}

/**
 * Applies one batch. KEYS[1] is the batch marker; ARGV[1] its TTL in ms ('' for no marker), then
 * ops: `i k f n` HINCRBY, `f k f x` HINCRBYFLOAT, `x k ms` PEXPIRE, `z k score member` keep only
 * the highest-scored member; `k` indexes KEYS.
 */
const RECORD_SCRIPT = `
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
end
local i = 2
while i <= #ARGV do
  local op, key = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'i' then redis.call('HINCRBY', key, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'f' then redis.call('HINCRBYFLOAT', key, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'x' then redis.call('PEXPIRE', key, ARGV[i + 2]); i = i + 3
  elseif op == 'z' then
    redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3])
    redis.call('ZREMRANGEBYRANK', key, 0, -2)
    i = i + 4
  else return redis.error_reply('unknown op ' .. tostring(op)) end
end
return 1
`;

/** The ops of one RECORD_SCRIPT call; keys are numbered from 2 (KEYS[1] is the marker). */
class ScriptOps {
  readonly keys: string[] = [];
  readonly args: (string | number)[] = [];
  private readonly index = new Map<string, number>();

  add(op: 'i' | 'f' | 'x' | 'z', key: string, ...rest: (string | number)[]): void {
    let k = this.index.get(key);
    if (k === undefined) {
      this.keys.push(key);
      this.index.set(key, (k = this.keys.length + 1));
    }
    this.args.push(op, k, ...rest);
  }
}

/** Throws the first command error of an EXEC/pipeline result. */
function unwrap(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new Error('Redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function toInt(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

export class RedisHotMetrics implements HotMetrics {
  private readonly client: Redis;
  private readonly keys: RedisKeys;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: RedisHotMetricsOptions) {
    this.client = options.client;
    this.keys = redisKeys(options.prefix);
    this.now = options.now ?? Date.now;
  }

  private check(): void {
    if (this.closed) throw closedError();
  }

  async record(samples: Samples, options: { batchId?: string } = {}): Promise<void> {
    this.check();
    const batch = SampleBatch.of(samples);
    if (batch.length === 0) return;
    const ops = new ScriptOps();
    const addTally = (key: string, ttlMs: number, tally: Tally): void => {
      ops.add('i', key, BUCKET_FIELDS.count, tally.count);
      if (tally.errors > 0) ops.add('i', key, BUCKET_FIELDS.errors, tally.errors);
      if (tally.cold > 0) ops.add('i', key, BUCKET_FIELDS.cold, tally.cold);
      if (tally.scaleToZero > 0) ops.add('i', key, BUCKET_FIELDS.scaleToZero, tally.scaleToZero);
      for (const [values, field] of [[tally.latency, latencyField], [tally.coldLatency, coldLatencyField], [tally.init, initField]] as const) {
        values.forEach((n, i) => {
          if (n > 0) ops.add('i', key, field(i), n);
        });
      }
      ops.add('f', key, BUCKET_FIELDS.sumMs, tally.sumMs);
      ops.add('x', key, ttlMs);
    };
    for (const m of batch.minutes()) addTally(this.keys.minute(m.function, m.minute), MINUTE_BUCKET_TTL_MS, m.tally);
    for (const h of batch.hours().values()) addTally(this.keys.hour(h.function, h.hour), HOUR_BUCKET_TTL_MS, h.tally);
    for (const [fn, t] of batch.totals()) {
      const key = this.keys.totals(fn);
      ops.add('i', key, BUCKET_FIELDS.count, t.invocations);
      if (t.errors > 0) ops.add('i', key, BUCKET_FIELDS.errors, t.errors);
      if (t.coldStarts > 0) ops.add('i', key, BUCKET_FIELDS.cold, t.coldStarts);
    }
    for (const [fn, ok] of batch.lastOk()) ops.add('z', this.keys.lastSuccess(fn), ok.at, ok.runId);
    const marker = this.keys.batch(options.batchId ?? 'none');
    const markerTtl = options.batchId === undefined ? '' : String(BATCH_MARKER_TTL_MS);
    await this.client.eval(RECORD_SCRIPT, ops.keys.length + 1, marker, ...ops.keys, markerTtl, ...ops.args);
  }

  async setWarm(fn: string, reporter: string, instances: number, ttlMs = DEFAULT_WARM_TTL_MS): Promise<void> {
    this.check();
    assertWarm(instances, ttlMs);
    const key = this.keys.warm(fn);
    const tx = this.client.multi();
    if (instances === 0) tx.hdel(key, reporter);
    else {
      tx.hset(key, reporter, `${instances}:${this.now() + ttlMs}`);
      // The key outlives its longest report: set a TTL if it has none, else only ever extend it.
      tx.pexpire(key, ttlMs, 'NX');
      tx.pexpire(key, ttlMs, 'GT');
    }
    unwrap(await tx.exec());
  }

  async setPaused(fn: string, paused: boolean): Promise<void> {
    this.check();
    if (paused) await this.client.set(this.keys.paused(fn), '1');
    else await this.client.del(this.keys.paused(fn));
  }

  async usage(fn: string, window: UsageWindow): Promise<FunctionUsage> {
    this.check();
    assertWindow(window);
    const now = this.now();
    const { unit, indices, from } = windowBuckets(window, now, true);
    const p = this.client.pipeline();
    for (const i of indices) p.hgetall(unit === 'minute' ? this.keys.minute(fn, i) : this.keys.hour(fn, i));
    p.hgetall(this.keys.totals(fn));
    p.zrevrange(this.keys.lastSuccess(fn), 0, 0, 'WITHSCORES');
    p.hgetall(this.keys.warm(fn));
    p.exists(this.keys.paused(fn));
    const results = unwrap(await p.exec());
    const tally = emptyTally();
    for (let k = 0; k < indices.length; k++) mergeHash(tally, results[k] as Record<string, string>);
    const [totalsHash, last, warmHash, paused] = results.slice(indices.length) as [Record<string, string>, string[], Record<string, string>, number];
    const { instances, expired } = liveWarm(warmHash, now);
    if (expired.length > 0) await this.client.hdel(this.keys.warm(fn), ...expired);
    return buildUsage({
      function: fn,
      window,
      from,
      to: now,
      tally,
      totals: { invocations: toInt(totalsHash[BUCKET_FIELDS.count]), errors: toInt(totalsHash[BUCKET_FIELDS.errors]), coldStarts: toInt(totalsHash[BUCKET_FIELDS.cold]) },
      warmInstances: instances,
      paused: paused === 1,
      lastSuccess: last.length >= 2 ? { runId: last[0]!, at: Number(last[1]) } : null,
    });
  }

  async series(fn: string, window: UsageWindow): Promise<TallySeries> {
    this.check();
    assertWindow(window);
    const now = this.now();
    const { unit, indices, from } = windowBuckets(window, now);
    const oldestFirst = [...indices].reverse();
    const p = this.client.pipeline();
    for (const i of oldestFirst) p.hgetall(unit === 'minute' ? this.keys.minute(fn, i) : this.keys.hour(fn, i));
    const results = unwrap(await p.exec());
    const size = unit === 'minute' ? MINUTE_MS : HOUR_MS;
    const buckets = oldestFirst.map((index, k) => {
      const tally = emptyTally();
      mergeHash(tally, results[k] as Record<string, string>);
      return { at: index * size, tally };
    });
    return { from, to: now, stepMs: size, buckets };
  }

  async forget(fn: string): Promise<void> {
    this.check();
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', this.keys.functionPattern(fn), 'COUNT', 500);
      if (keys.length > 0) await this.client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.ownsClient) this.client.disconnect();
  }
}

/** Adds one bucket hash (HGETALL result) to a tally. */
function mergeHash(tally: Tally, hash: Record<string, string>): void {
  tally.count += toInt(hash[BUCKET_FIELDS.count]);
  tally.errors += toInt(hash[BUCKET_FIELDS.errors]);
  tally.cold += toInt(hash[BUCKET_FIELDS.cold]);
  tally.sumMs += toInt(hash[BUCKET_FIELDS.sumMs]);
  tally.scaleToZero += toInt(hash[BUCKET_FIELDS.scaleToZero]);
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    const v = hash[latencyField(i)];
    if (v !== undefined) tally.latency[i] = (tally.latency[i] ?? 0) + toInt(v);
    const c = hash[coldLatencyField(i)];
    if (c !== undefined) tally.coldLatency[i] = (tally.coldLatency[i] ?? 0) + toInt(c);
    const k = hash[initField(i)];
    if (k !== undefined) tally.init[i] = (tally.init[i] ?? 0) + toInt(k);
  }
}

/** Sums unexpired warm reports (`<instances>:<expiresAt>`); lists the expired reporters. */
function liveWarm(hash: Record<string, string>, now: number): { instances: number; expired: string[] } {
  let instances = 0;
  const expired: string[] = [];
  for (const [reporter, value] of Object.entries(hash)) {
    const [count, expiresAt] = value.split(':').map(Number);
    if (Number.isFinite(count) && Number.isFinite(expiresAt) && expiresAt! > now) instances += count!;
    else expired.push(reporter);
  }
  return { instances, expired };
}
