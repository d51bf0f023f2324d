/**
 * A browser opening `/fn/<name>` (no last slash) is sent to `/fn/<name>/` (docs/adr/0094-fn-slash-
 * redirect.md). The app's `/` answers either URL, but the page's relative URLs (`href="items"`,
 * `new URL("ws/chat", location.href)`, Swagger UI's `openapi.json`) resolve against `/fn/` from the
 * first one and miss the function. Only a GET or HEAD asking for HTML is redirected: an API client
 * (`curl`, `fetch` of JSON, a POST) gets the app's answer at either URL, as before.
 */
import type { IncomingRequest, OutgoingResponse } from './uws-adapter.js';

const FN_PREFIX_LENGTH = '/fn/'.length;

/** The redirect for `req` to `/fn/<name>` whose path routed to `path`, or null (most requests: a string comparison). */
export function slashRedirect(req: IncomingRequest, name: string, path: string): OutgoingResponse | null {
  if (path !== '/' || req.url.length !== FN_PREFIX_LENGTH + name.length) return null;
  if (req.method !== 'GET' && req.method !== 'HEAD') return null;
  if (!req.headers.some(([k, v]) => k === 'accept' && v.toLowerCase().includes('text/html'))) return null;
  const location = `${req.url}/${req.rawQuery === '' ? '' : `?${req.rawQuery}`}`;
  return {
    status: 308,
    headers: [['location', location], ['content-type', 'text/plain; charset=utf-8'], ['cache-control', 'no-store']],
    body: `Moved to ${location}\n`,
  };
}
