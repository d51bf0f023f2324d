/**
 * The gateway's URL space, as a pure function of the raw path. Documented in docs/gateway.md.
 *
 *   /fn/<name>[/<rest…>]   invoke the active version of <name>; the function sees `/<rest…>`
 *   /healthz               the process is alive
 *   /readyz                the gateway can serve invocations
 *   /metrics               Prometheus text format
 *   /api/…                 the mounted API (the control plane), when there is one
 */
import { FUNCTION_NAME } from '../protocol/index.js';

export type Route =
  | { kind: 'invoke'; name: string; path: string }
  /** `/fn/<x>` where <x> cannot be a function name (not a DNS label). */
  | { kind: 'badFunctionName'; name: string }
  | { kind: 'healthz' }
  | { kind: 'readyz' }
  | { kind: 'metrics' }
  | { kind: 'api' }
  | { kind: 'unknown' };

const FN_PREFIX = '/fn/';
const API_PREFIX = '/api/';

export function route(url: string): Route {
  if (url.startsWith(FN_PREFIX)) {
    const slash = url.indexOf('/', FN_PREFIX.length);
    const name = slash === -1 ? url.slice(FN_PREFIX.length) : url.slice(FN_PREFIX.length, slash);
    if (name === '') return { kind: 'unknown' };
    if (!FUNCTION_NAME.test(name)) return { kind: 'badFunctionName', name };
    return { kind: 'invoke', name, path: slash === -1 ? '/' : url.slice(slash) };
  }
  if (url.startsWith(API_PREFIX) || url === '/api') return { kind: 'api' };
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
