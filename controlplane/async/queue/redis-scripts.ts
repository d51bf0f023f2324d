/**
 * The Lua scripts of the Redis queue. Each change is one script, so it is atomic: a claim can never
 * hand one entry to two consumers, a cancel never races a claim, an idempotency key and its job
 * are written together. Job hashes are named from run ids read inside the script (`prefix .. run`);
 * they share the queue's hash tag, so in Redis Cluster they live in the same slot as KEYS[1].
 *
 * Job hash fields: f function, p payload, a attempt, nb notBefore, eq enqueuedAt, b bornAt (the function's createdAt, as given), ik idempotency
 * key ('' for none), s state (delayed|ready|leased), e stream entry id, c consumer, d deliveries
 * of this attempt, t lease token (`<entry id>.<deliveries>`, new on every delivery), x '1' when
 * a cancel held the job (HOLD).
 *
 * The per-function index (for the metrics, read by STATS): a job that is not leased is a member
 * of its function's `waiting` sorted set, scored by the time it becomes ready; the function's
 * name is in the `waiting-fns` set. Enqueue and nack add, a claim and a cancel remove; a leased
 * job is counted from the consumer group's pending list instead.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const HELD = `
local function held(job, consumer, token)
  local v = redis.call('HMGET', job, 's', 'c', 't')
  return v[1] == 'leased' and v[2] == consumer and v[3] == token
end
`;

/**
 * KEYS stream, delayed, job, idempotency, waiting (of this function), waitingFunctions, idempotencyFingerprint.
 * ARGV runId, fn, payload, attempt, notBefore, now, idemKey|'', windowMs, fingerprint|'', bornAt|''.
 * The fingerprint lives in a key of its own beside the idempotency key (same TTL), so a process of
 * an older version still reads the run id where it always was. A repeat whose fingerprint differs
 * from the one kept answers {2, first run}; a key kept without one matches any repeat.
 */
export const ENQUEUE = `
if ARGV[7] ~= '' then
  local seen = redis.call('GET', KEYS[4])
  if seen then
    local fp = redis.call('GET', KEYS[7])
    if ARGV[9] ~= '' and fp and fp ~= ARGV[9] then return {2, seen} end
    return {0, seen}
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {-1, ARGV[1]} end
redis.call('HSET', KEYS[3], 'f', ARGV[2], 'p', ARGV[3], 'a', ARGV[4], 'nb', ARGV[5], 'eq', ARGV[6], 'ik', ARGV[7], 'd', 0)
if ARGV[10] and ARGV[10] ~= '' then redis.call('HSET', KEYS[3], 'b', ARGV[10]) end
if tonumber(ARGV[5]) > tonumber(ARGV[6]) then
  redis.call('HSET', KEYS[3], 's', 'delayed')
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
else
  local id = redis.call('XADD', KEYS[1], '*', 'r', ARGV[1])
  redis.call('HSET', KEYS[3], 's', 'ready', 'e', id)
  redis.call('ZADD', KEYS[5], ARGV[6], ARGV[1])
end
redis.call('SADD', KEYS[6], ARGV[2])
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[8])
  if ARGV[9] ~= '' then redis.call('SET', KEYS[7], ARGV[9], 'PX', ARGV[8]) end
end
return {1, ARGV[1]}
`;

/**
 * KEYS stream, delayed. ARGV group, consumer, max, leaseMs, now, jobPrefix, waitingPrefix,
 * skipped... (`w:<workspace>` and `f:<function key>`). Moves due delayed jobs into the stream,
 * takes over entries idle longer than the lease (XAUTOCLAIM: a dead consumer's work), then reads
 * new entries (XREADGROUP). Returns {{runId, token, {hash fields...}}...}. Entries whose job is
 * gone or moved on are acked away. An entry of a skipped workspace (a key is `name` in `default`,
 * else `name.workspace`) or function goes back to the stream's end as a new entry, the job
 * unchanged (same attempt; ready, a dead consumer's too): up to SKIP_SCAN new ones per claim, so a
 * claim finds another's job behind many.
 */
export const CLAIM = `
local SKIP_SCAN = 500
local stream, delayed, group, consumer = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local max, prefix, waiting = tonumber(ARGV[3]), ARGV[6], ARGV[7]
local skip = {}
for i = 8, #ARGV do skip[ARGV[i]] = true end
local function skipped(id, fields)
  if not fields or next(skip) == nil then return false end
  local job = prefix .. fields[2]
  if redis.call('HGET', job, 'e') ~= id then return false end
  local fn = redis.call('HGET', job, 'f') or ''
  if not skip['w:' .. (string.match(fn, '%.(.+)$') or 'default')] and not skip['f:' .. fn] then return false end
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
  redis.call('HSET', job, 'e', redis.call('XADD', stream, '*', 'r', fields[2]))
  if redis.call('HGET', job, 's') == 'leased' then
    -- a dead consumer's lease, taken over: the job is ready again, for whoever claims it next
    redis.call('HDEL', job, 'c', 't')
    redis.call('HSET', job, 's', 'ready')
    redis.call('ZADD', waiting .. fn, ARGV[5], fields[2])
  end
  return true
end
for _, run in ipairs(redis.call('ZRANGEBYSCORE', delayed, '-inf', ARGV[5], 'LIMIT', 0, 1000)) do
  redis.call('ZREM', delayed, run)
  if redis.call('EXISTS', prefix .. run) == 1 then
    local id = redis.call('XADD', stream, '*', 'r', run)
    redis.call('HSET', prefix .. run, 's', 'ready', 'e', id)
  end
end
local out = {}
local function take(id, fields)
  if not fields then return end
  local job = prefix .. fields[2]
  if redis.call('HGET', job, 'e') ~= id then
    redis.call('XACK', stream, group, id)
    redis.call('XDEL', stream, id)
    return
  end
  local token = id .. '.' .. redis.call('HINCRBY', job, 'd', 1)
  redis.call('HSET', job, 's', 'leased', 'c', consumer, 't', token)
  redis.call('ZREM', waiting .. redis.call('HGET', job, 'f'), fields[2])
  out[#out + 1] = {fields[2], token, redis.call('HGETALL', job)}
end
local cursor = '0-0'
for _ = 1, 10 do
  if #out >= max then break end
  local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[4], cursor, 'COUNT', max - #out)
  cursor = r[1]
  for _, e in ipairs(r[2]) do
    if not skipped(e[1], e[2]) then take(e[1], e[2]) end
  end
  if cursor == '0-0' then break end
end
local passed = 0
for _ = 1, 10 + SKIP_SCAN do
  if #out >= max or passed >= SKIP_SCAN then break end
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - #out, 'STREAMS', stream, '>')
  if not r then break end
  for _, e in ipairs(r[1][2]) do
    if skipped(e[1], e[2]) then passed = passed + 1 else take(e[1], e[2]) end
  end
end
return out
`;

/** KEYS stream, job. ARGV group, consumer, token. 1 = acked, 0 = lease lost. */
export const ACK = `${HELD}
if not held(KEYS[2], ARGV[2], ARGV[3]) then return 0 end
local id = redis.call('HGET', KEYS[2], 'e')
redis.call('XACK', KEYS[1], ARGV[1], id)
redis.call('XDEL', KEYS[1], id)
redis.call('DEL', KEYS[2])
return 1
`;

/** KEYS stream, delayed, job, waitingFunctions. ARGV group, consumer, token, notBefore, now, runId, waitingPrefix. */
export const NACK = `${HELD}
if not held(KEYS[3], ARGV[2], ARGV[3]) then return 0 end
local id = redis.call('HGET', KEYS[3], 'e')
local fn = redis.call('HGET', KEYS[3], 'f')
redis.call('XACK', KEYS[1], ARGV[1], id)
redis.call('XDEL', KEYS[1], id)
redis.call('HINCRBY', KEYS[3], 'a', 1)
redis.call('HDEL', KEYS[3], 'c', 't', 'e')
redis.call('HSET', KEYS[3], 'nb', ARGV[4], 'd', 0)
if tonumber(ARGV[4]) > tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[3], 's', 'delayed')
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6])
  redis.call('ZADD', ARGV[7] .. fn, ARGV[4], ARGV[6])
else
  local nid = redis.call('XADD', KEYS[1], '*', 'r', ARGV[6])
  redis.call('HSET', KEYS[3], 's', 'ready', 'e', nid)
  redis.call('ZADD', ARGV[7] .. fn, ARGV[5], ARGV[6])
end
redis.call('SADD', KEYS[4], fn)
return 1
`;

/** KEYS stream, job. ARGV group, consumer, token. XCLAIM … JUSTID resets the entry's idle time. */
export const EXTEND = `${HELD}
if not held(KEYS[2], ARGV[2], ARGV[3]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, redis.call('HGET', KEYS[2], 'e'), 'JUSTID')
return 1
`;

/** KEYS stream, job, dead, deadIndex. ARGV group, consumer, token, runId, reason, now. */
export const DEAD_LETTER = `${HELD}
if not held(KEYS[2], ARGV[2], ARGV[3]) then return 0 end
local v = redis.call('HMGET', KEYS[2], 'f', 'p', 'a', 'eq', 'ik', 'e')
redis.call('XACK', KEYS[1], ARGV[1], v[6])
redis.call('XDEL', KEYS[1], v[6])
local old = redis.call('HGET', KEYS[4], ARGV[4])
if old then redis.call('XDEL', KEYS[3], old) end
local did = redis.call('XADD', KEYS[3], '*', 'r', ARGV[4], 'f', v[1], 'p', v[2], 'a', v[3], 'eq', v[4], 'ik', v[5], 'why', ARGV[5], 'at', ARGV[6])
redis.call('HSET', KEYS[4], ARGV[4], did)
redis.call('DEL', KEYS[2])
return 1
`;

/** KEYS stream, delayed, job. ARGV runId, waitingPrefix. */
export const CANCEL = `
local v = redis.call('HMGET', KEYS[3], 's', 'e', 'f')
if not v[1] then return 'not_found' end
if v[1] == 'leased' then return 'leased' end
if v[1] == 'delayed' then redis.call('ZREM', KEYS[2], ARGV[1]) else redis.call('XDEL', KEYS[1], v[2]) end
redis.call('ZREM', ARGV[2] .. v[3], ARGV[1])
redis.call('DEL', KEYS[3])
return 'cancelled'
`;

/**
 * KEYS stream, delayed, job. ARGV runId, waitingPrefix, until. A job not leased is delayed to
 * `until` and marked `x` (a cancel under way): a claim then hands it out with that mark.
 */
export const HOLD = `
local v = redis.call('HMGET', KEYS[3], 's', 'e', 'f')
if not v[1] then return 'not_found' end
if v[1] == 'leased' then return 'leased' end
if v[1] ~= 'delayed' and v[2] then redis.call('XDEL', KEYS[1], v[2]) end
redis.call('HDEL', KEYS[3], 'e')
redis.call('HSET', KEYS[3], 's', 'delayed', 'nb', ARGV[3], 'x', '1')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', ARGV[2] .. v[3], ARGV[3], ARGV[1])
return 'cancelled'
`;

/**
 * KEYS stream, waitingFunctions. ARGV group, now, jobPrefix, waitingPrefix, maxLeased.
 * Per function: {fn, ready, delayed, leased, oldest ready score or ''}. Ready and delayed come
 * from the function's `waiting` set (a due delayed job counts as ready, as in jobInfo); leased
 * from the group's pending list (at most maxLeased entries: leases are bounded by the
 * dispatchers' concurrency). A function whose set is empty leaves `waitingFunctions`.
 */
export const STATS = `
local now, jobs, waiting = ARGV[2], ARGV[3], ARGV[4]
local byFn, out = {}, {}
local function entry(fn)
  local e = byFn[fn]
  if not e then
    e = {fn, 0, 0, 0, ''}
    byFn[fn] = e
    out[#out + 1] = e
  end
  return e
end
for _, fn in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = waiting .. fn
  local total = redis.call('ZCARD', key)
  if total == 0 then
    redis.call('SREM', KEYS[2], fn)
  else
    local e = entry(fn)
    e[2] = redis.call('ZCOUNT', key, '-inf', now)
    e[3] = total - e[2]
    if e[2] > 0 then e[5] = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2] end
  end
end
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', ARGV[5])) do
  local found = redis.call('XRANGE', KEYS[1], p[1], p[1])[1]
  if found then
    local fn = redis.call('HGET', jobs .. found[2][2], 'f')
    if fn then
      local e = entry(fn)
      e[4] = e[4] + 1
    end
  end
end
return out
`;

/**
 * Whether an error is Redis's error reply with this code (`NOGROUP`, `BUSYGROUP`, `NOSCRIPT`…).
 * Redis puts the code first; from inside a script, Redis 7 keeps it first and Redis 6.2 puts it
 * after `ERR Error running script (…): @user_script:N: `.
 */
/**
 * A Redis that answered but refused the write, in plain words a caller may see (reliability round
 * 10): at `maxmemory` with `noeviction` every write fails `OOM`, and a MULTI with such a write fails
 * `EXECABORT` (the cause in ioredis's `previousErrors`). Those were reported as "could not be
 * reached or did not answer in time", which sent operators to the network instead of memory.
 * Null for anything else (a timeout, a closed connection: the driver's words stay out).
 */
export function redisRefusal(err: unknown): string | null {
  const previous = (err as { previousErrors?: unknown } | null)?.previousErrors;
  if (Array.isArray(previous) && isRedisError(err, 'EXECABORT')) {
    for (const e of previous) {
      const words = redisRefusal(e);
      if (words !== null) return words;
    }
    return null;
  }
  if (isRedisError(err, 'OOM')) return "Redis is out of memory (maxmemory) and refuses writes";
  if (isRedisError(err, 'MISCONF')) return 'Redis refuses writes because it cannot save its data';
  if (isRedisError(err, 'READONLY')) return 'Redis is a read-only replica and refuses writes';
  return null;
}

export function isRedisError(err: unknown, code: string): boolean {
  const message = err instanceof Error ? err.message : '';
  return message.startsWith(`${code} `) || (message.startsWith('ERR Error running script') && message.includes(`: ${code} `));
}

/** A script run by EVALSHA, sent whole (EVAL) only when Redis does not have it (first use, after a restart). */
export class LuaScript {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Redis, keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // NOSCRIPT = not in its script cache (first use, or Redis restarted).
      if (!isRedisError(err, 'NOSCRIPT')) throw err;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }

  /** The same, with bulk replies as Buffers (for payloads). */
  async runBuffer(client: Redis, keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await client.callBuffer('EVALSHA', this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isRedisError(err, 'NOSCRIPT')) throw err;
      return client.callBuffer('EVAL', this.lua, keys.length, ...keys, ...args);
    }
  }
}
