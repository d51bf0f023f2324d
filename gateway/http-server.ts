/**
 * What the gateway's HTTP server (gateway/uws-adapter.ts) and the rest of the gateway exchange:
 * plain data, nothing of uWebSockets.js. The rules the server keeps are at the top of uws-adapter.ts.
 */
import type { Abortable, Pairs, PlainResponse } from '../protocol/index.js';
import type { WebSocketLink } from './websocket.js';

export interface IncomingRequest {
  /** Upper-case method. */
  readonly method: string;
  /** The raw (still percent-encoded) path, without the query. */
  readonly url: string;
  /** The raw query string without `?`. */
  readonly rawQuery: string;
  /** The request said HTTP/1.0 (./http10.ts); absent or false: HTTP/1.1. */
  readonly http10?: boolean;
  /** Lower-case names, in arrival order, repeated headers kept as separate pairs. */
  readonly headers: Pairs;
  /** A WebSocket handshake that may be answered with OutgoingResponse.websocket. */
  readonly upgradable?: boolean;
  /** The address of the connection's other end (`127.0.0.1`, `2001:db8::1`). */
  readonly peer: string;
  /** Its port; 0 when the gateway cannot tell (gateway/peer-port.ts). */
  readonly peerPort: number;
  /** Aborted when the client goes away (an AbortController made on first use). */
  readonly signal: AbortSignal;
  /** The same disconnect without an AbortController: what the invoke path listens to. */
  readonly abortable: Abortable;
  /** `performance.now()` when the request arrived. */
  readonly arrivedAt: number;
  /**
   * The whole body, at most maxBodyBytes. Rejects with PlatformError PAYLOAD_TOO_LARGE (then the
   * response must close the connection: the rest of the body was not read) or
   * CLIENT_CLOSED_REQUEST when the client went away.
   */
  body(): Promise<Uint8Array>;
  /** The whole body if it has arrived (what `body()` would resolve with), else null: then await `body()`. */
  bodyNow(): Uint8Array | null;
  /**
   * True when the request came without a body (no Content-Length, not chunked, or a length of 0):
   * a caller that only copies the body (the invoke frame) may then use a shared empty buffer of its
   * own instead of asking `bodyNow()` for a fresh one (issue 11). Absent: unknown.
   */
  readonly bodyless?: boolean;
}

/** An answer: PlainResponse's status, headers (names as given; never Content-Length or Transfer-Encoding: uWS writes framing itself), body or stream (rule 9), close and held share (rule 10), and what only the server reads. */
export interface OutgoingResponse extends PlainResponse {
  /** The Content-Length to announce when the request is HEAD (the body GET would have); none: no Content-Length. */
  headLength?: number;
  /** A HEAD answer says `Transfer-Encoding: chunked`: GET's body is a stream of unknown length (as uvicorn's HEAD answer says). */
  headChunked?: boolean;
  /** A streamed body's announced length (the function's own Content-Length): sent with it instead of chunked (rule 9). */
  streamLength?: number;
  /** Header values are bytes, one char each (WireResponse.latin1): written as Latin-1, not UTF-8. */
  latin1Headers?: boolean;
  /** Answers a WebSocket handshake (IncomingRequest.upgradable) by upgrading the connection to `websocket`; status and body unused. */
  websocket?: WebSocketLink;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Response bytes held for slow clients, all connections together (rule 10); default 1 GiB. */
  maxHeldResponseBytes?: number;
  /** Request body bytes being received, all connections together (rule 7); default 512 MiB. */
  maxBodyBytesInFlight?: number;
  /**
   * What upgraded WebSocket connections reserve, all together, for the client message uWS joins
   * unseen (uws-adapter rule 13); default an eighth of the memory (ws-reservations.ts).
   */
  maxWsReservedBytes?: number;
  /** The largest message a client may send on an upgraded connection (maxPayloadLength; uWS drops the connection past it: 1006 to the client, 1009 to the app); default 1 MiB, at most 16 MiB. */
  wsMaxMessageBytes?: number;
  /** SO_SNDBUF of each client connection (peer-port.ts `capSendBuffers`); 0: the kernel's autotuning. Default 512 KiB. */
  sendBufferBytes?: number;
  /**
   * The slow-client window of the byte budgets (byte-budget.ts; default SLOW_CLIENT_WINDOW_MS, 10 s).
   * No option sets it: a test of the rule sets a shorter one so as not to wait out two 10 s
   * windows (docs/adr/0186-test-time-windows-and-polls.md).
   */
  slowClientWindowMs?: number;
  /**
   * The body limit of one request, from its method and raw path (e.g. larger for code uploads
   * under /api/); default `maxBodyBytes` for every request. Called once per request, synchronously.
   */
  bodyLimit?(method: string, url: string, headers: Pairs): number;
  /**
   * The share of the body budget a request with a body counts in (its function's key; null: none),
   * so one function's calls hold at most a quarter of it (rule 7). Called after `bodyLimit`, only
   * for a request that has a body.
   */
  bodyShare?(url: string, headers: Pairs): string | null;
  /**
   * The group (a workspace) of a share (a body's `bodyShare`, an answer's `heldShare`): a group's
   * shares together hold at most half of each budget (rules 7 and 10). Without it shares are not grouped.
   */
  shareGroup?(share: string): string | null;
  handle(req: IncomingRequest): Promise<OutgoingResponse>;
  /** Turns an error that escaped `handle` into a response, so no request is left hanging. */
  onError(err: unknown, req: IncomingRequest): OutgoingResponse;
}

export interface HttpServer {
  readonly port: number;
  /** Requests received and not yet answered (or aborted). */
  readonly inFlight: number;
  /** Stops accepting connections; open connections keep being served. */
  stopListening(): void;
  /** Resolves when no request is in flight. */
  idle(): Promise<void>;
  /** Ends every streamed response, then closes every connection at once (in-flight requests are aborted). */
  closeAll(): void;
}
