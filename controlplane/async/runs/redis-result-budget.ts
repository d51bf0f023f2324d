/**
 * A workspace's budget of kept async results in Redis (ADR 0250): which results it holds, by
 * acceptance time, and their sizes, in two keys of the workspace's slot:
 *
 *   <p>:v1:async-results:ws:{<ws>}        sorted set: runs with a kept result, by acceptance time
 *   <p>:v1:async-results:ws:{<ws>}:bytes  hash: each run's kept bytes, and `~` their total
 *
 * One script counts a result in and picks the oldest past the budget; another empties each of those
 * on its run's own slot (a run's keys share a Cluster slot, a workspace's another one). Entries
 * accepted before the retention leave the count as they are met (their runs expired with it).
 */
import type { Redis } from 'ioredis';
import { REDIS_KEY_VERSION } from '../../../protocol/index.js';
import { LuaScript } from '../queue/index.js';
import { droppedHeadersJson, type ResultBudget } from './runs-sqlite.js';

/** KEYS: set, bytes. ARGV: runId, acceptedAt, size, budget, oldest kept acceptance, ttl ms. Returns {runId, size, …} to drop. */
const COUNT_IN = new LuaScript(`
local set, bytes = KEYS[1], KEYS[2]
local gone = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. ARGV[5], 'LIMIT', 0, 500)
for _, id in ipairs(gone) do
  redis.call('HINCRBY', bytes, '~', -tonumber(redis.call('HGET', bytes, id) or '0'))
  redis.call('HDEL', bytes, id)
  redis.call('ZREM', set, id)
end
local before = tonumber(redis.call('HGET', bytes, ARGV[1]) or '0')
redis.call('HSET', bytes, ARGV[1], ARGV[3])
redis.call('ZADD', set, ARGV[2], ARGV[1])
local total = redis.call('HINCRBY', bytes, '~', tonumber(ARGV[3]) - before)
local budget = tonumber(ARGV[4])
local out = {}
while total > budget do
  local first = redis.call('ZRANGE', set, 0, 0)
  if #first == 0 then break end
  local id = first[1]
  local n = tonumber(redis.call('HGET', bytes, id) or '0')
  redis.call('ZREM', set, id)
  redis.call('HDEL', bytes, id)
  total = redis.call('HINCRBY', bytes, '~', -n)
  out[#out + 1] = id
  out[#out + 1] = tostring(n)
end
redis.call('PEXPIRE', set, ARGV[6])
redis.call('PEXPIRE', bytes, ARGV[6])
return out
`);

/** KEYS: the run's info hash. ARGV: the dropped marker's headers. Empties a kept result, never makes a gone run's key again. */
const DROP = new LuaScript(`
if redis.call('HEXISTS', KEYS[1], 'rs') == 1 then
  redis.call('HSET', KEYS[1], 'rb', '', 'rh', ARGV[1])
end
return 0
`);

function budgetKeys(prefix: string, workspace: string): [string, string] {
  const set = `${prefix}:${REDIS_KEY_VERSION}:async-results:ws:{${workspace}}`;
  return [set, `${set}:bytes`];
}

/**
 * Counts `size` bytes of `runId`'s result (replacing what an earlier attempt's counted) against its
 * workspace's budget, and drops the oldest accepted results past it (the run's own among them when it
 * alone is over). `infoKey` names a run's info hash.
 */
export async function keepWithinBudget(client: Redis, o: { prefix: string; ttlMs: number; infoKey: (runId: string) => string },
  run: { runId: string; acceptedAt: number; size: number }, budget: ResultBudget): Promise<void> {
  const picked = await COUNT_IN.run(client, budgetKeys(o.prefix, budget.workspace),
    [run.runId, run.acceptedAt, run.size, budget.bytes, Date.now() - o.ttlMs, o.ttlMs]) as string[];
  for (let i = 0; i + 1 < picked.length; i += 2) await DROP.run(client, [o.infoKey(picked[i]!)], [droppedHeadersJson(Number(picked[i + 1]))]);
}
