/**
 * What a function could reach of the platform's own servers (docs/security.md, "Network"). Boxes
 * share the host's network, so a store reached over TCP without credentials is a store every
 * function can open too: the platform's state (Redis, MongoDB) or, for the data bindings' server,
 * every workspace's data past the proxy's checks. The platform connected without credentials, so
 * the server takes none: said at start, once, as a warning naming the server and the fix.
 *
 * Only URLs are read (nothing is probed): a Unix socket is not in any box, and a URL with a user
 * or password is a server that asks for one (the connection would have failed otherwise). One that
 * asks for one on this host's loopback is warned about too: a function cannot get in, but it can
 * take every connection the server has (loopbackTcpEndpoint).
 */
import { TrustedProxies } from '../gateway/index.js';
import { proxyList, type PlatformConfig } from './config.js';

export type ExposureConfig = Pick<PlatformConfig, 'store' | 'redisUrl' | 'mongoUrl' | 'dataMongoUrl'> & { trustedProxies?: string };

/** The TCP server a URL names (`host:port`, the host alone, whether the URL carries credentials); null for a Unix socket or no URL. */
function tcpEndpointOf(url: string, defaultPort: number): { endpoint: string; host: string; credentials: boolean } | null {
  const scheme = url.indexOf('://');
  if (scheme < 0) return null;
  const rest = url.slice(scheme + 3);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  // A user (and password), or a mechanism that needs none in the URL (X.509): the server asks for them.
  const credentials = authority.includes('@') || /[?&]authMechanism=/i.test(rest);
  // A seed list names several hosts (mongodb://a:1,b:2/): the first says enough.
  const host = authority.slice(authority.lastIndexOf('@') + 1).split(',')[0]!;
  if (host === '' || /^%2f/i.test(host) || host.startsWith('/') || /(\.|%2e)sock$/i.test(host)) return null; // a Unix socket: in no box
  const endpoint = /:\d+$/.test(host) ? host : `${host}:${defaultPort}`;
  return { endpoint, host: endpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase(), credentials };
}

/** `host:port` of a TCP URL that carries no credentials; null for a socket or a URL with credentials. */
export function openTcpEndpoint(url: string, defaultPort: number): string | null {
  const tcp = tcpEndpointOf(url, defaultPort);
  return tcp === null || tcp.credentials ? null : tcp.endpoint;
}

/**
 * `host:port` of a URL with credentials to a server on this host's loopback; null otherwise. The
 * password keeps a function out, not off: every function reaches loopback and can open connections
 * there without it until the server has none left for the platform (Redis `maxclients`; a
 * FerretDB's PostgreSQL on loopback, `max_connections` 100: one function held them all and the
 * store answered STORE_UNAVAILABLE; red team round 28).
 */
export function loopbackTcpEndpoint(url: string, defaultPort: number): string | null {
  const tcp = tcpEndpointOf(url, defaultPort);
  if (tcp === null || !tcp.credentials) return null;
  const loopback = tcp.host === 'localhost' || tcp.host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(tcp.host)
    || tcp.host === '::1' || /^(0:){7}0*1$/.test(tcp.host) || /^::ffff:127\./.test(tcp.host);
  return loopback ? tcp.endpoint : null;
}

/** The warning for a store with credentials on loopback (loopbackTcpEndpoint). */
function loopbackWarning(what: string, endpoint: string): string {
  return `${what} at ${endpoint} asks for credentials, but it listens on this host's loopback, which every function reaches: a function can open `
    + 'connections to it without them until it has none left for the platform (and a FerretDB there usually means its PostgreSQL listens on '
    + 'loopback too: max_connections, 100 by default, is taken the same way). Give it a Unix socket in a folder only the platform\'s user may '
    + 'enter, in no box (README, "Production mode"; docs/security.md, "Network").';
}

/** One warning per server a function could open (none when functions are not sandboxed: they can read everything then anyway, as the platform says). */
export function exposureWarnings(config: ExposureConfig, sandboxed: boolean): string[] {
  if (!sandboxed) return [];
  const warnings: string[] = [];
  if (config.store === 'production') {
    const redis = config.redisUrl === undefined ? null : openTcpEndpoint(config.redisUrl, 6379);
    if (redis !== null) {
      warnings.push(`Redis at ${redis} takes commands without a password, and functions share this host's network: any function can read and change `
        + 'the platform\'s queue, limits and live state through it. Set requirepass and put the password in FP_REDIS_URL (README, "Production mode").');
    }
    const redisLoopback = config.redisUrl === undefined ? null : loopbackTcpEndpoint(config.redisUrl, 6379);
    if (redisLoopback !== null) warnings.push(loopbackWarning('Redis', redisLoopback));
    const mongo = config.mongoUrl === undefined ? null : openTcpEndpoint(config.mongoUrl, 27017);
    if (mongo !== null) {
      warnings.push(`MongoDB at ${mongo} is used without credentials, and functions share this host's network: any function can read and change `
        + 'every function, version, token digest and run through it. Require authentication and put the user in FP_MONGO_URL, or use a Unix socket (README, "Production mode").');
    }
    const mongoLoopback = config.mongoUrl === undefined ? null : loopbackTcpEndpoint(config.mongoUrl, 27017);
    if (mongoLoopback !== null) warnings.push(loopbackWarning('MongoDB', mongoLoopback));
  }
  // Every function connects from this host's loopback: trusting it lets one forge the client, scheme
  // and host another function sees (docs/gateway.md, "Proxy headers"). README's nginx, on the same
  // host, trusted 127.0.0.1 without a word at start (new-user round 5).
  const trusted = new TrustedProxies(proxyList(config.trustedProxies ?? 'none'));
  const loopback = ['127.0.0.1', '::1', '::ffff:127.0.0.1'].find((address) => trusted.has(address));
  if (loopback !== undefined) {
    warnings.push(`FP_TRUSTED_PROXIES trusts ${loopback}, an address every function can connect from: a function calling another can forge the client `
      + 'address, scheme and host that one sees. For a proxy on this host, have it connect from 127.0.0.2 (nginx: proxy_bind 127.0.0.2;) and trust '
      + 'that alone: a function cannot bind another source address (the sandbox line\'s "no port binds"; README, "Production mode").');
  }
  const data = config.dataMongoUrl === undefined ? null : openTcpEndpoint(config.dataMongoUrl, 27017);
  if (data !== null) {
    warnings.push(`the data bindings' server at ${data} is reached over TCP without credentials: a function can connect to it directly, past its `
      + 'binding\'s checks, and read every workspace\'s data. Give it a Unix socket (FP_DATA_MONGO_URL=mongodb://%2Fpath%2Fto.sock) or a firewall that '
      + 'functions\' uids cannot pass (docs/data-binding.md, "Production").');
  }
  return warnings;
}
