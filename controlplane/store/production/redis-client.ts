/**
 * The one place Redis connections are made (ioredis). Every production part that talks to Redis —
 * HotMetrics, the config bus, the async queue, run timelines and index, tick locks, the webhook
 * replay guard, the persistence watch — gets its client here, with the options decided once:
 *
 * - `enableOfflineQueue: false` — while the connection is down a command fails at once instead of
 *   waiting in memory. Every caller has a better answer than waiting: the recorders keep their
 *   records and retry (recorder.ts), the async intake answers 503 at once, the dispatcher claims
 *   again at its next poll, a tick lock skips the tick.
 * - `maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands: false` — a command in flight when
 *   the connection drops fails right then, and is never sent again behind its caller's back after
 *   the reconnect (a caller that was told "failed", e.g. a 503 to an async call, must not find the
 *   command applied later). Whether it reached Redis before the drop is unknown, as for any
 *   timeout: writers make a retry harmless (batch ids, run ids).
 * - `connectTimeout`, `commandTimeout` 2 s — a Redis that accepts connections but does not answer
 *   (paused, overloaded) fails commands after 2 s instead of hanging their callers.
 * - `retryStrategy` — reconnect forever, 50 ms doubling to at most 1 s: once Redis is back, every
 *   client is within a second of it.
 * - `socketTimeout` (the command timeout plus 3 s: 5 s) — a connection that has had commands
 *   waiting and no byte back for that long is dropped and made again. After a network partition
 *   heals, a connection that had data in flight stays in TCP's retransmission back-off (tens of
 *   seconds), and a command timeout alone never closes it: async intake and cron ticks stayed down
 *   about 19 s after the link was back, while a new connection works at once (reliability round 10).
 *   Clients with a longer command timeout (the live log reader's XREAD BLOCK) get theirs plus 3 s;
 *   the subscriber, which has none, gets none.
 * - the ready check stays on (ioredis default): a Redis still loading its AOF or snapshot is not
 *   "ready" yet, so nothing is written into a half-loaded data set.
 *
 * The config bus's subscriber is the one exception (`connectRedisSubscriber`): SUBSCRIBE must
 * wait for the connection and is sent again on every reconnect.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { clientAddress, whyNotReady } from './redis-words.js';

/** Reconnect delay after the n-th failed attempt: 100 ms, 200 ms, 400 ms, 800 ms, then 1 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 5), 1000);
}

/** The options every client starts from (see above for why each). */
export const REDIS_CLIENT_OPTIONS: Readonly<RedisOptions> = Object.freeze({
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 2000,
  commandTimeout: 2000,
  retryStrategy: reconnectDelayMs,
});

/** How much longer than its command timeout a connection may stay silent with commands waiting. */
const SOCKET_GRACE_MS = 3000;

/** A client that fails fast while disconnected and reconnects forever in the background. */
export function connectRedis(url: string, overrides: RedisOptions = {}): Redis {
  const options = { ...REDIS_CLIENT_OPTIONS, ...overrides };
  if (!('socketTimeout' in overrides) && options.commandTimeout !== undefined) options.socketTimeout = options.commandTimeout + SOCKET_GRACE_MS;
  const client = new Redis(url, options);
  // Connection errors surface on each command; without a listener ioredis would print every one.
  client.on('error', () => {});
  return client;
}

/** The config bus's subscriber: commands wait for the connection; subscriptions are renewed on reconnect. */
export function connectRedisSubscriber(url: string): Redis {
  return connectRedis(url, { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResendUnfulfilledCommands: true, commandTimeout: undefined });
}

/**
 * Resolves once the client is connected and ready, or rejects after `timeoutMs` with what stopped
 * it, in words an operator can act on (refused, wrong or missing password, no such host), naming
 * the server by address only: never its password.
 */
export function redisReady(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let last: Error | null = null;
    const onError = (err: Error): void => {
      last = err;
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      client.off('error', onError);
      reject(new Error(`Redis at ${clientAddress(client)} did not become ready within ${timeoutMs} ms: ${whyNotReady(last)}`, last === null ? undefined : { cause: last }));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      client.off('error', onError);
      resolve();
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
}

/** A client that answered, or the error (and no connection left behind): for parts opened at start. */
export async function openRedis(url: string, timeoutMs = 5000, overrides: RedisOptions = {}): Promise<Redis> {
  const client = connectRedis(url, overrides);
  try {
    await redisReady(client, timeoutMs);
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

/** The URL without its credentials, for log lines: `redis://host:port/db`. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis (unparsable URL)';
  }
}
