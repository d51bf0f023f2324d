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
import { isFunctionKey } from '../protocol/index.js';

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
