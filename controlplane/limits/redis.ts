/**
 * The production limiter: one Lua script per call, so a bucket and a workspace's minute counter
 * are checked and taken atomically for every platform process at once (exact across processes).
 * Time is Redis's own (`TIME`), so processes with skewed clocks still share one bucket and one
 * minute. Keys are protocol/redis-keys.ts `limits(workspace)`: one hash tag per workspace, one
 * Cluster slot per script. The connection is the one Redis client module's (fail fast while down).
 *
 * While Redis does not answer, calls are admitted (fail open, logged once per outage): a limiter
 * outage must not take every rate-limited function down with it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from '../../protocol/index.js';
import { ADMITTED, type AdmissionLimiter, type Bucket, type LimitVerdict } from './types.js';

/**
 * KEYS bucket hash, minute counter prefix (the minute is appended here, from Redis's clock; same hash tag).
 * ARGV hasBucket (0|1), requests, periodMs, burst, perMinute (0: none).
 * Returns {0} admitted, {1, retryAfterMs} rate, {2, retryAfterMs, used} quota.
 */
export const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens, ts = 0, 0
if ARGV[1] == '1' then
  local requests, period, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local held = redis.call('HMGET', KEYS[1], 't', 'ts')
  tokens, ts = tonumber(held[1]), tonumber(held[2])
  if tokens == nil or ts == nil then tokens = burst; ts = now end
  if now > ts then tokens = tokens + (now - ts) * requests / period end
  if tokens > burst then tokens = burst end
  if tokens < 1 then return {1, math.ceil((1 - tokens) * period / requests)} end
end
local limit = tonumber(ARGV[5])
if limit > 0 then
  local minute = math.floor(now / 60000)
  local key = KEYS[2] .. minute
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= limit then return {2, (minute + 1) * 60000 - now, used} end
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, 120000)
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens - 1), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) * tonumber(ARGV[3]) / tonumber(ARGV[2])) + 1000)
end
return {0}
`;

/** KEYS minute counter prefix → this minute's count (Redis's clock). */
export const MINUTE_COUNT = `
local t = redis.call('TIME')
return tonumber(redis.call('GET', KEYS[1] .. math.floor(tonumber(t[1]) / 60)) or '0')
`;

const SHAS = new Map<string, string>([ADMIT, MINUTE_COUNT].map((lua) => [lua, createHash('sha1').update(lua).digest('hex')]));

/**
 * The options of the limiter's own connection (on top of the one Redis client module's): one
 * round trip per call of a rate-limited function, auto-pipelined, so the calls of one event-loop
 * turn are written to Redis at once (bench section 11 measures the cost).
 */
export const LIMITER_CLIENT_OPTIONS = Object.freeze({ enableAutoPipelining: true });

export interface RedisLimiterOptions {
  client: Redis;
  /** Disconnect the client on close. */
  ownsClient?: boolean;
  prefix?: string;
  log?: (line: string) => void;
}

export class RedisLimiter implements AdmissionLimiter {
  private readonly client: Redis;
  private readonly keys: RedisKeys;
  private readonly log: (line: string) => void;
  private failing = false;

  constructor(private readonly options: RedisLimiterOptions) {
    this.client = options.client;
    this.keys = redisKeys(options.prefix);
    this.log = options.log ?? (() => {});
  }

  async admit(workspace: string, bucket: Bucket | null, perMinute: number | null): Promise<LimitVerdict> {
    const keys = this.keys.limits(workspace);
    const args = bucket === null ? ['0', 1, 1, 1, perMinute ?? 0] : ['1', bucket.requests, bucket.periodMs, bucket.burst, perMinute ?? 0];
    let reply: unknown;
    try {
      reply = await this.run(ADMIT, [keys.bucket(bucket?.fn ?? '-'), keys.minutePrefix], args);
    } catch (err) {
      if (!this.failing) this.log(`limits: Redis did not answer; calls are admitted without their rate limits and quotas until it does: ${(err as Error).message}`);
      this.failing = true;
      return ADMITTED;
    }
    if (this.failing) this.log('limits: Redis answers again; rate limits and quotas apply');
    this.failing = false;
    const [verdict, retryAfterMs, used] = (reply as number[]).map(Number);
    if (verdict === 1) return { ok: false, reason: 'rate', retryAfterMs: retryAfterMs ?? 1000, used: 0 };
    if (verdict === 2) return { ok: false, reason: 'quota', retryAfterMs: retryAfterMs ?? 1000, used: used ?? 0 };
    return ADMITTED;
  }

  async minuteCount(workspace: string): Promise<number> {
    return Number(await this.run(MINUTE_COUNT, [this.keys.limits(workspace).minutePrefix], []));
  }

  async close(): Promise<void> {
    if (this.options.ownsClient) this.client.disconnect();
  }

  /** EVALSHA, the whole script only when Redis does not have it (first use, after a restart). */
  private async run(lua: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(SHAS.get(lua)!, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      return this.client.eval(lua, keys.length, ...keys, ...args);
    }
  }
}
