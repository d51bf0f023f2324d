/** The headers of the gateway's own JSON answers (responses.ts and the uWS adapter's refusals). */
import type { Pairs } from '../protocol/index.js';

export const JSON_TYPE: [string, string] = ['content-type', 'application/json'];

/**
 * The headers of every error the gateway answers itself (docs/errors.md): JSON, readable by a
 * page of any origin (no credentials: `*`), with the headers a caller acts on. A function's own
 * CORS policy never sees these answers (a 413, 429, 503 or 504 the platform gives before or
 * instead of the app), so a browser app on another origin got an opaque "Failed to fetch"
 * instead of the status and Retry-After (helper round, 2026-12-05). They say nothing the caller
 * may not know: the code, a message, the run id.
 */
export const ERROR_HEADERS: Pairs = Object.freeze([
  JSON_TYPE,
  ['access-control-allow-origin', '*'],
  ['access-control-expose-headers', 'retry-after, x-run-id, x-cold-start, server-timing'],
]) as Pairs;

