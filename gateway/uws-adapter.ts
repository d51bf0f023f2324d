/**
 * Every contact with uWebSockets.js lives in this file and its `uws-*.ts` siblings (uws-head.ts: the
 * status line and headers; uws-stream-writer.ts: rule 9's writer; uws-websocket-side.ts: rule 12's
 * socket side). The rest of the gateway sees plain data (gateway/http-server.ts): an
 * `IncomingRequest` (copied fields, its disconnect, a body promise) and an `OutgoingResponse`.
 *
 * The rules of uWS, enforced here (breaking one crashes the process or corrupts a connection):
 *  1. `HttpRequest` is stack-allocated: it is valid only during the synchronous route callback.
 *     Method, URL, query and headers are copied out before anything can await.
 *  2. Every `HttpResponse` gets `onAborted` at once, or uWS terminates the process when the
 *     handler returns unanswered. The abort reaches the rest of the gateway as an `Abortable` (the
 *     request itself: no AbortController per request) and, for whoever asks, an AbortSignal.
 *  3. After `onAborted` fired, or after the response ended, `res` is never touched again
 *     (it is freed memory). `Exchange.aborted` / `Exchange.responded` guard every access.
 *  4. Writes happen inside `res.cork()`, so status, headers and body leave in one syscall.
 *  5. `onData` chunks are neutered when the callback returns: they are copied immediately.
 *  6. Large bodies go out with `tryEnd` and continue in `onWritable` from `getWriteOffset()`
 *     (backpressure), instead of buffering the whole body a second time inside uWS.
 *  7. The request body limit is enforced while streaming (and up front from Content-Length):
 *     bytes past the limit are never buffered. Bodies being received, and bodies received whole
 *     until the handler answers (their call holds them, whether their client is still there or
 *     not), all connections together, count in the server's `bodies` budget (`maxBodyBytesInFlight`,
 *     gateway/byte-budget.ts): a
 *     body that would pass it gets `503 GATEWAY_OVERLOADED`, and while more than half of it is
 *     used, a client sending slower than the minimum rate gets `408 REQUEST_BODY_TOO_SLOW`; both
 *     close the connection.
 *  8. A malformed request head (gateway/http-framing.ts) is refused from inside the route callback,
 *     before uWS parses the body, with the connection closed. The native parser may close the
 *     socket right after the callback returns (invalid Content-Length, a coding other than chunked)
 *     and then drops what sits in its 16 KiB cork buffer: the refusal is padded past that size so
 *     uWS writes it to the socket at once (docs/gateway.md, "Malformed requests").
 *  9. A streamed response (`OutgoingResponse.stream`: Server-Sent Events, a function's streamed
 *     body) ends its head at once (`StreamWriter.sendHead`, ADR 0150), then writes each chunk with `write` inside `cork` (small chunks of one turn of the loop in one cork at its end, never more than uWS's cork buffer holds: ADR 0203); after a write returns false (backed up)
 *     nothing more is written until `onWritable`, so a slow client holds at most one chunk. A tail
 *     does not count as in flight (a graceful stop waits for calls, not for tails) and `closeAll`
 *     ends it before closing sockets; a call's body (`holdsCall`) counts until it ends, and
 *     `closeAll` drops its connection (`abort`: never a truncated body that looks complete).
 *     A stream whose length is known (`streamLength`: the function announced its Content-Length,
 *     e.g. FastAPI behind `@app.middleware("http")`) goes out with that Content-Length, as uvicorn
 *     sends it, not chunked: each chunk with `tryEnd(chunk, length)` (rule 6's resumption from
 *     `getWriteOffset()` for a backed-up chunk); a body that runs past the length or ends short of
 *     it drops the connection, so no client takes it for whole.
 * 10. What of a whole response waits for a slow client (rule 6) counts in the server's
 *     `responses` budget: past `maxHeldResponseBytes` the response is cut (its connection closed),
 *     and while more than half of it is held, clients reading slower than the minimum rate are cut
 *     (gateway/byte-budget.ts, docs/gateway.md "Slow clients").
 * 11. A body refused before it was read whole (413, 503, an answer given before reading it; not
 *     408 too slow, nor too many chunks: those close at once) is drained, not cut (ADR 0059,
 *     gateway/body-drain.ts): closing with bytes unread makes the kernel reset the connection,
 *     and a client that writes its whole body before reading (Python's `http.client`, `urllib`)
 *     got a broken pipe instead of the answer. The answer
 *     goes out at once with `Connection: close`, all of it but its last byte (`tryEnd` with the
 *     whole length), so the response stays open in uWS: `res` and `onAborted` stay valid (uWS.js
 *     refuses every use of `res` once a response ended, so a drain could not close it after).
 *     The rest of the body is read and dropped, never buffered and counted in no budget. The
 *     last byte ends the response when the body ends, or when the client sent nothing for
 *     DRAIN_IDLE_MS (it waits for the answer), or past DRAIN_MAX_MS or drainBytesFor(limit)
 *     bytes (curl, reading while it sends, then has it whole and closes). After that last byte
 *     with the body unfinished, uWS reads what a client still sends for at most its keep-alive
 *     timeout (10 s, data does not extend it) and then closes; the drain's slot stays taken that
 *     long. Past the chunk bound, or with MAX_DRAINING drains running, the connection is closed at
 *     once as before. A request on that connection after the answer's last byte (pipelined behind
 *     the body) is closed unanswered: the answer said `Connection: close` (ClosedPeers, ADR 0168).
 * 12. A WebSocket handshake (`Upgrade: websocket` with a valid key: uWS routes it to the `ws`
 *     route, the rest of GETs fall through to `any`) goes through `handle` like any request, marked
 *     `upgradable`. An answer with `websocket` upgrades the connection (uWS writes the 101);
 *     any other answer is sent as HTTP. The upgraded socket's events go to the answer's
 *     WebSocketLink (gateway/websocket.ts); messages are copied out of uWS's buffers; a client
 *     message past `wsMaxMessageBytes` (rule 13) is dropped by uWS (no close frame: the client sees
 *     1006; the app is told 1009). The pongs uWS writes for a
 *     client's pings wait with the app's messages and count with them (`ping`). An upgraded connection counts as
 *     in flight until it closes; a graceful stop closes every upgraded socket with 1001, so their
 *     calls end and the stop waits for them. The 101's status and headers are written in a
 *     cork, the upgrade itself outside any (ADR 0129): uWS ends a cork by looking at the corked
 *     socket as the HTTP response it was, and a socket upgraded in it (resized in place) was now
 *     and then closed there with no close frame (1006). So `open` runs uncorked: what the app sent
 *     before the 101 was written, and its close, leave at once.
 * 13. uWS joins a client message's frames in a buffer of its own, up to maxPayloadLength
 *     (`wsMaxMessageBytes`), and calls no JavaScript before it is whole: bytes the gateway cannot
 *     see. So every handshake reserves that much in the server's `sockets` budget
 *     (`maxWsReservedBytes`; a function's calls a quarter of it, a workspace's a half) before its
 *     handler runs, held until its exchange ends (the socket closed, or answered without upgrading);
 *     one that does not fit gets `503 GATEWAY_OVERLOADED` with a Retry-After and no handler runs
 *     (gateway/ws-reservations.ts, ADR 0198).
 */
import { performance } from 'node:perf_hooks';
import type * as Uws from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import { errorBody, PlatformError, type Abortable, type Pairs, type ResponseStream } from '../protocol/index.js';
import { checkRequestHead, MAX_HEADER_BYTES, NATIVE_MAX_CONTENT_LENGTH } from './http-framing.js';
import { capSendBuffers, checkPeerAddon, claimsProxiedClient, DEFAULT_SEND_BUFFER_BYTES, lastPeerPort, peerAddress, peerCookie } from './peer-port.js';
import { addressState, holdTwin, loopbackTwin } from '../protocol/index.js';
import { ClosedPeers, DRAIN_IDLE_MS, DRAIN_MAX_MS, DrainSlots, drainBytesFor, UWS_KEEP_ALIVE_MS } from './body-drain.js';
import { ByteBudget, DEFAULT_MAX_BODY_BYTES_IN_FLIGHT, DEFAULT_MAX_HELD_RESPONSE_BYTES, SLOW_CLIENT_WINDOW_MS, type Holder } from './byte-budget.js';
import { bodyChunkLimit, bodyTooSlow, overloaded, tooLarge } from './body-refusals.js';
import { ERROR_HEADERS } from './error-headers.js';
import { listenCause } from './listen-cause.js';
import { absoluteTarget, useAuthority } from './absolute-form.js';
import { splitTarget } from './http10.js';
import type { HttpServer, HttpServerOptions, IncomingRequest, OutgoingResponse } from './http-server.js';
import { refusalResponse, writeHead } from './uws-head.js';
import { StreamWriter } from './uws-stream-writer.js';
import { socketSide, type SocketData } from './uws-websocket-side.js';
import { WS_IDLE_TIMEOUT_S, WS_MAX_MESSAGE_BYTES, type WebSocketLink } from './websocket.js';
import { appClose } from './ws-client-failures.js';
import { DEFAULT_WS_MAX_MESSAGE_BYTES, defaultWsReservedBytes, upgradeRefused } from './ws-reservations.js';

/** uWebSockets.js's HTTP_RECEIVE_THROUGHPUT_BYTES: a body's bytes that start its idle timer again. */
const UWS_RECEIVE_BYTES = 16 * 1024;
/** The least time after which uWS's 10 s idle timer (4 s granularity) closes a connection. */
const UWS_IDLE_CLOSE_MS = 8_000;

/** The server's two bounds on bytes kept for clients (rules 7 and 10). */
interface Budgets {
  responses: ByteBudget;
  bodies: ByteBudget;
  /** Connections draining a refused body (rule 11). */
  drains: DrainSlots;
  /** Connections whose drained answer ended with `Connection: close` (rule 11): their next request is closed unanswered. */
  closed: ClosedPeers;
  /** What upgraded connections reserve for a client message uWS joins unseen (rule 13). */
  sockets: ByteBudget;
}

/** A refused body being read and dropped (rule 11); `answer` is the response body, its last byte held back. */
interface Drain {
  readonly answer: Uint8Array;
  bytes: number;
  readonly maxBytes: number;
  readonly until: number;
  readonly idle: NodeJS.Timeout;
}

/**
 * The uWebSockets.js binding, or why it did not load: the package throws at import when it ships
 * no binary for this Node.js ABI, platform or C library. Loaded here, not by a static import, so a
 * start on such a machine ends with UWS_FALLBACK and its reason instead of a stack trace.
 *
 * The native parser's limit on a request head is read from the environment once, when the binary
 * loads (4 KiB unless set): twice the gateway's own, so a head between the two gets the gateway's
 * `431 REQUEST_HEADERS_TOO_LARGE` and only a larger one the parser's bare 431 page.
 */
process.env.UWS_HTTP_MAX_HEADERS_SIZE = String(2 * MAX_HEADER_BYTES);
const loaded: typeof Uws | Error = await import('uWebSockets.js').then(
  (module) => module,
  (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
);

/** The note that request.client's port is 0 (gateway/peer-port.ts) is given once per process. */
let portsNoted = false;

/** True when the native uWS binary is loaded (its `App` is a native function). */
export function uwsIsNative(): boolean {
  return !(loaded instanceof Error) && String(loaded.App).includes('[native code]');
}

/** Startup refusal (UWS_FALLBACK): uWebSockets.js has no working native binary here. */
export class UwsFallbackError extends PlatformError {
  constructor() {
    super(
      'UWS_FALLBACK',
      'uWebSockets.js could not load its native binary ' +
        `(node ${process.version}, ${process.platform}-${process.arch}, ABI ${process.versions.modules}` +
        (loaded instanceof Error ? `: ${loaded.message.split('\n')[0]}` : '') +
        '). The gateway runs only on the native build. ' +
        'Use a Node.js version the installed uWebSockets.js ships a binary for (20 or 22 on glibc Linux x64/arm64).',
    );
  }
}

/** The loaded binding; throws UWS_FALLBACK when there is none. */
function native(): typeof Uws {
  if (loaded instanceof Error || !uwsIsNative()) throw new UwsFallbackError();
  return loaded;
}

const EMPTY = new Uint8Array(0);

/** The default of the exchange's callbacks: one function, not two closures per request. */
const NOOP = (): void => {};
/** The pieces a chunked request body is gathered in (Exchange.append). */
const TAIL_BYTES = 64 * 1024;

type ListenWithOptions = (host: string, port: number, options: number, cb: (socket: us_listen_socket | false) => void) => TemplatedApp;
/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT (exported by the binary, missing from the typings). */
const LISTEN_EXCLUSIVE_PORT = (loaded as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: number }).LIBUS_LISTEN_EXCLUSIVE_PORT ?? 1;
/**
 * uWS writes a `uWebSockets: 20` header on every response unless its loop is "silent". The
 * switch is the undocumented `_cfg(key)` (missing from the typings): this build turns silent on
 * for a key whose character codes sum to 655, which "silent" does. Process-wide; Date stays.
 */
const uwsConfig = (loaded as unknown as { _cfg?: (key: string) => void })._cfg;
/** `close` among the options of a Connection header value. */
const CLOSE_OPTION = /(?:^|,)\s*close\s*(?:,|$)/i;
/** `upgrade` among them. */
const UPGRADE_OPTION = /(?:^|,)\s*upgrade\s*(?:,|$)/i;

/**
 * `req.forEach`'s callback: one function for all requests instead of a closure per request
 * (issue 11). It appends to `collecting`, set by the Exchange just before the (synchronous) call.
 */
let collecting: Pairs = [];
/** Whether the headers collected held `Connection: close` (RFC 9112 §9.6). */
let collectedClose = false;
let collectedUpgrade = false;
function collectHeader(name: string, value: string): void {
  collecting.push([name, value]);
  if (name !== 'connection') return;
  if (CLOSE_OPTION.test(value)) collectedClose = true;
  if (UPGRADE_OPTION.test(value)) collectedUpgrade = true;
}

/** One request/response pair and the state that keeps rules 2, 3 and 5-7. */
class Exchange implements IncomingRequest, Abortable, Holder {
  readonly method: string;
  readonly url: string;
  readonly rawQuery: string;
  readonly http10: boolean;
  readonly headers: Pairs = [];
  readonly peer: string;
  readonly peerPort: number;
  /**
   * The client sent `Connection: close`, or HTTP/1.0 (./http10.ts; a `Connection: keep-alive` from it
   * ignored, as uvicorn ignores it): uWS closes after the answer, which then says so (RFC 9112 §9.6),
   * as uvicorn's does.
   */
  private readonly clientCloses: boolean;
  /** `upgrade` among the Connection header's options: a WebSocket handshake must have it (RFC 6455 §4.1). */
  readonly asksUpgrade: boolean;
  readonly arrivedAt = performance.now();
  /** Made when someone asks for `signal` (most requests never do). */
  private controller: AbortController | null = null;
  /** Told once, when the client goes away (Abortable, without an AbortController). */
  private listeners: { handleEvent(): void }[] | null = null;
  /** The first listener, kept apart: every invocation's call listens while it runs (no array per request). */
  private listener: { handleEvent(): void } | null = null;
  aborted = false;
  /** send() was called: the response is ours to finish, nothing else may start one. */
  responded = false;
  /** uWS finished the response: `res` is gone (rule 3). */
  private ended = false;
  /** Called once, when the response has ended or the client went away. */
  onFinished: () => void = NOOP;
  /** Set while a streamed response is open (rule 9): how the server ends it at closeAll. */
  stream: StreamWriter | null = null;
  /** The WebSocket route's context, for a handshake: it may be answered by upgrading (rule 12). */
  upgradeContext: us_socket_context_t | null = null;

  private received = 0;
  /** A chunked body's pieces so far; made at its first piece (most requests have no body, or one of known length). */
  private chunks: Buffer[] | null = null;
  /** The chunked body's last piece, filled by append(); `tailUsed` of its bytes are the body's. */
  private tail: Buffer | null = null;
  private tailUsed = 0;
  /** Since when uWS's idle timer runs for the body being received, and the bytes that came since (onChunk). */
  private slowWindowStart = 0;
  private slowWindowBytes = 0;
  /** Calls of onData so far, and how many the body may take (bodyChunkLimit). */
  private chunkCalls = 0;
  private maxChunks = 0;
  private preallocated: Buffer | null = null;
  private outcome: { body: Uint8Array } | { error: PlatformError } | null = null;
  /** Who awaits a body still arriving; made when someone does (usually nobody: the body is settled first). */
  private waiters: { resolve(body: Uint8Array): void; reject(err: PlatformError): void }[] | null = null;

  private readonly maxBodyBytes: number;
  /** onData is registered: uWS hands this request's body to onChunk. */
  private reading = false;
  /** The body's last chunk arrived (or it had none): nothing is left unread. */
  private bodyDone = false;
  /** The refused body being drained (rule 11), and whether one was (later chunks are uWS's to drop). */
  private drain: Drain | null = null;
  private drained = false;
  /** The connection's cookie (peerCookie) when a drain started: its ClosedPeers mark names this connection only. */
  private drainCookie = 0;
  /** The drained answer's last byte left: uWS ended the response (rule 3). */
  private answerEnded = false;
  /** The refusal is about the chunks themselves (too many): closed at once, never drained. */
  private noDrain = false;
  /** What stands for this request's body in the server's budget of bodies being received (rule 7). */
  private bodyHolder: Holder | null = null;
  /** The share of that budget its body counts in (its function's key), or null. */
  private share: string | null = null;
  /** Came without a body (IncomingRequest.bodyless). */
  bodyless = false;
  /** The request head is malformed, or its body cannot be taken now: answer this at once, without calling the handler (rule 8). */
  readonly refusal: PlatformError | null = null;

  constructor(
    private readonly res: HttpResponse,
    req: HttpRequest,
    bodyLimit: (method: string, url: string, headers: Pairs) => number,
    private readonly bodyShare: ((url: string, headers: Pairs) => string | null) | null,
    private readonly budgets: Budgets,
    /** The server's open streamed responses (rule 9): this one is in it while its stream is open. */
    private readonly streams: Set<Exchange>,
  ) {
    // Rule 1: copy everything out of `req` now.
    // As sent: a method is case-sensitive (RFC 9110 §9.1); `get` is not GET (uvicorn passes it on too).
    this.method = req.getCaseSensitiveMethod();
    const target = splitTarget(req.getUrl(), req.getQuery());
    // Absolute-form (`GET http://host/path`, RFC 9112 §3.2.2): routed as its path, its authority for Host.
    const absolute = absoluteTarget(target.url);
    let url = absolute === null ? target.url : absolute.path;
    let rawQuery = target.query ?? '';
    // A fragment is no part of a request target (RFC 9112 §3.2): dropped, as uvicorn's parser does.
    const inUrl = url.indexOf('#');
    if (inUrl !== -1) {
      url = url.slice(0, inUrl);
      rawQuery = '';
    } else {
      const inQuery = rawQuery.indexOf('#');
      if (inQuery !== -1) rawQuery = rawQuery.slice(0, inQuery);
    }
    this.url = url;
    this.rawQuery = rawQuery;
    collecting = this.headers;
    collectedClose = false;
    collectedUpgrade = false;
    req.forEach(collectHeader);
    if (absolute !== null) useAuthority(this.headers, absolute.authority);
    this.http10 = target.http10;
    this.clientCloses = collectedClose || target.http10;
    this.asksUpgrade = collectedUpgrade;
    this.peer = peerAddress(res);
    this.peerPort = lastPeerPort();

    // Rule 2: the abort handler goes on before anything else can happen.
    res.onAborted(() => {
      this.aborted = true;
      this.endDrain(false);
      this.stream?.gone();
      this.finish();
      this.controller?.abort();
      const first = this.listener;
      const listeners = this.listeners;
      this.listener = null;
      this.listeners = null;
      first?.handleEvent();
      if (listeners !== null) for (const l of listeners) l.handleEvent();
      this.settle({ error: this.closedBy() });
    });

    // After onAborted (rule 2): a throwing limit function must not leave the response unguarded.
    let maxBodyBytes = 0;
    try {
      maxBodyBytes = bodyLimit(this.method, this.url, this.headers);
    } catch (err) {
      process.emitWarning(`gateway: body limit failed, refusing the body: ${String(err)}`);
    }
    this.maxBodyBytes = maxBodyBytes;
    this.maxChunks = bodyChunkLimit(maxBodyBytes);
    if (claimsProxiedClient(res)) {
      // ADR 0255: a PROXY v2 header's client is nobody's word here; refused, not silently dropped.
      this.refusal = PROXY_REFUSED;
      this.settle({ error: PROXY_REFUSED });
      return;
    }
    const framing = checkRequestHead(this.method, this.url, this.rawQuery, this.headers, absolute !== null);
    if (!framing.ok) {
      this.refusal = framing.error;
      this.settle({ error: framing.error });
      return;
    }
    const { contentLength, chunked } = framing;
    if (contentLength !== null && contentLength > NATIVE_MAX_CONTENT_LENGTH) {
      // uWS cannot read such a body (it drops the connection after this callback): refuse now.
      this.refusal = tooLarge(Math.min(maxBodyBytes, NATIVE_MAX_CONTENT_LENGTH));
      this.settle({ error: this.refusal });
      return;
    }
    if (contentLength !== null && contentLength > maxBodyBytes) {
      // Rule 7, early: refuse without buffering a byte. The body is read only to be dropped (rule 11).
      this.settle({ error: tooLarge(maxBodyBytes) });
      this.read();
      return;
    }
    if (!chunked && !contentLength) {
      // Settled as empty; the buffer itself is made when someone asks (bodyNow/body): a fresh one
      // per request, never a shared one, since a handler may move the body it gets to a worker
      // thread (controlplane/bundles), which detaches its ArrayBuffer. The invoke path asks
      // `bodyless` instead and asks for none (an ArrayBuffer and an object fewer per GET).
      this.bodyless = true;
      this.settle(NO_BODY);
      return;
    }
    // Rule 7: the announced size counts in the server's budget (and its function's share of it)
    // before a byte is allocated.
    this.bodyHolder = {
      cut: () => {
        this.noDrain = true; // cut to free the budget under pressure, from a sender too slow to finish a drain (ADR 0059)
        this.refuseBody(bodyTooSlow());
      },
    };
    try {
      this.share = this.bodyShare?.(this.url, this.headers) ?? null;
    } catch (err) {
      process.emitWarning(`gateway: body share failed, counting the body in none: ${String(err)}`);
    }
    if (contentLength !== null && !chunked && !this.budgets.bodies.hold(this.bodyHolder, contentLength, this.share)) {
      this.bodyHolder = null;
      this.refusal = overloaded(this.budgets.bodies, this.share, contentLength);
      this.settle({ error: this.refusal });
      this.read(); // drained after the answer (rule 11)
      return;
    }
    // One copy per chunk into a buffer of the announced size; chunked bodies are concatenated once at the end.
    if (contentLength !== null && !chunked) this.preallocated = Buffer.allocUnsafe(contentLength);
    this.read();
  }

  /**
   * Why the connection went: the client closed it, or uWS did because the body came slower than
   * 16 KiB per 10 s (its idle timer, 8-12 s with its 4 s granularity, which the platform cannot
   * change): that is no client's doing, and the run record said CLIENT_CLOSED_REQUEST (apps round
   * of 2026-12-05). uWS sends no answer either way.
   */
  private closedBy(): PlatformError {
    if (this.reading && !this.bodyDone && performance.now() - this.slowWindowStart >= UWS_IDLE_CLOSE_MS) {
      return new PlatformError('REQUEST_BODY_TOO_SLOW', `the request body arrived slower than 16 KiB in 10 s (${this.received} bytes so far): the gateway's HTTP server closed the connection`);
    }
    return new PlatformError('CLIENT_CLOSED_REQUEST', 'the client closed the connection');
  }

  /** Has uWS hand over the body (to be kept, or dropped once settled: onChunk). */
  private read(): void {
    this.reading = true;
    this.slowWindowStart = performance.now();
    this.res.onData((chunk, isLast) => this.onChunk(chunk, isLast));
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  get abortable(): Abortable {
    return this;
  }

  addEventListener(_type: 'abort', listener: { handleEvent(): void }): void {
    if (this.aborted) return;
    if (this.listener === null) this.listener = listener;
    else (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: { handleEvent(): void }): void {
    if (this.listener === listener) {
      this.listener = null;
      return;
    }
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners!.splice(at, 1);
  }

  bodyNow(): Uint8Array | null {
    const outcome = this.ownOutcome();
    return outcome !== null && 'body' in outcome ? outcome.body : null;
  }

  body(): Promise<Uint8Array> {
    const outcome = this.ownOutcome();
    if (outcome) return 'body' in outcome ? Promise.resolve(outcome.body) : Promise.reject(outcome.error);
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ resolve, reject }));
  }

  /** The outcome, with a bodyless request's empty body made now (its own buffer, kept: bodyNow and body give the same one). */
  private ownOutcome(): Exchange['outcome'] {
    if (this.outcome === NO_BODY) this.outcome = { body: new Uint8Array(0) };
    return this.outcome;
  }

  private onChunk(chunk: ArrayBuffer, isLast: boolean): void {
    if (isLast) this.bodyDone = true;
    if (this.drain !== null || this.drained) {
      this.chunkCalls++;
      this.drainChunk(chunk.byteLength, isLast);
      return;
    }
    // Every call is a crossing from the native parser on the event loop all functions share,
    // answered or not: past the bound, the request is refused and its connection closed.
    if (++this.chunkCalls > this.maxChunks && !isLast) {
      this.tooManyChunks();
      return;
    }
    if (this.outcome) return; // already too large, aborted or answered: drop the bytes
    const size = chunk.byteLength;
    if (this.received + size > this.maxBodyBytes) {
      // Rule 7, while streaming (chunked bodies have no Content-Length to check up front).
      this.chunks = null;
      this.tail = null;
      this.preallocated = null;
      this.settle({ error: tooLarge(this.maxBodyBytes) });
      return;
    }
    const budget = this.budgets.bodies;
    if (this.preallocated === null && size > 0 && !budget.hold(this.bodyHolder!, size, this.share)) {
      // Rule 7: a chunked body grows the server's budget as it arrives.
      this.refuseBody(overloaded(budget, this.share, size));
      return;
    }
    budget.moved(this.bodyHolder!, size);
    // uWS's own rule for a body arriving: its connection's idle timer starts again each time 16 KiB
    // more came; kept here to tell its close of a slow body from a client's (onAborted).
    if ((this.slowWindowBytes += size) >= UWS_RECEIVE_BYTES) {
      this.slowWindowBytes = 0;
      this.slowWindowStart = performance.now();
    }
    // Rule 5: copy now, the ArrayBuffer is neutered when this callback returns.
    if (this.preallocated) Buffer.from(chunk).copy(this.preallocated, this.received);
    else if (size > 0) this.append(new Uint8Array(chunk));
    this.received += size;
    if (!isLast) return;
    if (this.tail !== null) (this.chunks ??= []).push(this.tail.subarray(0, this.tailUsed));
    const body = this.preallocated ? this.preallocated.subarray(0, this.received) : Buffer.concat(this.chunks ?? [], this.received);
    this.chunks = null;
    this.tail = null;
    this.preallocated = null;
    this.settle({ body });
  }

  /** More chunks than bodyChunkLimit(): 413 and the connection closed, or only closed once answering began. */
  private tooManyChunks(): void {
    this.noDrain = true; // the chunks are the attack (red team 2): no more of them are read
    this.refuseBody(new PlatformError('PAYLOAD_TOO_LARGE', `the request body came in more than ${this.maxChunks} chunks (send larger chunks)`, { limitChunks: this.maxChunks }));
  }

  /** The body is refused while it arrives: what it took is freed, `error` answered and the connection closed (or only closed once answering began). */
  private refuseBody(error: PlatformError): void {
    if (this.aborted || this.ended) return;
    this.chunks = null;
    this.tail = null;
    this.preallocated = null;
    this.settle({ error });
    if (this.responded) this.destroy();
    else this.send({ status: error.status, headers: [...ERROR_HEADERS], body: errorBody(error), closeConnection: true });
  }

  /**
   * Copies a piece of a chunked body into `tail`, a buffer of up to TAIL_BYTES, so what the body
   * costs is its size: the native parser hands over every chunk on its own, and a Buffer per
   * 1-byte chunk cost ~130 bytes each (a 4 MiB body of such chunks took 500 MiB; red team 2).
   */
  private append(piece: Uint8Array): void {
    const room = this.tail === null ? 0 : this.tail.length - this.tailUsed;
    if (piece.length <= room) {
      this.tail!.set(piece, this.tailUsed);
      this.tailUsed += piece.length;
      return;
    }
    if (this.tail !== null) (this.chunks ??= []).push(this.tail.subarray(0, this.tailUsed));
    if (piece.length >= TAIL_BYTES) {
      this.tail = null;
      (this.chunks ??= []).push(Buffer.from(piece));
      return;
    }
    // Never more than the body may still take (the limit was checked before this piece).
    this.tail = Buffer.allocUnsafe(Math.max(piece.length, Math.min(TAIL_BYTES, this.maxBodyBytes - this.received)));
    this.tail.set(piece, 0);
    this.tailUsed = piece.length;
  }

  private settle(outcome: { body: Uint8Array } | { error: PlatformError }): void {
    if (this.outcome) return;
    this.outcome = outcome;
    // Refused: the body leaves the budget. Received: it stays counted while its call holds it
    // (until the handler answers, even for a client that left: releaseBody), no longer timed as
    // a slow client.
    if (this.bodyHolder !== null) {
      if ('body' in outcome) this.budgets.bodies.settle(this.bodyHolder);
      else this.releaseBody();
    }
    if (this.waiters === null) return; // the usual case: the body is settled before anyone asks
    const waiters = this.waiters;
    this.waiters = null;
    for (const w of waiters) {
      if ('body' in outcome) w.resolve(outcome.body);
      else w.reject(outcome.error);
    }
  }

  /**
   * The request body leaves the server's budget of bodies (rule 7): the handler answered (its call
   * ended; a streamed body's call: when the stream ends), or the client left before the body was
   * whole. A client that leaves after does not release it: its call may still run, holding it.
   */
  private releaseBody(): void {
    if (this.bodyHolder === null) return;
    this.budgets.bodies.release(this.bodyHolder);
    this.bodyHolder = null;
  }

  get upgradable(): boolean {
    return this.upgradeContext !== null;
  }

  /**
   * Rule 12: a handshake answered with a WebSocket (OutgoingResponse.websocket) upgrades the
   * connection (uWS writes the 101 and its headers); `res` is gone after, the link gets the socket at `open`.
   */
  private upgrade(link: WebSocketLink, headers: Pairs, share: string | null): void {
    const context = this.upgradeContext;
    this.responded = true;
    this.releaseBody();
    if (context === null) {
      link.gone(1006, '');
      this.res.cork(() => this.res.writeStatus('500 Internal Server Error').end());
      return;
    }
    const value = (name: string): string => this.headers.find(([k]) => k === name)?.[1] ?? '';
    const data: SocketData = { link, share, side: null, done: () => this.finish() };
    const res = this.res;
    res.cork(() => {
      // The status first: uWS's upgrade then writes its own handshake headers after these.
      res.writeStatus('101 Switching Protocols');
      for (const [name, v] of headers) res.writeHeader(name, v);
    });
    // Outside the cork (ADR 0129): at a cork's end uWS treats the corked socket as the HTTP
    // response it was, and an upgrade resizes it in place into a WebSocket, so it read a stale
    // `Connection: close` there now and then and ended the new connection with no close frame.
    res.upgrade(data, value('sec-websocket-key'), link.protocol, value('sec-websocket-extensions'), context);
  }

  /** Writes the response once; a no-op after abort or a previous response (rule 3). */
  send(out: OutgoingResponse): void {
    if (out.websocket !== undefined && !this.aborted && !this.responded) {
      this.upgrade(out.websocket, out.headers, out.heldShare ?? null);
      return;
    }
    out.websocket?.gone(1006, '');
    if (this.aborted || this.responded) {
      this.releaseBody(); // the handler answered: its call no longer holds the body
      out.stream?.cancel?.();
      return;
    }
    this.responded = true;
    // Rule 7: the call answered, so it no longer holds the body (a streamed body's call holds it until it ends: finish).
    if (out.stream?.holdsCall !== true) this.releaseBody();
    // Nothing may arrive for this request any more (404 before reading a body, 413 mid-stream).
    // The rest of its body is not read: the connection closes with this answer, so the client
    // cannot go on sending it, unbounded, for the parser to hand over piece by piece (red team 2).
    if (this.outcome === null) {
      this.settle(ALREADY_ANSWERED);
      if (out.stream === undefined) out = { ...out, closeConnection: true };
    }
    const res = this.res;
    const body = typeof out.body === 'string' ? Buffer.from(out.body) : (out.body ?? EMPTY);
    const noBody = this.method === 'HEAD' || out.status === 204 || out.status === 304;
    if (out.stream !== undefined) {
      if (!noBody && !out.closeConnection) {
        this.startStream(out, out.stream);
        return;
      }
      out.stream.cancel?.();
    }
    if (this.shouldDrain(out, body, noBody)) {
      this.startDrain(out, body);
      return;
    }
    res.cork(() => {
      // Rule 4: status, headers and body in one corked write.
      // uWS writes its own `Connection: close` when told to close (out.closeConnection), but not
      // when the client asked for the close: then this is the only one.
      writeHead(res, out, this.clientCloses);
      if (noBody) {
        // No body bytes (uWS would write the body even for HEAD). Call it with no arguments: in
        // this build an explicit `undefined` length writes a garbage Content-Length and breaks
        // the connection; closing needs an explicit length, 0 then.
        // A HEAD answer announces the length GET would have (RFC 9110 §9.3.2), when it is known. As
        // a header: `endWithoutBody(n)` makes this build wait for n body bytes and close the connection.
        if (this.method === 'HEAD' && out.status !== 204 && out.status !== 304 && !out.closeConnection) {
          if (out.headLength !== undefined) res.writeHeader('content-length', String(out.headLength));
          else if (out.headChunked === true) res.writeHeader('transfer-encoding', 'chunked');
        }
        if (out.closeConnection) res.endWithoutBody(0, true);
        else res.endWithoutBody();
        this.finish();
        return;
      }
      if (out.closeConnection) {
        res.end(body, true);
        this.finish();
        return;
      }
      this.writeWithBackpressure(body, out.heldShare ?? null);
    });
  }

  /** Rule 11: a body still arriving is left unread only past the drain's bounds. */
  private shouldDrain(out: OutgoingResponse, body: Uint8Array, noBody: boolean): boolean {
    return out.closeConnection === true && !noBody && body.byteLength > 0 && this.reading && !this.bodyDone && !this.noDrain &&
      this.budgets.drains.take();
  }

  /** Rule 11: the answer but its last byte, with `Connection: close`; the body is read and dropped from now on. */
  private startDrain(out: OutgoingResponse, answer: Uint8Array): void {
    const res = this.res;
    const total = answer.byteLength;
    this.drainCookie = peerCookie(res); // while the response is live; the mark is made when it ended
    res.cork(() => {
      // uWS keeps the connection open (a response that closes would end it now): the client is told.
      writeHead(res, out, true);
      const [ok] = res.tryEnd(answer.subarray(0, total - 1), total);
      if (!ok) {
        // A client that reads nothing while it sends: the rest of the answer waits for the socket
        // (its last byte too, once the drain ended).
        res.onWritable((offset) => {
          if (this.aborted || this.answerEnded) return true;
          let wrote = false;
          res.cork(() => {
            const [written, done] = res.tryEnd(answer.subarray(offset, this.drain === null ? total : total - 1), total);
            wrote = written;
            if (done) this.closedAfterDrain();
          });
          return wrote;
        });
      }
    });
    const idle = setTimeout(() => this.endDrain(true), DRAIN_IDLE_MS);
    this.drain = { answer, bytes: 0, maxBytes: drainBytesFor(this.maxBodyBytes), until: performance.now() + DRAIN_MAX_MS, idle };
    // Not in flight any more: a graceful stop does not wait for a drain (closeAll closes it).
    this.finish();
  }

  /** A chunk of a drained body: dropped; the drain ends with the body, or at its bounds (closed). */
  private drainChunk(bytes: number, isLast: boolean): void {
    const drain = this.drain;
    if (drain === null) return; // after the answer's last byte: uWS's (rule 11)
    drain.bytes += bytes;
    if (isLast) this.endDrain(true);
    else if (this.chunkCalls > this.maxChunks) this.endDrain(false); // the chunks are the attack (red team 2): cut
    // Past its bytes or time the answer ends all the same (a client that reads while it sends, curl,
    // has it whole); uWS then closes the connection within its keep-alive timeout.
    else if (drain.bytes > drain.maxBytes || performance.now() > drain.until) this.endDrain(true);
    else drain.idle.refresh();
  }

  /** Ends the drain: the answer's last byte (`complete`), or the connection closed (too many chunks, or gone). */
  private endDrain(complete: boolean): void {
    const drain = this.drain;
    if (drain === null) return;
    this.drain = null;
    this.drained = true;
    clearTimeout(drain.idle);
    const slots = this.budgets.drains;
    // A body not read to its end leaves uWS reading it after the answer ends (UWS_KEEP_ALIVE_MS): the slot stays taken as long.
    if (complete && !this.bodyDone && !this.aborted) setTimeout(() => slots.give(), UWS_KEEP_ALIVE_MS).unref();
    else slots.give();
    if (this.aborted) return; // rule 3
    const res = this.res;
    if (!complete) {
      res.close(); // fires onAborted
      return;
    }
    const total = drain.answer.byteLength;
    res.cork(() => {
      const [, done] = res.tryEnd(drain.answer.subarray(Math.min(res.getWriteOffset(), total - 1)), total);
      if (done) this.closedAfterDrain(); // rule 3: else onWritable ends it
    });
  }

  /**
   * The drained answer's last byte left: uWS keeps the connection open (`tryEnd`), though the
   * answer said `Connection: close`. A request pipelined behind the body is closed unanswered
   * (ClosedPeers); it ran before (differential round 3).
   */
  private closedAfterDrain(): void {
    this.answerEnded = true;
    if (this.peerPort !== 0) this.budgets.closed.mark(this.peer, this.peerPort, this.drainCookie);
  }

  /** Rule 9: the head now, then chunks as the stream writes them; not in flight from here on. */
  private startStream(out: OutgoingResponse, stream: ResponseStream): void {
    const res = this.res;
    const holdsCall = stream.holdsCall === true;
    const writer = new StreamWriter(res, holdsCall, out.streamLength, () => {
      this.stream = null;
      this.streams.delete(this);
      if (holdsCall) this.finish(); // a call's body is in flight until it ends (or the client leaves)
    }, () => this.aborted);
    this.stream = writer;
    this.streams.add(this);
    res.onWritable((offset) => writer.writable(offset));
    res.cork(() => {
      // uWS writes its own `Connection: close` when told to close (out.closeConnection), but not
      // when the client asked for the close: then this is the only one.
      writeHead(res, out, this.clientCloses);
      // The head is whole now, whatever the stream sends and when (ADR 0150); its first chunks, when
      // they came with it, leave in this cork too.
      writer.sendHead();
      try {
        stream.start(writer);
      } catch (err) {
        process.emitWarning(`gateway: a response stream failed to start: ${String(err)}`);
        writer.end();
      }
    });
    // A graceful stop waits for calls, not for tails: a tail stops counting as in flight now.
    if (!holdsCall) this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    // Ended before the handler answered (the client left): a body received whole (the outcome is
    // the body) stays counted until the handler's answer comes (send), since its call still holds it.
    if (this.responded || this.outcome === null || !('body' in this.outcome)) this.releaseBody();
    this.budgets.responses.release(this);
    this.onFinished();
  }

  /** Rule 10: the response waited too long or too much for its client; its connection goes (after the current cork). */
  cut(): void {
    queueMicrotask(() => this.destroy());
  }

  /** Last resort when writing the response threw: drop the connection rather than hang it. */
  destroy(): void {
    if (this.aborted || this.ended) return;
    this.responded = true;
    this.res.close(); // fires onAborted
    this.finish(); // idempotent, in case it did not
  }

  private writeWithBackpressure(body: Uint8Array, share: string | null): void {
    const res = this.res;
    const base = res.getWriteOffset();
    const [ok, done] = res.tryEnd(body, body.byteLength);
    if (done || ok) {
      this.finish();
      return;
    }
    // Rule 10: what waits for the client counts against the server's bound, or is cut now.
    if (!this.budgets.responses.hold(this, body.byteLength - (res.getWriteOffset() - base), share)) {
      this.cut();
      return;
    }
    // Rule 6: uWS took what the socket could take; continue from where it stopped.
    res.onWritable((offset) => {
      if (this.aborted || this.ended) return true; // rule 3: the connection is gone, stop writing
      let wrote = false;
      res.cork(() => {
        const [retryOk, done] = res.tryEnd(body.subarray(offset - base), body.byteLength);
        wrote = retryOk;
        if (done) this.finish();
        else this.budgets.responses.progress(this, body.byteLength - (res.getWriteOffset() - base));
      });
      return wrote;
    });
  }
}

/**
 * The sink a ResponseStream writes to (rule 9). `res` is touched only while `open`: the client
 * leaving (onAborted → gone) or the end closes it for good (rule 3).
 */
/** The outcome of a request without a body until someone asks for it (Exchange.ownOutcome makes its own then). Never handed out. */
const NO_BODY: { body: Uint8Array } = { body: new Uint8Array(0) };

/** The outcome of a body nobody may read any more; one shared object, not one per response. */
const PROXY_REFUSED = new PlatformError('PROXY_PROTOCOL_REFUSED', 'the connection began with a PROXY protocol header: the gateway takes the client address from X-Forwarded-For of a trusted proxy (FP_TRUSTED_PROXIES), not from PROXY headers');
const ALREADY_ANSWERED = { error: new PlatformError('BAD_REQUEST', 'the request was already answered') } as const;

/**
 * Only a bug in onError/send gets here; keep the process up, answer if nothing was written yet,
 * else drop the connection (a half-written response must not hang).
 */
function answerBug(exchange: Exchange, err: unknown): void {
  process.emitWarning(`gateway: could not answer a request: ${String(err)}`);
  try {
    if (!exchange.responded) exchange.send({ status: 500, headers: [], body: '' });
    else exchange.destroy();
  } catch (again) {
    process.emitWarning(`gateway: could not answer a request: ${String(again)}`);
  }
}

/** Starts listening; resolves with the bound port (useful with port 0). */
export async function startHttpServer(options: HttpServerOptions, attempt = 1): Promise<HttpServer> {
  if (!uwsIsNative()) throw new UwsFallbackError();
  const uws = native();
  uwsConfig?.('silent');
  const noPorts = await checkPeerAddon(uws);
  if (noPorts !== null && !portsNoted) {
    portsNoted = true;
    process.emitWarning(`gateway: request.client's port is 0: ${noPorts}`);
  }
  const app: TemplatedApp = uws.App();
  const fixedLimit = options.maxBodyBytes;
  const bodyLimit = options.bodyLimit?.bind(options) ?? (() => fixedLimit);
  const bodyShare = options.bodyShare?.bind(options) ?? null;
  const shareGroup = options.shareGroup?.bind(options) ?? null;
  const slowWindow = options.slowClientWindowMs ?? SLOW_CLIENT_WINDOW_MS;
  const budgets: Budgets = {
    responses: new ByteBudget(options.maxHeldResponseBytes ?? DEFAULT_MAX_HELD_RESPONSE_BYTES, undefined, shareGroup, slowWindow),
    bodies: new ByteBudget(options.maxBodyBytesInFlight ?? DEFAULT_MAX_BODY_BYTES_IN_FLIGHT, undefined, shareGroup, slowWindow),
    drains: new DrainSlots(),
    closed: new ClosedPeers(),
    sockets: new ByteBudget(options.maxWsReservedBytes ?? defaultWsReservedBytes(), undefined, shareGroup, slowWindow),
  };
  const wsMaxMessageBytes = Math.min(options.wsMaxMessageBytes ?? DEFAULT_WS_MAX_MESSAGE_BYTES, WS_MAX_MESSAGE_BYTES);
  let inFlight = 0;
  /**
   * Set by stopListening (a graceful stop): every answer from then on closes its connection
   * (`Connection: close`), so a client or proxy that keeps connections open reconnects, to the
   * listening socket that is gone, and so to another gateway. Before (ops round 1) a kept-alive
   * connection took request after request for the whole shutdown grace, each answered 503
   * SHUTTING_DOWN: a load balancer's pooled connections lost up to 10 s of calls.
   */
  let stopping = false;
  let idleWaiters: (() => void)[] = [];
  /** Streamed responses still open (rule 9), ended by closeAll. */
  const streams = new Set<Exchange>();

  const serve = (res: HttpResponse, req: HttpRequest, upgradeContext: us_socket_context_t | null): void => {
    if (budgets.closed.size > 0 && budgets.closed.take(peerAddress(res), lastPeerPort(), () => peerCookie(res))) {
      // Rule 11: pipelined behind a drained refusal whose answer said `Connection: close`. Closed
      // once this read's callback returned: uWS sends what it corked meanwhile (that answer's end)
      // only then, and a close now would drop it.
      let gone = false;
      res.onAborted(() => (gone = true)); // rule 2
      setImmediate(() => {
        if (!gone) res.close(); // rule 3
      });
      return;
    }
    const exchange = new Exchange(res, req, bodyLimit, bodyShare, budgets, streams);
    // uWS routes any GET with a Sec-WebSocket-Key here; without `Connection: upgrade` it is no
    // handshake (invokeHttp answers 400, as for a bad key; `Connection: close` alone had the
    // upgrade's own end close the new connection before a frame). Nor an HTTP/1.0 one (RFC 6455
    // §4.1 asks for 1.1): the parser marks it to be closed after its answer, and closed after the
    // 101 its WebSocket lived on, its frames written to the next connection that took the socket
    // (apps round 30; docs/security.md).
    exchange.upgradeContext = exchange.asksUpgrade && !exchange.http10 ? upgradeContext : null;
    // In flight until both the handler settled and the response ended (or the client left):
    // a large response still streaming under backpressure counts, so shutdown waits for it.
    inFlight++;
    let parts = 2;
    const partDone = () => {
      if (--parts > 0) return;
      inFlight--;
      if (inFlight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const wake of waiters) wake();
      }
    };
    exchange.onFinished = partDone;
    if (exchange.refusal) {
      // Rule 8: answered now, inside the callback; no handler runs for a malformed request.
      exchange.send(refusalResponse(exchange.refusal));
      partDone();
      return;
    }
    if (exchange.upgradeContext !== null) {
      // Rule 13: the socket's unseen message is reserved before a slot is asked for, until the exchange ends.
      let share: string | null = null;
      try {
        share = bodyShare?.(exchange.url, exchange.headers) ?? null;
      } catch (err) {
        process.emitWarning(`gateway: share failed, counting the WebSocket's reservation in none: ${String(err)}`);
      }
      const reservation: Holder = { cut: NOOP }; // settled below: never swept, so never cut
      if (!budgets.sockets.hold(reservation, wsMaxMessageBytes, share)) {
        exchange.send(refusalResponse(upgradeRefused(budgets.sockets, share, wsMaxMessageBytes)));
        partDone();
        return;
      }
      budgets.sockets.settle(reservation); // held while the connection lasts: no client to time
      exchange.onFinished = () => {
        budgets.sockets.release(reservation);
        partDone();
      };
    }
    // One `then` per request, not a chain of four promises (catch, then, catch, finally): each
    // link is an allocation and a microtask on the hot path (issue 11).
    const answer = (out: OutgoingResponse): void => {
      try {
        exchange.send(stopping && out.stream === undefined && out.closeConnection !== true ? { ...out, closeConnection: true } : out);
      } catch (err) {
        answerBug(exchange, err);
      }
      partDone();
    };
    const fail = (err: unknown): void => {
      let out: OutgoingResponse;
      try {
        out = options.onError(err, exchange);
      } catch (bug) {
        answerBug(exchange, bug);
        partDone();
        return;
      }
      answer(out);
    };
    let pending: Promise<OutgoingResponse>;
    try {
      pending = options.handle(exchange);
    } catch (err) {
      fail(err);
      return;
    }
    void pending.then(answer, fail);
  };
  app.any('/*', (res, req) => serve(res, req, null));
  // Rule 12. uWS hands this route only GETs with a WebSocket key; every other request falls through to `any`.
  const sockets = new Set<WebSocket<SocketData>>();
  app.ws<SocketData>('/*', {
    maxPayloadLength: wsMaxMessageBytes,
    // Far above WS_HIGH_WATER_BYTES, where the link stops taking the app's messages: never dropped by uWS.
    maxBackpressure: 4 * WS_MAX_MESSAGE_BYTES,
    idleTimeout: WS_IDLE_TIMEOUT_S,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => serve(res, req, context),
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      const side = socketSide(ws, budgets.responses);
      data.side = side;
      if (stopping) side.end(1001, 'the server is stopping');
      else data.link.open(side);
    },
    message: (ws, message, isBinary) => {
      ws.getUserData().link.message(new Uint8Array(message.slice(0)), isBinary);
    },
    // uWS answers a client's ping with a pong of its own, written where the app's messages wait: a
    // client that pings and reads nothing had the gateway hold its pongs, up to maxBackpressure per
    // connection, counted in no budget (red team round 32: 4 such connections, +165 MB in 11 s).
    // Counted now as everything else waiting for the client (rule 10): past its share, or too slow
    // while the budget is half full, the connection is cut.
    ping: (ws) => {
      ws.getUserData().side?.recount();
    },
    drain: (ws) => {
      const data = ws.getUserData();
      data.side?.recount();
      data.link.drained();
    },
    close: (ws, code, message) => {
      sockets.delete(ws);
      const data = ws.getUserData();
      data.side?.detach();
      if (data.side !== null) budgets.responses.release(data.side);
      // uWS fails a connection itself (a message past maxPayloadLength, not UTF-8, an invalid frame)
      // with no close frame (the client sees 1006) and says why only in its own words: the app is
      // told the code uvicorn's app gets (1009, 1007, 1002), where it saw "1006 Received …".
      const told = appClose(code, Buffer.from(message).toString('utf8'), wsMaxMessageBytes);
      data.link.gone(told.code, told.reason);
      data.done();
    },
  });

  return new Promise((resolve, reject) => {
    // Exclusive: without it uSockets sets SO_REUSEPORT and a second gateway would silently share the port.
    // The native build takes (host, port, options, cb); the typings of this version lack that overload.
    const listen = app.listen.bind(app) as unknown as ListenWithOptions;
    listen(options.host, options.port, LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (!socket) {
        void listenCause(options.host, options.port).then((cause) => {
          reject(new PlatformError('LISTEN_FAILED', `cannot listen on ${options.host}:${options.port}: ${cause}`, { host: options.host, port: options.port }));
        });
        return;
      }
      let listening: us_listen_socket | null = socket;
      const port = uws.us_socket_local_port(socket);
      capSendBuffers(port, options.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES);
      // The IPv6 twin of a 127.0.0.1 listener, held so no other local user can: see loopbackTwin.
      let twin: us_listen_socket | null = null;
      let closed = false;
      const twinHost = loopbackTwin(options.host);
      const holdsTwin = (host: string): boolean => {
        if (closed) return true; // closed meanwhile (closeAll): nothing more to hold
        listen(host, port, LISTEN_EXCLUSIVE_PORT, (held) => {
          twin = held || null;
        });
        return twin !== null;
      };
      const twinTaken = twinHost === null ? Promise.resolve(false) : holdTwin(() => holdsTwin(twinHost), () => addressState(twinHost, port)).then((held) => held === 'taken');
      const closeListening = (): void => {
        closed = true;
        if (listening) uws.us_listen_socket_close(listening);
        listening = null;
        if (twin) uws.us_listen_socket_close(twin);
        twin = null;
      };
      const server: HttpServer = {
        port,
        get inFlight() {
          return inFlight;
        },
        stopListening() {
          stopping = true;
          closeListening();
          // Their calls end with them (the app sees websocket.disconnect); clients reconnect elsewhere.
          for (const ws of [...sockets]) ws.end(1001, 'the server is stopping');
        },
        idle() {
          return inFlight === 0 ? Promise.resolve() : new Promise<void>((wake) => idleWaiters.push(wake));
        },
        closeAll() {
          budgets.responses.stop();
          budgets.bodies.stop();
          budgets.sockets.stop();
          closeListening();
          // Streams end cleanly first (their last chunks are written), then every socket closes.
          // A call's body still open is cut instead: ending it would pass a truncated body for whole.
          for (const exchange of [...streams]) {
            if (exchange.stream?.holdsCall === true) exchange.stream.abort();
            else exchange.stream?.end();
          }
          for (const ws of [...sockets]) ws.end(1001, 'the server is stopping');
          // `close` exists on the native App (closes every socket) but is missing from the typings.
          (app as TemplatedApp & { close?: () => void }).close?.();
        },
      };
      void twinTaken.then((taken) => {
        if (!taken) return resolve(server);
        server.closeAll();
        // Any free port: the kernel's pick was free on 127.0.0.1 only; another pick.
        if (options.port === 0 && attempt < 3) return resolve(startHttpServer(options, attempt + 1));
        reject(new PlatformError('LISTEN_FAILED', `cannot listen on ${options.host}:${port}: another process listens on [${twinHost}]:${port}, where browsers open http://localhost:${port}/ and the *.localhost URLs this platform prints (its console's among them); stop it, or pick another port`, { host: options.host, port }));
      });
    });
  });
}
