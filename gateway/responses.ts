/**
 * Building HTTP responses: error bodies (always `errorBody()` + `httpStatus()` from the registry),
 * the invocation headers (X-Run-Id, X-Cold-Start, Server-Timing) and the checks a function's
 * response passes before it reaches the socket.
 */
import { errorBody, httpStatus, isPlatformAnswerHeader, retryAfterOf, type Pairs, type PlatformError, type WireResponse } from '../protocol/index.js';
import { AUTHENTICATE, scopeBasicRealm } from './basic-realm.js';
import { ERROR_HEADERS, JSON_TYPE } from './error-headers.js';
import type { OutgoingResponse } from './http-server.js';

/** The JSON error response for a registry code; the status comes from `httpStatus()` only. */
export function errorResponse(err: PlatformError, runId?: string, extraHeaders: Pairs = []): OutgoingResponse {
  // Rate limits and quotas say when to come back (RFC 9110 Retry-After, whole seconds).
  const retryAfter = retryAfterOf(err);
  return {
    status: httpStatus(err.code, err.details),
    headers: retryAfter === null ? [...ERROR_HEADERS, ...extraHeaders] : [...ERROR_HEADERS, ['retry-after', retryAfter], ...extraHeaders],
    body: errorBody(err, runId),
    // The body of a refused upload was not read: close, so its remaining bytes are not parsed.
    closeConnection: err.code === 'PAYLOAD_TOO_LARGE',
  };
}

export function jsonResponse(status: number, value: unknown): OutgoingResponse {
  return { status, headers: [JSON_TYPE], body: JSON.stringify(value) };
}

export interface Timings {
  initMs: number;
  handlerMs: number;
  queuedMs: number;
  totalMs: number;
}

const NO_TIMING: readonly string[] = [];

/**
 * The headers every invocation response carries, success or failure. `functionTiming` holds the
 * function's own Server-Timing entries, already prefixed (`fn.`): they follow the platform's in
 * the one Server-Timing header. Appended to `into` (a response's own list: no list of them made
 * and copied per request, issue 11), which is returned.
 */
export function invocationHeaders(runId: string, cold: boolean, t: Timings, functionTiming: readonly string[] = NO_TIMING, into: Pairs = []): Pairs {
  const timing = `queue;dur=${ms(t.queuedMs)}, init;dur=${ms(t.initMs)}, handler;dur=${ms(t.handlerMs)}, total;dur=${ms(t.totalMs)}`;
  into.push(
    ['x-run-id', runId],
    ['x-cold-start', cold ? '1' : '0'],
    ['server-timing', functionTiming.length === 0 ? timing : `${timing}, ${functionTiming.join(', ')}`],
  );
  return into;
}

/**
 * Milliseconds with at most two decimals, as `(Math.round(v * 100) / 100).toString()` writes them
 * (`0.07`, `1.5`, `12`), from integers: four of these per response, and a double's shortest
 * decimal form cost ~0.1 µs each where this costs ~0.03 (issue 11). Outside 0 ≤ v < 1e13 the
 * double's own form.
 */
export function ms(value: number): string {
  const n = Math.round(value * 100);
  if (!(n >= 0 && n < 1e15)) return (n / 100).toString();
  const whole = Math.floor(n / 100);
  const frac = n - whole * 100;
  if (frac === 0) return `${whole}`;
  if (frac % 10 === 0) return `${whole}.${frac / 10}`;
  return frac < 10 ? `${whole}.0${frac}` : `${whole}.${frac}`;
}

/**
 * Headers a function may not send, because they are the platform's or its connection's:
 * - hop-by-hop (RFC 9110 §7.6.1) and framing: uWS writes Content-Length itself, and a second one
 *   would corrupt the response; names listed in the function's own Connection header go too;
 * - not Date: uWS writes its own on every response, and the function's goes out too, as uvicorn
 *   sends an app's Date after its own (docs/adr/0105-the-apps-own-date.md);
 * - the platform's invocation headers (Server-Timing is merged, not dropped: see below), and every
 *   `x-fp-*` name, the platform's on an answer (protocol/run-result.ts isPlatformAnswerHeader).
 */
const DROPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'x-run-id',
  'x-cold-start',
]);

/**
 * Headers that act on the whole origin, not on the answer (red team round 5, red8): at
 * `/fn/<key>/` every function of every workspace shares the platform host's origin, so one
 * function's `Service-Worker-Allowed: /` (or a worker script at `/fn/<key>`, whose directory is
 * `/fn/`) let its service worker answer every other function's pages in the visitor's browser;
 * `Clear-Site-Data` cleared their cookies and storage; `Strict-Transport-Security` set or removed
 * (`max-age=0`) the host's HSTS; `NEL` with `Report-To` has the browser report every request to
 * the origin (other functions' URLs, queries included) to an address of the function's choosing
 * for as long as it says; `Alt-Svc` names where the browser sends the origin's requests next. In
 * the path form they are confined: see confineToPrefix. A function at its own host
 * (`<key>.<base domain>`, its own origin) sends them as it likes.
 */
const ORIGIN_WIDE_HEADERS = new Set(['service-worker-allowed', 'clear-site-data', 'strict-transport-security', 'nel', 'report-to', 'alt-svc']);
/** Their lengths and WWW-Authenticate's: only a name of one of these is lowered (most answers: no string made). */
const ORIGIN_WIDE_LENGTHS = new Set([...ORIGIN_WIDE_HEADERS, AUTHENTICATE].map((name) => name.length));

/**
 * A path-form answer (`prefix` = the function's `<forwarded prefix>/fn/<key>/`, as the browser
 * sees it): drops the function's origin-wide headers and, for a service worker's script (the
 * browser's request says `Service-Worker: script`, on registration and on every update), sets
 * `Service-Worker-Allowed` to the prefix, so no worker of it controls a page outside it; a Basic
 * challenge's realm starts with the prefix, and an answer at the bare name (`bare`: `/fn/<key>`,
 * whose directory is `/fn/`) has none (basic-realm.ts). In place.
 */
export function confineToPrefix(response: Pairs, request: Pairs, prefix: string, bare = false): void {
  dropOriginWide(response, bare ? null : prefix);
  for (const [name] of request) {
    if (name === 'service-worker') {
      response.push(['service-worker-allowed', prefix]);
      return;
    }
  }
}

/**
 * Drops a function's origin-wide headers (above) from an answer served on the platform host's
 * origin, in place: the path form, and a `sync` webhook's answer at `/hooks/<key>/<id>`; and
 * makes its Basic challenges' realm its own, starting with `scope`, its path, or (null) drops
 * them (basic-realm.ts).
 */
export function dropOriginWide(response: Pairs, scope: string | null): void {
  let kept = 0;
  for (const pair of response) {
    if (ORIGIN_WIDE_LENGTHS.has(pair[0].length)) {
      const name = pair[0].toLowerCase();
      if (ORIGIN_WIDE_HEADERS.has(name)) continue;
      if (name === AUTHENTICATE) {
        const value = scopeBasicRealm(pair[1], scope);
        if (value === null) continue;
        pair[1] = value;
      }
    }
    response[kept++] = pair;
  }
  response.length = kept;
}

/** Prefix of a function's own Server-Timing metric names, so they never pass for the platform's. */
export const FUNCTION_TIMING_PREFIX = 'fn.';

// RFC 9110 token for names; values without control characters other than HTAB (no header
// injection through CR/LF/NUL, no terminal escapes or DEL for whoever logs or shows them).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
// A value written as Latin-1 (WireResponse.latin1) goes out one byte per character, its low byte:
// a character past U+00FF there is refused, since U+010D U+010A went out as CR LF (red team round
// 22, red25: a header line of the function's own past these checks, an origin-wide header in the
// path form, a second answer on a kept-alive connection).
const PAST_LATIN1 = /[^\x00-\xff]/;

/**
 * The most headers, and header bytes (names and values), a function's answer may carry: past
 * either, FUNCTION_RESPONSE_HEADERS_TOO_LARGE (docs/errors.md). Each header costs the gateway's
 * event loop about a microsecond (decoding, checking, writing): 80 000 of them held every other
 * workspace's calls ~70 ms per answer (red team 6). Browsers refuse an answer whose headers pass
 * 256 KiB; Node's HTTP server counts at most 2000 of a request's.
 */
export const MAX_RESPONSE_HEADERS = 1000;
export const MAX_RESPONSE_HEADER_BYTES = 256 * 1024;

export interface CheckedHeaders {
  /** The function's headers that go out as they are. */
  headers: Pairs;
  /** Its Server-Timing entries, each metric name prefixed with `fn.`. */
  serverTiming: string[];
}

/**
 * Checks a function's response and returns the headers to send, or a reason it is not valid.
 * The runtime validates too; this is the last line before bytes reach the client.
 */
export function checkFunctionResponse(response: WireResponse): CheckedHeaders | { problem: string; code?: 'FUNCTION_RESPONSE_HEADERS_TOO_LARGE' } {
  const status = response.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    return { problem: `status ${String(status)} is not an integer from 200 to 599` };
  }
  if (!Array.isArray(response.headers)) return { problem: 'headers are not a list of pairs' };
  if (response.headers.length > MAX_RESPONSE_HEADERS) {
    return { problem: `the response has more than ${MAX_RESPONSE_HEADERS} headers, the most a function's answer may carry`, code: 'FUNCTION_RESPONSE_HEADERS_TOO_LARGE' };
  }
  let bytes = 0;
  const latin1 = response.latin1 === true;
  // Names listed in the function's own Connection header; made only when it sends one (most never do).
  let listed: Set<string> | null = null;
  for (const pair of response.headers) {
    const [name, value] = Array.isArray(pair) ? pair : [];
    if (typeof name !== 'string' || typeof value !== 'string') return { problem: 'a header is not a [name, value] pair of strings' };
    bytes += name.length + value.length;
    if (bytes > MAX_RESPONSE_HEADER_BYTES) {
      return { problem: `the response's headers pass ${MAX_RESPONSE_HEADER_BYTES / 1024} KiB (names and values), the most a function's answer may carry`, code: 'FUNCTION_RESPONSE_HEADERS_TOO_LARGE' };
    }
    if (!TOKEN.test(name)) return { problem: `header name ${JSON.stringify(name)} is not a valid token` };
    const control = CONTROL.exec(value);
    if (control) {
      const code = control[0].charCodeAt(0).toString(16).padStart(2, '0');
      return { problem: `header ${name} contains the control character 0x${code}; only HTAB is allowed in header values` };
    }
    if (latin1 && PAST_LATIN1.test(value)) {
      return { problem: `header ${name} has a character past U+00FF in a value sent as bytes (latin1): each must be one byte` };
    }
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      listed ??= new Set<string>();
      for (const option of value.split(',')) listed.add(option.trim().toLowerCase());
    }
  }
  if (!(response.body instanceof Uint8Array)) return { problem: 'body is not bytes' };
  // Checked above: every pair is two strings. A new pair each, as before: the caller's list is not shared.
  const headers: Pairs = [];
  const serverTiming: string[] = [];
  for (const [name, value] of response.headers as [string, string][]) {
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower) || isPlatformAnswerHeader(lower) || (listed !== null && listed.has(lower))) continue;
    if (lower === 'server-timing') serverTiming.push(...prefixTiming(value));
    else headers.push([name, value]);
  }
  return { headers, serverTiming };
}

/**
 * A function's Server-Timing value, entry by entry (commas inside quoted descriptions do not
 * split), each metric name prefixed with `fn.`. Entries that do not start with a token are dropped.
 */
export function prefixTiming(value: string): string[] {
  const out: string[] = [];
  for (const entry of splitList(value)) {
    const name = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(entry)?.[0];
    if (name === undefined) continue;
    const rest = entry.slice(name.length);
    if (rest !== '' && !/^[ \t]*;/.test(rest)) continue;
    out.push(FUNCTION_TIMING_PREFIX + entry);
  }
  return out;
}

/** Splits an HTTP list at commas outside quoted strings; trimmed, empty elements left out. */
function splitList(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}
