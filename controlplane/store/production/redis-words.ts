/**
 * Redis failures in an operator's words (the server by address, never its password; what went
 * wrong instead of ioredis's own phrases; what to check). Apart from redis-client.ts, with only
 * type imports of ioredis: the limiter and the live log feed use it, and the embedded default
 * loads their modules without loading the Redis driver (test/integration: openAdapters, embedded).
 */
import type { Redis } from 'ioredis';

/** The last connection error in plain words, with the server's own reply or the system code. */
export function whyNotReady(err: Error | null): string {
  if (err === null) return 'no answer (is it loading its data, or is the address a server that does not speak Redis?)';
  const message = err.message;
  const code = (err as { code?: unknown }).code;
  if (message.startsWith('WRONGPASS')) return `it refused the user name or password in the URL (${firstLine(message)})`;
  if (message.startsWith('NOAUTH')) return `it requires a password and the URL has none (${firstLine(message)})`;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  // A Unix socket that is not there (new-user round 5: ioredis's "connect ENOENT <path>" alone).
  if (code === 'ENOENT') return 'no socket at that path: is Redis running? It makes its socket when it starts';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (code === 'ETIMEDOUT' || message === 'connect ETIMEDOUT') return 'the connection timed out';
  return firstLine(message);
}

/**
 * A Redis command's failure, for an operator's log line: the server by address (never its
 * password), what went wrong in plain words instead of ioredis's ("Connection is closed.",
 * "MaxRetriesPerRequestError: Reached the max retries per request limit…"), and what to check.
 */
export function redisFailure(client: Redis, err: unknown): string {
  return `Redis at ${clientAddress(client)} ${whyFailed(err)}; check that it runs and answers at FP_REDIS_URL`;
}

/**
 * ioredis's own phrase for a command refused while the client is cut off from Redis, in plain
 * words; null for any other error. The dispatcher's and the run sink's log lines read "Stream
 * isn't writeable and enableOfflineQueue options is false" through a Redis outage (chaos round 1).
 */
export function redisOffline(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  if (err.message === 'Connection is closed.' || err.message.startsWith("Stream isn't writeable")) return 'is not connected (the client is reconnecting)';
  if (err.name === 'MaxRetriesPerRequestError') return 'did not answer while the client reconnected several times';
  return null;
}

function whyFailed(err: unknown): string {
  if (!(err instanceof Error)) return `failed (${String(err)})`;
  const message = err.message;
  const offline = redisOffline(err);
  if (offline !== null) return offline;
  if (message === 'Command timed out') return 'did not answer a command in time';
  if (message.startsWith('LOADING')) return 'is loading its data and answers nothing yet';
  if (message.startsWith('READONLY')) return 'is a read-only replica (FP_REDIS_URL must name the primary)';
  if (message.startsWith('OOM')) return 'is out of memory (maxmemory) and refuses writes';
  if (message.startsWith('MISCONF')) return 'refuses writes because it cannot save its data (see its own log)';
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return whyNotReady(err);
  return `answered: ${firstLine(message)}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** host:port (or the socket path) and db of a client, without credentials. */
export function clientAddress(client: Redis): string {
  const { host, port, path, db } = client.options;
  // A Unix socket as the banner names it (`unix:<path>`): it read `redis:////run/…/redis.sock` (new-user round 5).
  if (path !== undefined && path !== null && path !== '') return `unix:${path.replace(/^\/+/, '/')}${db !== undefined && db !== 0 ? ` (db ${db})` : ''}`;
  return `redis://${host ?? '127.0.0.1'}:${port ?? 6379}${db !== undefined && db !== 0 ? `/${db}` : ''}`;
}

