/**
 * The gateway's URL space, as a pure function of the raw path. Documented in docs/gateway.md.
 *
 *   /fn/<key>[/<rest…>]   invoke the active version of <key>; the function sees `/<rest…>`
 *   /async/<key>[/<rest…>] queue the same call as an async run (202 + run id)
 *   /hooks/<key>/<triggerId> a signed webhook (verified, then queued or, sync, invoked)
 *   /healthz               the process is alive
 *   /readyz                the gateway can serve invocations
 *   /metrics               Prometheus text format
 *   /api/…                 the mounted API (the control plane), when there is one
 *   /console, /console/…   the web console's files (./static-site.ts), when built
 *
 * <key> is a function key (protocol/function-key.ts, docs/adr/0011-tenants.md): `<name>` in the
 * default workspace, `<name>.<workspace>` in another. It is matched raw (still percent-encoded):
 * an escape, a second dot or `<name>.default` is no key, and answers 404 like an unknown function.
 */
import { isFunctionKey, type Pairs } from '../protocol/index.js';

export type Route =
  | { kind: 'invoke'; name: string; path: string }
  | { kind: 'async'; name: string; path: string }
  | { kind: 'hook'; name: string; triggerId: string }
  /** `/fn/<x>` where <x> cannot be a function key. */
  | { kind: 'badFunctionName'; name: string }
  | { kind: 'healthz' }
  | { kind: 'readyz' }
  | { kind: 'metrics' }
  | { kind: 'api' }
  | { kind: 'console' }
  | { kind: 'unknown' };

const FN_PREFIX = '/fn/';
const ASYNC_PREFIX = '/async/';
const API_PREFIX = '/api/';
const HOOKS_PREFIX = '/hooks/';

/** Hoisted: a literal here would allocate three arrays on every request. */
const CALL_PREFIXES = [[FN_PREFIX, 'invoke'], [ASYNC_PREFIX, 'async']] as const;

export function route(url: string): Route {
  for (const [prefix, kind] of CALL_PREFIXES) {
    if (!url.startsWith(prefix)) continue;
    const slash = url.indexOf('/', prefix.length);
    const name = slash === -1 ? url.slice(prefix.length) : url.slice(prefix.length, slash);
    if (name === '') return { kind: 'unknown' };
    if (!isFunctionKey(name)) return { kind: 'badFunctionName', name };
    return { kind, name, path: slash === -1 ? '/' : url.slice(slash) };
  }
  if (url.startsWith(HOOKS_PREFIX)) {
    const [name = '', triggerId = '', ...rest] = url.slice(HOOKS_PREFIX.length).split('/');
    if (name === '' || triggerId === '' || rest.length > 0) return { kind: 'unknown' };
    if (!isFunctionKey(name)) return { kind: 'badFunctionName', name };
    return { kind: 'hook', name, triggerId };
  }
  if (url.startsWith(API_PREFIX) || url === '/api') return { kind: 'api' };
  if (url === '/console' || url.startsWith('/console/')) return { kind: 'console' };
  switch (url) {
    case '/healthz':
      return { kind: 'healthz' };
    case '/readyz':
      return { kind: 'readyz' };
    case '/metrics':
      return { kind: 'metrics' };
    default:
      return { kind: 'unknown' };
  }
}

/**
 * The web console's own host, `console.<baseDomain>`: a browser origin apart from every function
 * (`/fn/…` of the main host, `<key>.<baseDomain>`), so no function's page can read the token the
 * console keeps in its session storage (docs/console.md, "Origin"). A function named `console` is
 * reached at `/fn/console/` only.
 */
export const CONSOLE_HOST = 'console';

/** Where a Host header sends a request: a function at its root, a bad key, the console's host, or (null) path routing. */
export type HostRoute = { readonly key: string } | { readonly bad: string } | { readonly console: true } | null;

const CONSOLE_ROUTE: HostRoute = Object.freeze({ console: true } as const);

/** `:<port>` of the Host header (empty without one): for a redirect to a sibling host. */
export function hostPort(headers: Pairs): string {
  for (const [name, value] of headers) {
    if (name !== 'host') continue;
    const m = /:(\d{1,5})$/.exec(value.trim());
    return m ? `:${m[1]}` : '';
  }
  return '';
}

/**
 * Host routing (docs/adr/0020-addressing.md): a request whose Host is `<key>.<baseDomain>` (any
 * port) is served by the function `<key>` at `/` of that host, whatever its path. The key is
 * `<name>` (workspace `default`) or `<name>.<workspace>` (ADR 0011). Returns null when the host is
 * not under the base domain (path routing then applies), `{console}` for CONSOLE_HOST, `{key}` for
 * a well-formed key, and `{bad}` for a subdomain that cannot be a key (answered 404
 * FUNCTION_NOT_FOUND). The Host header
 * is the client's choice: the key goes through the same admission (existence, invoke token,
 * pause) as `/fn/<key>/`, so choosing a host reaches nothing a path could not.
 */
export function hostRoute(headers: Pairs, baseDomain: string | null): HostRoute {
  if (baseDomain === null) return null;
  let host: string | null = null;
  for (const [name, value] of headers) {
    if (name !== 'host') continue;
    if (host !== null) return null; // two Host headers: no host routing (the adapter refuses them with 400 before any route)
    host = value;
  }
  if (host === null) return null;
  // A connection sends the same Host on every request: the last one's route is kept (computed
  // from the value and the base domain only, so a repeat is a string comparison; issue 11).
  if (host === lastHost && baseDomain === lastBase) return lastHostRoute;
  const routed = routeHost(host, baseDomain);
  lastHost = host;
  lastBase = baseDomain;
  lastHostRoute = routed;
  return routed;
}

let lastHost = '';
let lastBase = '';
let lastHostRoute: HostRoute = null;

/**
 * Whether the request's Host names this machine: none, `localhost` or a name under it, an IP
 * literal (v4 or `[v6]`), or the base domain or a name under it; any port. A platform listening on
 * loopback only (`dev`) answers nothing else: a web page whose own name was made to resolve to
 * 127.0.0.1 (DNS rebinding) sends its own name as Host, and could otherwise read the local
 * functions' answers (docs/adr/0122-what-the-cli-trusts.md). `dev` and `up` set it on loopback.
 */
export function localHost(headers: Pairs, baseDomain: string | null): boolean {
  for (const [name, value] of headers) {
    if (name !== 'host') continue;
    if (value === lastLocalValue && baseDomain === lastLocalBase) {
      if (lastLocal) continue;
      return false;
    }
    const local = localHostValue(value, baseDomain);
    lastLocalValue = value;
    lastLocalBase = baseDomain;
    lastLocal = local;
    if (!local) return false;
  }
  return true;
}

/** The last Host value `localHost` judged (a `up` on loopback looks at every request's: one comparison). */
let lastLocalValue = '\n'; // no Host value is this
let lastLocalBase: string | null = null;
let lastLocal = true;

function localHostValue(value: string, baseDomain: string | null): boolean {
  let host = value.trim().toLowerCase();
  if (host.startsWith('[')) return /^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(host);
  host = host.replace(/:\d{1,5}$/, '');
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host === 'localhost' || host.endsWith('.localhost')) return true;
  return baseDomain !== null && (host === baseDomain || host.endsWith(`.${baseDomain}`));
}

/** hostRoute for one Host value; the routes it returns are frozen (hostRoute hands the same one out again). */
function routeHost(value: string, baseDomain: string): HostRoute {
  let host = value.trim().toLowerCase();
  if (host.startsWith('[')) return null; // an IPv6 literal
  const colon = host.lastIndexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  if (host.endsWith('.')) host = host.slice(0, -1);
  const suffix = `.${baseDomain}`;
  if (!host.endsWith(suffix)) return null;
  const key = host.slice(0, -suffix.length);
  if (key === '') return null;
  if (key === CONSOLE_HOST) return CONSOLE_ROUTE;
  // `<name>` (the default workspace) or `<name>.<workspace>`: the function key (ADR 0011).
  return Object.freeze(isFunctionKey(key) ? { key } : { bad: key });
}
