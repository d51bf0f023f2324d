/**
 * The production limiter: the buckets and the workspaces' minute counters live in Redis, taken
 * and given back by Lua scripts (./redis-scripts.ts), so every platform process shares them.
 * Time is Redis's own (`TIME`), so processes with skewed clocks still share one bucket and one
 * minute. Keys are protocol/redis-keys.ts `limits(workspace)`: one hash tag per workspace, one
 * Cluster slot per script. The connection is the one Redis client module's (fail fast while down).
 *
 * Limits high enough to lease (./lease.ts, docs/adr/0022-limiter-leases.md) are spent from
 * batches this process took in one round trip; low ones (5/min, a burst of a few, a quota of
 * 50/min) still take one admission per call, one round trip each: exact across processes.
 *
 * While Redis does not answer, calls are admitted (fail open, logged once per outage): a limiter
 * outage must not take every rate-limited function down with it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from '../../protocol/index.js';
import { redisFailure } from '../store/production/redis-words.js';
import { LeaseLedger, type Grant } from './lease.js';
import { GIVE, MINUTE_COUNT, TAKE } from './redis-scripts.js';
import { ADMITTED, type AdmissionLimiter, type Bucket, type LimitVerdict } from './types.js';

const SHAS = new Map<string, string>([TAKE, GIVE, MINUTE_COUNT].map((lua) => [lua, createHash('sha1').update(lua).digest('hex')]));

/**
 * The options of the limiter's own connection (on top of the one Redis client module's):
 * auto-pipelined, so the round trips of one event-loop turn are written to Redis at once (bench
 * section 11 measures the cost).
 */
export const LIMITER_CLIENT_OPTIONS = Object.freeze({ enableAutoPipelining: true });

export interface RedisLimiterOptions {
  client: Redis;
  /** Disconnect the client on close. */
  ownsClient?: boolean;
  prefix?: string;
  log?: (line: string) => void;
  /** How long leased admissions are held before the rest goes back (default lease.ts LEASE_WINDOW_MS, 100 ms). */
  leaseWindowMs?: number;
}

export class RedisLimiter implements AdmissionLimiter {
  private readonly client: Redis;
  private readonly keys: RedisKeys;
  private readonly log: (line: string) => void;
  private readonly leases: LeaseLedger;
  private failing = false;

  constructor(private readonly options: RedisLimiterOptions) {
    this.client = options.client;
    this.keys = redisKeys(options.prefix);
    this.log = options.log ?? (() => {});
    this.leases = new LeaseLedger(
      { take: (w, b, p, want) => this.take(w, b, p, want), give: (w, b, p, count, minute) => this.give(w, b, p, count, minute) },
      { ...(options.leaseWindowMs !== undefined ? { windowMs: options.leaseWindowMs } : {}) },
    );
  }

  admit(workspace: string, bucket: Bucket | null, perMinute: number | null): LimitVerdict | Promise<LimitVerdict> {
    return this.leases.admit(workspace, bucket, perMinute) ?? this.take(workspace, bucket, perMinute, 1).then((grant) => (grant.kind === 'verdict' ? grant.verdict : ADMITTED));
  }

  async minuteCount(workspace: string): Promise<number> {
    return Number(await this.run(MINUTE_COUNT, [this.keys.limits(workspace).minutePrefix], []));
  }

  async close(): Promise<void> {
    await this.leases.close();
    if (this.options.ownsClient) this.client.disconnect();
  }

  /** Up to `want` admissions from Redis; a refusal; or, while Redis does not answer, an admission. */
  private async take(workspace: string, bucket: Bucket | null, perMinute: number | null, want: number): Promise<Grant> {
    const keys = this.keys.limits(workspace);
    const args = [...bucketArgs(bucket), perMinute ?? 0, want];
    let reply: unknown;
    try {
      reply = await this.run(TAKE, [keys.bucket(bucket?.fn ?? '-'), keys.minutePrefix], args);
    } catch (err) {
      if (!this.failing) this.log(`limits: calls are admitted without their rate limits and quotas until Redis answers: ${redisFailure(this.client, err)}`);
      this.failing = true;
      return { kind: 'verdict', verdict: ADMITTED };
    }
    if (this.failing) this.log('limits: Redis answers again; rate limits and quotas apply');
    this.failing = false;
    const [verdict, a, b, c] = (reply as number[]).map(Number);
    if (verdict === 1) return { kind: 'verdict', verdict: { ok: false, reason: 'rate', retryAfterMs: a ?? 1000, used: 0 } };
    if (verdict === 2) return { kind: 'verdict', verdict: { ok: false, reason: 'quota', retryAfterMs: a ?? 1000, used: b ?? 0 } };
    return { kind: 'granted', count: a ?? 1, validMs: b ?? 0, minute: c ?? -1 };
  }

  private async give(workspace: string, bucket: Bucket | null, perMinute: number | null, count: number, minute: number): Promise<void> {
    const keys = this.keys.limits(workspace);
    await this.run(GIVE, [keys.bucket(bucket?.fn ?? '-'), keys.minutePrefix], [...bucketArgs(bucket), perMinute === null ? -1 : minute, count]);
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

const bucketArgs = (bucket: Bucket | null): (string | number)[] => (bucket === null ? ['0', 1, 1, 1] : ['1', bucket.requests, bucket.periodMs, bucket.burst]);
