/**
 * HTTP/1.0 requests (docs/adr/0246-http-1-0-served.md). The installed uWebSockets.js refused them
 * (505) before any JavaScript ran; scripts/patch-uws.mjs (fix 8) has its parser accept the version
 * and leave it at the end of the request target, where no valid target has it (a target holds no
 * space): `GET /a?b HTTP/1.0` reaches JavaScript as the URL `/a` and the query `b HTTP/1.0` (uWS
 * splits the target at its first `?`), `GET /a HTTP/1.0` as the URL `/a HTTP/1.0`. This module
 * takes the mark off, so nothing else ever sees it. uvicorn serves such a client and closes the
 * connection after each answer (`connection: close`, a `Connection: keep-alive` ignored); so does
 * the gateway (uws-adapter.ts).
 */

/** What the patched parser leaves after an HTTP/1.0 request's target. */
export const HTTP10_MARK = ' HTTP/1.0';

/** The request target without the mark, and whether it was there (the request is HTTP/1.0). */
export interface Target {
  url: string;
  /** The query as uWS gave it: undefined when the target had no `?`. */
  query: string | undefined;
  http10: boolean;
}

/** `url` and `query` as `req.getUrl()` and `req.getQuery()` return them. */
export function splitTarget(url: string, query: string | undefined): Target {
  if (query !== undefined) {
    return query.endsWith(HTTP10_MARK) ? { url, query: query.slice(0, -HTTP10_MARK.length), http10: true } : { url, query, http10: false };
  }
  return url.endsWith(HTTP10_MARK) ? { url: url.slice(0, -HTTP10_MARK.length), query, http10: true } : { url, query, http10: false };
}
