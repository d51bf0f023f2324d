/**
 * Strictness checks on a request head, made by the uWS adapter before any route sees the request
 * (pure: the adapter passes the fields it copied out of uWS). They cover what the native parser of
 * the pinned uWebSockets.js build lets through to JavaScript; what it refuses on its own never
 * reaches here (docs/gateway.md, "Malformed requests", has the measured list).
 *
 * RFC 9112 §6.3: a request whose framing is ambiguous (repeated or invalid Content-Length, a
 * transfer coding other than chunked, both Content-Length and Transfer-Encoding) must be answered
 * 400 and the connection closed; "first Content-Length wins" is the request-smuggling shape.
 */
import { describeBytes, PlatformError, type Pairs } from '../protocol/index.js';

/**
 * The largest request head (request line and headers) the gateway accepts; larger → 431.
 * Node's default. The native parser of this build keeps only 4 KiB of a head that arrives in
 * more than one read, so past 4 KiB a head is accepted only when it arrived at once.
 */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The native parser closes the connection (after the route callback, without a response) on a
 * Content-Length of 10 digits or more; the gateway refuses those up front as too large.
 */
export const NATIVE_MAX_CONTENT_LENGTH = 999_999_999;

export type Framing =
  | {
      ok: true;
      /** The announced body length; null without a Content-Length. */
      contentLength: number | null;
      chunked: boolean;
    }
  | { ok: false; error: PlatformError };

// RFC 9110 token (uWS lower-cases names, so upper-case letters never reach here).
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
// Field values: no control characters but HTAB (RFC 9110 §5.5). The native parser already drops
// the connection on most of them; DEL (0x7f) gets through it.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^[0-9]+$/;
// RFC 9110 §9.1: a method is a token. The native parser takes any text up to the first space for
// one, the empty text too; it also ends a chunked body at `0\r\n`, skips two bytes and reads the
// trailer section as the next request, so a trailer field line (`X: /fn/a/ HTTP/1.1`) arrives
// here with the method "", ":" or "<rest of its name>:". Refusing those stops a request hidden in
// a body's trailers, which a proxy in front forwards, from running (red team 2, December 2026).
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9112 §3.2 / RFC 3986: a request target is ASCII; other bytes are percent-encoded. uWS hands
// JavaScript the target as decoded text (U+FFFD for a Latin-1 é), so such bytes cannot reach the
// app as sent; uvicorn's parser refuses them (400) too. So is DEL (0x7f, no URI character), which
// the native parser let through to the app (`/a\x7fb`; differential round 3): the other control
// bytes are its 505.
const NON_ASCII = /[^\x00-\x7e]/;
// RFC 9110 §7.2: Host = uri-host [ ":" port ], uri-host being RFC 3986's host: an IP literal in
// brackets, or a reg-name (unreserved, pct-encoded, sub-delims; an IPv4 address is one). No
// userinfo (`user@fn.localhost`, which host routing read as the function `user@fn`), no `/`, `?`,
// `#`, space or byte outside ASCII. Empty is allowed (§7.2: a target without an authority).
const HOST = /^(?:\[[0-9A-Za-z:._~%!$&'()*+,;=-]+\]|[0-9A-Za-z._~%!$&'()*+,;=-]*)(?::[0-9]*)?$/;

/** Checks header syntax, size and body framing; the framing to read the body with, or the refusal. */
/** The framing of a request without a body (most of them): one frozen object, not one per request. */
const NO_BODY: Framing = Object.freeze({ ok: true, contentLength: null, chunked: false });

/** `fromTarget`: the Host fields hold an absolute-form target's authority (./absolute-form.ts), which may not be empty. */
export function checkRequestHead(method: string, url: string, rawQuery: string, headers: Pairs, fromTarget = false): Framing {
  // "METHOD SP url[?query] SP HTTP/1.1 CRLF", then "name: value CRLF" per header, then CRLF.
  if (!METHOD.test(method)) return refuse('the request method is not a token (RFC 9110 §9.1)', { method: method.slice(0, 32) });
  if (NON_ASCII.test(url)) return refuse('the request target has a byte outside ASCII, or DEL (percent-encode it, RFC 3986)', { target: 'path' });
  if (NON_ASCII.test(rawQuery)) return refuse('the query string has a byte outside ASCII, or DEL (percent-encode it, RFC 3986)', { target: 'query' });
  let size = method.length + url.length + (rawQuery === '' ? 0 : rawQuery.length + 1) + 13;
  let lengths: string[] | null = null;
  let codings: string[] | null = null;
  // RFC 9112 §3.2: more than one Host is a 400. A proxy in front routing (or checking) by one and
  // the gateway's host routing or the app's TrustedHostMiddleware by the other would disagree.
  let hosts = 0;
  for (const [name, value] of headers) {
    size += name.length + value.length + 4;
    if (!TOKEN.test(name)) return refuse(`header name ${JSON.stringify(name)} is not a token`, { header: name });
    if (CONTROL.test(value)) return refuse(`header ${name} contains a control character`, { header: name });
    if (name === 'content-length') (lengths ??= []).push(value);
    else if (name === 'transfer-encoding') (codings ??= []).push(value);
    else if (name === 'host') {
      if (++hosts > 1) return refuse('the request repeats Host (RFC 9112 §3.2)', { header: 'host' });
      // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid (`GET http:///fn/x/`).
      if (fromTarget && value === '') return refuse('the request target is an http URL without a host (RFC 9110 §4.2.1)', { target: 'authority' });
      if (!HOST.test(ows(value))) return refuse('Host is not a host name with an optional port: no userinfo (user@), path or character outside RFC 3986 host syntax (RFC 9110 §7.2)', { header: 'host' });
    }
  }
  if (size + 2 > MAX_HEADER_BYTES) {
    return { ok: false, error: new PlatformError('REQUEST_HEADERS_TOO_LARGE', `the request line and headers are larger than ${describeBytes(MAX_HEADER_BYTES)}`, { limitBytes: MAX_HEADER_BYTES }) };
  }
  if (lengths !== null && codings !== null) return refuse('the request has both Content-Length and Transfer-Encoding', { header: 'transfer-encoding' });
  if (codings !== null) {
    if (codings.length > 1 || ows(codings[0]!).toLowerCase() !== 'chunked') {
      return refuse('Transfer-Encoding must be exactly "chunked" (no other transfer coding is supported)', { header: 'transfer-encoding' });
    }
    return { ok: true, contentLength: null, chunked: true };
  }
  if (lengths === null) return NO_BODY;
  if (lengths.length > 1) return refuse('the request repeats Content-Length', { header: 'content-length' });
  const value = ows(lengths[0]!);
  if (!DIGITS.test(value)) return refuse('Content-Length is not a decimal number', { header: 'content-length' });
  // Digits only, so Number() is exact up to 2^53 and merely large beyond: either way > any limit.
  return { ok: true, contentLength: Number(value), chunked: false };
}

/**
 * A value without the optional whitespace around it that HTTP allows (RFC 9110 §5.5: SP and HTAB
 * only). `String.trim()` also removed NBSP, U+3000 and a BOM, so `Transfer-Encoding:
 * chunked\u00a0` was taken as chunked where a front proxy may see another coding (red team).
 */
function ows(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

function refuse(message: string, details: Record<string, unknown>): Framing {
  return { ok: false, error: new PlatformError('BAD_REQUEST', message, details) };
}
