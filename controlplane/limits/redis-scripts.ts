/**
 * The production limiter's Lua scripts (./redis.ts; docs/adr/0022-limiter-leases.md). Both read
 * Redis's clock (`TIME`). KEYS are the function's bucket hash and the workspace's minute counter
 * prefix (the minute is appended here; same hash tag); the bucket refills continuously,
 * `requests / periodMs` tokens a millisecond up to `burst`, like the embedded limiter.
 */

/**
 * Takes up to `want` admissions: tokens of the bucket and calls of this minute, as many of each,
 * or none of either. ARGV hasBucket (0|1), requests, periodMs, burst, perMinute (0: none), want.
 * Returns {0, count, msLeftInMinute, minute} taken, {1, retryAfterMs} rate, {2, retryAfterMs, used} quota.
 */
export const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minute = math.floor(now / 60000)
local want = tonumber(ARGV[6])
local tokens = 0
if ARGV[1] == '1' then
  local requests, period, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local held = redis.call('HMGET', KEYS[1], 't', 'ts')
  local ts
  tokens, ts = tonumber(held[1]), tonumber(held[2])
  if tokens == nil or ts == nil then tokens = burst; ts = now end
  -- Redis's clock stepped back since the last take: refill from now, not once the clock is back (chaos round 9).
  if now < ts then ts = now; redis.call('HSET', KEYS[1], 'ts', now) end
  if now > ts then tokens = tokens + (now - ts) * requests / period end
  if tokens > burst then tokens = burst end
  if tokens < 1 then return {1, math.ceil((1 - tokens) * period / requests)} end
  if want > math.floor(tokens) then want = math.floor(tokens) end
end
local limit = tonumber(ARGV[5])
if limit > 0 then
  local key = KEYS[2] .. minute
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= limit then return {2, (minute + 1) * 60000 - now, used} end
  if want > limit - used then want = limit - used end
  redis.call('INCRBY', key, want)
  redis.call('PEXPIRE', key, 120000)
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens - want), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) * tonumber(ARGV[3]) / tonumber(ARGV[2])) + 1000)
end
return {0, want, (minute + 1) * 60000 - now, minute}
`;

/**
 * Gives back `count` unspent admissions: tokens to the bucket (up to its burst; a bucket whose
 * key expired is full already), calls to the minute counter if `minute` is still this minute.
 * ARGV hasBucket (0|1), requests, periodMs, burst, minute (-1: no quota), count.
 */
export const GIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local count = tonumber(ARGV[6])
if ARGV[1] == '1' then
  local requests, period, burst = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local held = redis.call('HMGET', KEYS[1], 't', 'ts')
  local tokens, ts = tonumber(held[1]), tonumber(held[2])
  if tokens ~= nil and ts ~= nil then
    if now > ts then tokens = tokens + (now - ts) * requests / period; ts = now end
    tokens = tokens + count
    if tokens > burst then tokens = burst end
    redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', ts)
  end
end
local minute = tonumber(ARGV[5])
if minute >= 0 and minute == math.floor(now / 60000) then
  local key = KEYS[2] .. minute
  local used = tonumber(redis.call('GET', key) or '0')
  if used > 0 then redis.call('DECRBY', key, math.min(count, used)) end
end
return 0
`;

/** KEYS minute counter prefix → this minute's count (Redis's clock). */
export const MINUTE_COUNT = `
local t = redis.call('TIME')
return tonumber(redis.call('GET', KEYS[1] .. math.floor(tonumber(t[1]) / 60)) or '0')
`;
