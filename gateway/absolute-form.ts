/**
 * Absolute-form request targets (`GET http://host/path HTTP/1.1`, what a client sends to a proxy;
 * docs/adr/0228-absolute-form-and-json-parser-errors.md). RFC 9112 §3.2.2: a server MUST accept
 * one, and the target's authority replaces the Host header. The installed uWebSockets.js refused
 * them (505) before any JavaScript ran; scripts/patch-uws.mjs (fix 12) has its parser take a target
 * that starts with `http://` or `https://` (the scheme in any case) as it takes a `/`: the whole
 * target is the URL JavaScript gets, its query split off at the first `?` as for any target. This
 * module turns it into origin-form: the path for routing and the app, the authority for Host. The
 * scheme is not kept (the connection's is: uvicorn too ignores it).
 */
import type { Pairs } from '../protocol/index.js';

/** The path (`/` when the target has none) and the authority of an absolute-form URL, or null for origin-form. */
export function absoluteTarget(url: string): { path: string; authority: string } | null {
  if (url.startsWith('/')) return null;
  const scheme = url.indexOf('://');
  if (scheme === -1) return null; // not from the patched parser (it passes only http:// and https://)
  const rest = url.slice(scheme + 3);
  // The authority ends at the path's `/`, or at a fragment's `#` (the caller drops the fragment; the
  // query is already split off).
  const end = rest.search(/[/#]/);
  if (end === -1) return { path: '/', authority: rest };
  return { path: rest[end] === '/' ? rest.slice(end) : `/${rest.slice(end)}`, authority: rest.slice(0, end) };
}

/**
 * The received Host is ignored (RFC 9112 §3.2.2): each Host field gets the target's authority (so
 * two are still two, refused by checkRequestHead), and a request without one (HTTP/1.0) gets one.
 * checkRequestHead then validates the authority as it validates any Host (no userinfo, RFC 3986
 * host syntax), and host routing, body limits and the app see only it.
 */
export function useAuthority(headers: Pairs, authority: string): void {
  let found = false;
  for (const pair of headers) {
    if (pair[0] !== 'host') continue;
    pair[1] = authority;
    found = true;
  }
  if (!found) headers.push(['host', authority]);
}
