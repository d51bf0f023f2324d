/**
 * How the platform names its store to an operator (the banner of platform/main.ts and of the CLI's
 * `up`): which store, and where — the embedded SQLite files, or the production Redis and MongoDB
 * host:port (and database). Never a credential: a URL's user and password are dropped, and so is
 * everything after the hosts (a query string may carry a password too). Pure, so the CLI can use
 * it without loading the server.
 */
import { join } from 'node:path';
import type { PlatformConfig } from './config.js';

/** Why production mode starts no FerretDB of its own, and what to do (the log, the CLI's banner). */
export const PRODUCTION_NEEDS_DATA_URL = 'production mode starts no FerretDB of its own (each process would hold its own copy of every database); set FP_DATA_MONGO_URL to the server every process shares, e.g. the store\'s FerretDB socket (docs/data-binding.md, "Production")';

/** The embedded store's files, as the banner names them (controlplane/store/sqlite, controlplane/async/sqlite-db.ts). */
const EMBEDDED_FILES = ['platform.db', 'async.db'] as const;

/** One line: `embedded SQLite (<dir>/platform.db, async.db)` or `production: Redis h:6379, MongoDB h:27017/db`. */
export function describeStore(config: Pick<PlatformConfig, 'store' | 'redisUrl' | 'mongoUrl' | 'mongoDatabase'>, stateDir: string): string {
  if (config.store !== 'production') return `embedded SQLite (${join(stateDir, EMBEDDED_FILES[0])}, ${EMBEDDED_FILES[1]})`;
  const redis = config.redisUrl === undefined ? '?' : hostsOf(config.redisUrl, 6379);
  const tls = config.redisUrl?.startsWith('rediss:') === true ? ' (TLS)' : '';
  const mongo = config.mongoUrl === undefined ? '?' : hostsOf(config.mongoUrl, config.mongoUrl.startsWith('mongodb+srv:') ? null : 27017);
  const srv = config.mongoUrl?.startsWith('mongodb+srv:') === true ? ' (SRV)' : '';
  return `production: Redis ${redis}${tls}, MongoDB ${mongo}/${config.mongoDatabase}${srv}`;
}

/**
 * The `host:port` list of a URL (`a:1,b:2` for a MongoDB seed list), without user, password, path
 * or query; `defaultPort` filled in where a host gives none (null: leave it out, as for SRV).
 */
export function hostsOf(url: string, defaultPort: number | null): string {
  // Redis on a Unix socket: unix:///path/to/redis.sock (its password, if any, in the query).
  const socket = /^unix:\/\/(\/[^?#]*)/i.exec(url);
  if (socket !== null) return `unix:${socket[1]!}`;
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const hosts = authority.slice(authority.lastIndexOf('@') + 1);
  if (hosts === '') return '?';
  return hosts.split(',').map((h) => withPort(h, defaultPort)).join(',');
}

function withPort(host: string, defaultPort: number | null): string {
  // A Unix socket is its percent-encoded path (README's FerretDB): no port, shown as a path.
  if (/%2F/i.test(host)) return `unix:${safeDecode(host)}`;
  if (defaultPort === null) return host;
  // An IPv6 literal is bracketed: its port is after the `]`.
  const hasPort = host.startsWith('[') ? /\]:\d+$/.test(host) : /:\d+$/.test(host);
  return hasPort ? host : `${host}:${defaultPort}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
