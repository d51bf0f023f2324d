/**
 * A browser opening `/fn/<name>` (no last slash) is sent to `/fn/<name>/` (docs/adr/0094-fn-slash-
 * redirect.md). The app's `/` answers either URL, but the page's relative URLs (`href="items"`,
 * `new URL("ws/chat", location.href)`, Swagger UI's `openapi.json`) resolve against `/fn/` from the
 * first one and miss the function. Only a GET or HEAD asking for HTML is redirected: an API client
 * (`curl`, `fetch` of JSON, a POST) gets the app's answer at either URL, as before. Both answers to
 * a GET or HEAD of the bare name say `Vary: Accept` (which of the two a client gets depends on it),
 * so a shared cache never hands the app's answer to a browser or the redirect to an API client.
 */
import type { IncomingRequest, OutgoingResponse } from './http-server.js';

const FN_PREFIX_LENGTH = '/fn/'.length;

/**
 * What a request to `/fn/<name>` whose path routed to `path` gets: null for most requests (a string
 * comparison: not a GET or HEAD of the bare name), else the redirect for a browser, or 'vary' for
 * an API client (the app answers, its answer marked with `Vary: Accept` by `varyOnAccept`).
 */
export function slashRedirect(req: IncomingRequest, name: string, path: string): OutgoingResponse | 'vary' | null {
  if (path !== '/' || req.url.length !== FN_PREFIX_LENGTH + name.length) return null;
  if (req.method !== 'GET' && req.method !== 'HEAD') return null;
  if (!req.headers.some(([k, v]) => k === 'accept' && v.toLowerCase().includes('text/html'))) return 'vary';
  const location = `${req.url}/${req.rawQuery === '' ? '' : `?${req.rawQuery}`}`;
  return {
    status: 308,
    headers: [['location', location], ['content-type', 'text/plain; charset=utf-8'], ['cache-control', 'no-store'], ['vary', 'Accept']],
    body: `Moved to ${location}\n`,
  };
}

/** The app's answer at the bare name, with `Accept` added to its `Vary` (its own kept; `*` left alone). */
export function varyOnAccept(res: OutgoingResponse): OutgoingResponse {
  const at = res.headers.findIndex(([k]) => k.toLowerCase() === 'vary');
  if (at < 0) {
    res.headers = [...res.headers, ['vary', 'Accept']];
    return res;
  }
  const value = res.headers[at]![1];
  if (value.trim() === '*' || value.split(',').some((v) => v.trim().toLowerCase() === 'accept')) return res;
  res.headers = res.headers.map((pair, i) => (i === at ? [pair[0], `${value}, Accept`] : pair));
  return res;
}
