/**
 * Production TickLock and ReplayGuard in Redis: one `SET key 1 NX PX ttl` each, so the first
 * caller wins atomically and the key expires by itself. Keys: protocol/redis-keys.ts (`trigger`).
 * A Redis error becomes TRIGGER_UNAVAILABLE: the tick is skipped, the webhook answered 503.
 */
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from '../../../protocol/index.js';
import { redisRefusal } from '../queue/index.js';
import { TriggerError } from './errors.js';
import { DEFAULT_TICK_LOCK_TTL_MS } from './locks.js';
import type { ReplayGuard, TickLock, TickNote, TriggerRef } from './types.js';

export interface RedisTriggerOptions {
  /** A client from `connectRedis` (controlplane/store/production/redis-client.ts); closed by `close` when `ownsClient`. */
  client: Redis;
  ownsClient?: boolean;
  /** Key prefix (default `fp`). */
  prefix?: string;
}

async function setNx(client: Redis, key: string, ttlMs: number): Promise<boolean> {
  try {
    return (await client.set(key, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  } catch (err) {
    throw unavailable(err);
  }
}

/** A plain message: it reaches a webhook's caller (the driver's words never do; a refusal's plain words do). */
function unavailable(err: unknown): TriggerError {
  return new TriggerError('TRIGGER_UNAVAILABLE', redisRefusal(err) ?? 'Redis could not be reached or did not answer in time');
}

async function closeClient(options: RedisTriggerOptions): Promise<void> {
  if (options.ownsClient) options.client.disconnect();
}

const SETTLED = '2';

/** Claims a tick (KEYS[1], SET NX PX ARGV[2]) and, won, moves the note's (KEYS[2]) `tick` up to ARGV[1] (ADR 0238). */
const CLAIM = `if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[2], 'NX') then return 0 end
local t = tonumber(redis.call('HGET', KEYS[2], 'tick'))
if not t or t < tonumber(ARGV[1]) then redis.call('HSET', KEYS[2], 'tick', ARGV[1]) end
return 1`;
/**
 * Records ARGV[2] missed ticks, the last at ARGV[1], in the note (KEYS[1]). ARGV[3] given (an
 * outage's summary): only while its \`tick\` is ARGV[3], then moved to ARGV[1]. Answers 1 when recorded.
 */
const MISSED = `local t = tonumber(redis.call('HGET', KEYS[1], 'tick'))
if ARGV[3] ~= '' and t ~= tonumber(ARGV[3]) then return 0 end
local last = tonumber(ARGV[1])
if not t or t < last then redis.call('HSET', KEYS[1], 'tick', ARGV[1]) end
local m = tonumber(redis.call('HGET', KEYS[1], 'missedAt'))
if not m or m < last then redis.call('HSET', KEYS[1], 'missedAt', ARGV[1]) end
redis.call('HINCRBY', KEYS[1], 'missed', ARGV[2])
return 1`;

/** Moves the note's (KEYS[1]) \`tick\` up to ARGV[1], only where the note exists (a trigger set on a running scheduler). */
const ARMED = `local t = tonumber(redis.call('HGET', KEYS[1], 'tick'))
if t and t < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'tick', ARGV[1]) end
return 1`;

async function asked<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw unavailable(err);
  }
}

/** Ticks are remembered for `ttlMs` (default 10 min), which must exceed the clock skew between schedulers. */
export function redisTickLock(options: RedisTriggerOptions & { ttlMs?: number }): TickLock {
  const keys: RedisKeys = redisKeys(options.prefix);
  const ttlMs = options.ttlMs ?? DEFAULT_TICK_LOCK_TTL_MS;
  const key = (ref: TriggerRef, tickMs: number): string => keys.trigger(ref.function, ref.triggerId).tick(tickMs);
  const note = (ref: TriggerRef): string => keys.trigger(ref.function, ref.triggerId).note;
  const { client } = options;
  return {
    acquire: (ref, tickMs) => asked(async () => await client.eval(CLAIM, 2, key(ref, tickMs), note(ref), tickMs, Math.max(1, Math.ceil(ttlMs))) === 1),
    note: (ref) => asked(async (): Promise<TickNote | null> => {
      const h = await client.hgetall(note(ref));
      if (h['tick'] === undefined) return null;
      return { lastTickMs: Number(h['tick']), lastMissedMs: h['missedAt'] === undefined ? null : Number(h['missedAt']), missedSinceFired: Number(h['missed'] ?? 0) };
    }),
    noteFired: (ref) => asked(async () => void await client.hset(note(ref), 'missed', 0)),
    noteMissed: (ref, lastMs, count, fromTickMs) => asked(async () => await client.eval(MISSED, 1, note(ref), lastMs, count, fromTickMs ?? '') === 1),
    noteArmed: (ref, atMs) => asked(async () => void await client.eval(ARMED, 1, note(ref), atMs)),
    // A claim holds `1`, a settled one `2` (ADR 0264); XX: a claim gone (expired) stays gone.
    async settle(ref, tickMs) {
      try {
        await options.client.set(key(ref, tickMs), SETTLED, 'PX', ttlMs, 'XX');
      } catch (err) {
        throw unavailable(err);
      }
    },
    async unsettled(ref, ticks) {
      if (ticks.length === 0) return [];
      let values: (string | null)[];
      try {
        values = await options.client.mget(ticks.map((t) => key(ref, t)));
      } catch (err) {
        throw unavailable(err);
      }
      return ticks.filter((_t, i) => values[i] === '1');
    },
    close: () => closeClient(options),
  };
}

export function redisReplayGuard(options: RedisTriggerOptions): ReplayGuard {
  const keys: RedisKeys = redisKeys(options.prefix);
  return {
    firstSeen: (ref, key, ttlMs) => setNx(options.client, keys.trigger(ref.function, ref.triggerId).seen(key), ttlMs),
    async forget(ref, key) {
      try {
        await options.client.del(keys.trigger(ref.function, ref.triggerId).seen(key));
      } catch (err) {
        throw unavailable(err);
      }
    },
    close: () => closeClient(options),
  };
}
