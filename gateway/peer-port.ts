/**
 * A request's peer, address and port (issue 10: `request.client` is `[address, port]`, as under
 * uvicorn; docs/adr/0093-peer-port.md). The pinned uWebSockets.js build gives the address only
 * (`res.getRemoteAddress`), so the port was always 0. Our addon (gateway/native/peer.cc, built by
 * scripts/build-peer.sh) reads both with the one `getpeername` uWS would have made, from the
 * response's socket; it relies on the binding's memory layout, so it is used only once a
 * self-check (`checkPeerAddon`, at the gateway's start) has seen it give the known port of a
 * connection to a throwaway server of the same binding. Without it (no compiler or Node.js headers
 * at setup, another build, a failed check) the address comes from uWS and the port is 0.
 */
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type * as Uws from 'uWebSockets.js';
import type { HttpResponse } from 'uWebSockets.js';
import { formatAddress } from './peer.js';

type PeerFn = (res: HttpResponse, out: Uint8Array) => number;
type CapFn = (port: number, bytes: number) => number;
type CookieFn = (res: HttpResponse) => number;

/** Where the addon is built: <repo>/gateway/native/, for this Node.js ABI. */
export const PEER_ADDON = fileURLToPath(new URL(`../../gateway/native/peer-abi${process.versions.modules}.node`, import.meta.url));

/** The addon's answers: the address in [0, 4) or [0, 16), the port in [16, 18). */
const out = new Uint8Array(18);
const v4 = out.subarray(0, 4);
const v6 = out.subarray(0, 16);
/** The addon, once checked; null before and without it. */
let peer: PeerFn | null = null;
let port = 0;
let checked: Promise<string | null> | null = null;
/** The default of `capSendBuffers` (the kernel doubles it: 1 MiB queued at most per connection). */
export const DEFAULT_SEND_BUFFER_BYTES = 512 * 1024;
/** The addon's `capListeners`, once it passed the check; null before and without it. */
let capListeners: CapFn | null = null;
/** The addon's `cookie`, once it passed the check; null before, without it, and in an addon built before it. */
let cookieOf: CookieFn | null = null;

/**
 * What one connection may queue in the kernel for a client that does not read: SO_SNDBUF set once
 * on the server's listening socket(s) on `port`, which every connection it accepts inherits (no
 * system call per request). The held-answer budget does not count these bytes; autotuned, they
 * reached 3.5 MiB per stalled client (red team rounds 17 and 19,
 * docs/adr/0147-what-round-17-left-open.md). 0: the kernel's autotuning. Returns how many
 * listening sockets got it (0 without the addon: the kernel's).
 */
export function capSendBuffers(port: number, bytes: number): number {
  if (bytes <= 0 || capListeners === null) return 0;
  return Math.max(0, capListeners(port, bytes));
}

/** The peer's address as text (formatAddress); its port is `lastPeerPort()` until the next call. */
export function peerAddress(res: HttpResponse): string {
  if (peer !== null) {
    const n = peer(res, out);
    if (n === 4 || n === 16) {
      port = (out[16]! << 8) | out[17]!;
      return formatAddress(n === 4 ? v4 : v6);
    }
  }
  port = 0;
  return formatAddress(new Uint8Array(res.getRemoteAddress()));
}

/**
 * Whether the response's connection began with a PROXY protocol v2 header naming a client (the
 * pinned build parses one and keeps its address aside; a `LOCAL` header, which names none, leaves
 * nothing). The gateway takes no client address from it (ADR 0255).
 */
export function claimsProxiedClient(res: HttpResponse): boolean {
  return res.getProxiedRemoteAddress().byteLength > 0;
}

/** The port of the peer `peerAddress` gave last (0: unknown). */
export function lastPeerPort(): number {
  return port;
}

/**
 * The kernel's cookie of the response's connection (SO_COOKIE: never given to another socket while
 * the host runs); 0 when unknown (no addon, an addon built before it, no such option). Another
 * connection from the same address and port has another one (ClosedPeers, red team round 35).
 */
export function peerCookie(res: HttpResponse): number {
  if (cookieOf === null) return 0;
  const n = cookieOf(res);
  return typeof n === 'number' && n > 0 ? n : 0;
}

/**
 * Loads and checks the addon once per process; resolves to null when it is in use, else to why
 * not (the port stays 0). Never rejects.
 */
export function checkPeerAddon(uws: typeof Uws, addon = PEER_ADDON): Promise<string | null> {
  checked ??= selfCheck(uws, addon);
  return checked;
}

async function selfCheck(uws: typeof Uws, addon: string): Promise<string | null> {
  let fn: PeerFn;
  let cap: CapFn | undefined;
  let cookie: CookieFn | undefined;
  try {
    ({ peer: fn, capListeners: cap, cookie } = createRequire(import.meta.url)(addon) as { peer: PeerFn; capListeners?: CapFn; cookie?: CookieFn });
  } catch (err) {
    return `the peer addon did not load (${(err as Error).message.split('\n')[0]}; scripts/build-peer.sh builds it)`;
  }
  const seen = await new Promise<{ n: number; address: string; port: number; client: number } | string>((resolve) => {
    const app = uws.App().any('/*', (res) => {
      const n = fn(res, out);
      res.onAborted(() => {});
      const address = n === 4 ? formatAddress(v4) : n === 16 ? formatAddress(v6) : '';
      answer = { n, address, port: (out[16]! << 8) | out[17]! };
      res.end('', true);
    });
    let answer: { n: number; address: string; port: number } | null = null;
    const timer = setTimeout(() => done('no answer within 2 s'), 2_000);
    let listening: Uws.us_listen_socket | null = null;
    let finished = false;
    // Once: an error, the close after it and the timer may each get here.
    const done = (result: { n: number; address: string; port: number; client: number } | string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (listening !== null) uws.us_listen_socket_close(listening);
      listening = null;
      (app as { close?: () => void }).close?.();
      resolve(result);
    };
    app.listen('127.0.0.1', 0, (socket) => {
      if (!socket) return done('could not listen on 127.0.0.1');
      listening = socket;
      let local = -1; // the socket's port is gone once it is closed
      const client = connect(uws.us_socket_local_port(socket), '127.0.0.1', () => {
        local = client.localPort ?? -1;
        client.write('GET / HTTP/1.1\r\nHost: check\r\n\r\n');
      });
      client.on('error', (err) => done(`the check's connection failed: ${err.message}`));
      client.on('close', () => done(answer === null ? 'the check got no answer' : { ...answer, client: local }));
      client.resume();
    });
  });
  if (typeof seen === 'string') return `the peer addon's check did not run (${seen})`;
  if (seen.n !== 4 || seen.address !== '127.0.0.1' || seen.port !== seen.client) {
    return `the peer addon does not fit this uWebSockets.js build (it gave ${seen.n} ${seen.address}:${seen.port} for 127.0.0.1:${seen.client})`;
  }
  peer = fn;
  capListeners = cap ?? null; // an addon built before capListeners: the kernel's buffers
  cookieOf = cookie ?? null; // an addon built before cookie: connections known by address and port alone
  return null;
}
