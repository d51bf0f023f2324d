/**
 * Driver failures at the adapter's edge: "no MongoDB server answered" (network errors, server
 * selection timeouts, a closed topology) becomes StoreError STORE_UNAVAILABLE with a plain message,
 * so the API answers 503 with a stable code and never the driver's own words. The driver's error
 * stays as the `cause` (for logs). Matched by the driver's classes: they are thrown in this process,
 * by the driver this adapter loaded, and carry no stable code of their own for "unreachable".
 *
 * FerretDB on PostgreSQL (the backend the README names for production volumes) answers while
 * its PostgreSQL is down or restarting: each command fails with InternalError (code 1) saying it
 * could not reach PostgreSQL (`failed to connect to …`, SQLSTATE class 08 or 57P0x). Those are the
 * store being unreachable too. Before (ops round 3) they went through as the server's error: a
 * PostgreSQL restart answered webhook deliveries and API calls 500 INTERNAL_ERROR, with a stack in
 * the log per request, where a MongoDB that is down answers 503 STORE_UNAVAILABLE.
 */
import { MongoNetworkError, MongoServerError, MongoNotConnectedError, MongoOperationTimeoutError, MongoServerClosedError, MongoSystemError, MongoTopologyClosedError } from 'mongodb';
import { isStoreError, StoreError } from '../errors.js';
import type { StoreHealth } from './health.js';

const UNREACHABLE = [MongoNetworkError, MongoSystemError, MongoNotConnectedError, MongoOperationTimeoutError, MongoServerClosedError, MongoTopologyClosedError];

/** FerretDB's words for "PostgreSQL could not be reached" (pgx's connect failure; SQLSTATE connection_exception, too many connections, admin/crash shutdown, cannot connect now). */
const BACKEND_UNREACHABLE = /failed to connect to `|\(SQLSTATE (?:08[0-9A-Z]{3}|53300|57P0[1-3])\)/;
/**
 * pgx's words for a connection to PostgreSQL that broke under a command (PostgreSQL killed or
 * restarted `-m immediate` while FerretDB's command ran on it): `… unexpected EOF`, `conn closed`,
 * a reset or broken pipe. Chaos round 3: not matched, such a command went through as the server's
 * error (`pruning runs failed: [msg_collstats.go:113 handler.(*Handler).MsgCollStats] … unexpected
 * EOF` in the log; an API call then would answer 500 INTERNAL_ERROR, not 503).
 */
const BACKEND_CUT_OFF = /unexpected EOF|conn closed|connection reset by peer|broken pipe/;

/**
 * What failed, in words a caller may see and an operator can act on: the service that failed and
 * what it refused, never its address, user or FerretDB's stack (those stay in the `cause`). Before
 * (reliability round 10) every case said "the store (MongoDB) did not answer", also when FerretDB
 * answered and its PostgreSQL had refused the connection at its `max_connections`: an operator
 * looked at a MongoDB that was not there. The fix for each: docs/errors.md, STORE_UNAVAILABLE.
 */
function backendWords(message: string): string {
  if (message.includes('(SQLSTATE 53300)')) return "the store's PostgreSQL (behind FerretDB) refused a connection: its connection limit (max_connections) is reached; try again shortly";
  if (/\(SQLSTATE 57P0[1-3]\)/.test(message)) return "the store's PostgreSQL (behind FerretDB) is shutting down or starting up; try again shortly";
  if (!message.includes('failed to connect to `') && BACKEND_CUT_OFF.test(message)) return "the store's PostgreSQL (behind FerretDB) closed its connection during a command (restarted or stopped); try again shortly";
  return "the store's PostgreSQL (behind FerretDB) could not be reached; try again shortly";
}

/**
 * FerretDB's SQLite backend gave up waiting for its database's one write lock (`busy_timeout`,
 * 10 s by default). On that backend every update or delete by `_id` scans the collection inside its
 * write transaction (FerretDB's statement does not match its own `_id` index: docs/stores.md), and
 * SQLite's busy wait is not a queue, so under steady writes one can wait past the timeout (ops
 * round 4). Nothing of that write was kept; it went through as InternalError: 500 with FerretDB's
 * stack in the log, per request.
 */
const SQLITE_BUSY = /database is locked|\(SQLITE_BUSY\)/;

function translate(err: unknown): unknown {
  if (err instanceof MongoServerError && err.code === 1 && (BACKEND_UNREACHABLE.test(err.message) || BACKEND_CUT_OFF.test(err.message))) {
    return new StoreError('STORE_UNAVAILABLE', backendWords(err.message), {}, err);
  }
  if (err instanceof MongoServerError && err.code === 1 && SQLITE_BUSY.test(err.message)) {
    return new StoreError('STORE_UNAVAILABLE', "the store's FerretDB (SQLite backend) gave up waiting for its database's write lock (database is locked); try again shortly", {}, err);
  }
  if (!UNREACHABLE.some((kind) => err instanceof kind)) return err;
  return new StoreError('STORE_UNAVAILABLE', 'the store (MongoDB) did not answer; try again shortly', {}, err);
}

/**
 * The port with every method's "unreachable" failures turned into STORE_UNAVAILABLE (sync methods
 * stay sync); `health`, when given, hears each call's outcome (/readyz: ./health.ts).
 */
export function unavailableAsStoreError<P extends object>(port: P, health?: StoreHealth): P {
  const out = { ...port } as Record<string, unknown>;
  for (const [name, value] of Object.entries(port)) {
    if (typeof value !== 'function') continue;
    const method = value as (...args: unknown[]) => unknown;
    out[name] = (...args: unknown[]): unknown => {
      const result = method.apply(port, args);
      if (!(result instanceof Promise)) return result;
      return result.then(
        (value: unknown) => {
          health?.answered();
          return value;
        },
        (err: unknown) => {
          const translated = translate(err);
          if (isStoreError(translated, 'STORE_UNAVAILABLE')) health?.unreachable(translated.message);
          else if (!isStoreError(translated, 'STORE_CLOSED')) health?.answered();
          throw translated;
        },
      );
    };
  }
  return out as P;
}
