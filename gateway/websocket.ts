/**
 * A function's WebSocket connection (docs/api-invoke.md, "WebSockets"; docs/adr/0126-websockets.md):
 * one connection is one call of an ASGI app, between the client's socket (uws-adapter.ts) and the
 * call's stream (poolmgr ResponseBody), both ways and bounded both ways:
 * - the app's messages come as pieces of its streamed body (a kind byte, then the payload:
 *   runtime/fp_runtime/websocket.py); a piece is acknowledged to the runtime once the client's
 *   socket holds less than WS_HIGH_WATER_BYTES, so a slow client stops the app's `send`;
 * - the client's messages go to the app within a window it has not taken yet (WS_INBOUND_WINDOW_BYTES
 *   and _MESSAGES, and its instance's share: ADR 0194); past it they wait here, in order, counted in
 *   the held-answer budget, up to WS_HELD_INBOUND_BYTES; past that, or with none taken for
 *   WS_HELD_INBOUND_STALL_MS, the connection is closed (1008): the installed uWS cannot stop reading
 *   a WebSocket (no pause()), so a client that keeps sending cannot be held back as uvicorn holds it.
 */
import type { BodyReader, CallEnd } from '../poolmgr/index.js';
import { WS_MESSAGE_COST_BYTES } from '../protocol/index.js';
import { TOKEN_GONE_REASON, type Holder } from './holder.js';

/** The other end of an upgraded connection (FunctionSocket): what the adapter (uws-adapter.ts, rule 12) tells it. */
export interface WebSocketLink {
  /** The subprotocol chosen ('' for none). */
  readonly protocol: string;
  /** The connection is open: `side` sends to the client until `gone`. */
  open(side: WebSocketSide): void;
  /** A message from the client (copied: it outlives the callback). */
  message(data: Uint8Array, binary: boolean): void;
  /** The client's socket took what was buffered for it. */
  drained(): void;
  /** The connection closed: the client's close code, or 1006 when it just went away. `side` is gone. */
  gone(code: number, reason: string): void;
}

/** The client's end of an upgraded connection. */
export interface WebSocketSide {
  send(data: Uint8Array, binary: boolean): void;
  /** Bytes of a message being joined from its pieces (they count in the held-answer budget). */
  joined(bytes: number): void;
  /** Bytes of the client's messages waiting for room at the app (they count in the held-answer budget). */
  waiting(bytes: number): void;
  /** Bytes buffered for the client, not sent yet. */
  buffered(): number;
  /** Closes with `code` and `reason` (≤ 123 bytes). */
  end(code: number, reason: string): void;
}

/**
 * The largest message the app may send, and the most an operator may let a client send
 * (FP_WS_MAX_MESSAGE_BYTES, 1 MiB by default: ws-reservations.ts): uvicorn's `ws_max_size`.
 */
export const WS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/**
 * Seconds without a frame either way after which uWS closes the connection; it pings a quiet client
 * before that (sendPingsAutomatically), so only a client that stopped answering is closed.
 */
export const WS_IDLE_TIMEOUT_S = 120;
/** Bytes buffered for a slow client past which the app's messages stop being acknowledged. */
export const WS_HIGH_WATER_BYTES = 1024 * 1024;
/** Bytes of a client's messages (each with WS_MESSAGE_COST_BYTES) that wait here for room at its app, at most: past them the connection is closed 1008. */
export const WS_HELD_INBOUND_BYTES = 16 * 1024 * 1024;
/** Milliseconds a client's messages may wait here with none taken by the app: then the connection is closed 1008. */
export const WS_HELD_INBOUND_STALL_MS = 30_000;
const NOT_READING = 'the function is not reading its messages';

// The kind byte in front of each piece (runtime/fp_runtime/websocket.py).
const TEXT = 1;
const BINARY = 2;
const CLOSE = 8;
const MORE = 0x10;

/**
 * A close reason from its bytes, at most 123 of them and whole characters: cut inside a character,
 * its decoding ('\uFFFD', 3 bytes) made it 125 and uWS cut that to 123 again, inside the
 * replacement character, so the close frame carried invalid UTF-8 and the client failed the
 * connection (RFC 6455 §8.1) instead of reading the app's close (red team round 8).
 */
function closeReason(bytes: Uint8Array): string {
  let reason = Buffer.from(bytes.subarray(0, 123)).toString('utf8');
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

/** A close code a server may send (RFC 6455 §7.4): what the app asked for, else 1000. */
function sendableCode(code: number): number {
  return (code >= 3000 && code <= 4999) || [1000, 1001, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code) ? code : 1000;
}

export class FunctionSocket implements WebSocketLink {
  private side: WebSocketSide | null = null;
  /** The socket is closed or closing: nothing more is sent either way. */
  private closed = false;
  /** Pieces of an app's message that goes in pieces, until its last one. */
  private pieces: Uint8Array[] = [];
  private piecesBytes = 0;
  /** Body bytes taken while the client's socket was above the high-water mark: acknowledged at its drain. */
  private held = 0;
  /** The client's messages (framed) waiting for room at the app, in order, and what they count. */
  private waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  /** Closes the connection when the waiting messages made no progress for WS_HELD_INBOUND_STALL_MS. */
  private stall: NodeJS.Timeout | null = null;

  constructor(
    private readonly body: BodyReader,
    readonly protocol: string,
    /** How the call ends: what a connection the app did not close is closed with. */
    private readonly after: Promise<CallEnd>,
    private readonly runId: string,
    /** Whether the call's admission still holds: the connection closes (1008) at the first message either way after it stopped (./holder.ts). */
    private readonly holder: Holder | null = null,
  ) {}

  open(side: WebSocketSide): void {
    if (this.closed) {
      side.end(1011, '');
      return;
    }
    this.side = side;
    this.body.pipe({
      chunk: (data) => this.fromApp(data),
      end: () => this.close(1000, ''),
      abort: () => void this.after.then((end) => this.closeAfter(end)),
      room: () => this.flush(),
    });
  }

  /** A message from the client: to the app, within the window; else it waits here, in order, within WS_HELD_INBOUND_BYTES. */
  message(data: Uint8Array, binary: boolean): void {
    if (this.closed || this.tokenGone()) return;
    const framed = new Uint8Array(data.byteLength + 1);
    framed[0] = binary ? BINARY : TEXT;
    framed.set(data, 1);
    if (this.waiting.length === 0 && this.body.message(framed)) return;
    this.waitingBytes += framed.byteLength + WS_MESSAGE_COST_BYTES;
    if (this.waitingBytes > WS_HELD_INBOUND_BYTES) {
      this.close(1008, NOT_READING);
      return;
    }
    this.waiting.push(framed);
    this.stall ??= setTimeout(() => this.close(1008, NOT_READING), WS_HELD_INBOUND_STALL_MS).unref();
    this.side?.waiting(this.waitingBytes);
  }

  /** The app took some: waiting messages go, in order, as far as they fit. */
  private flush(): void {
    if (this.closed || this.waiting.length === 0) return;
    let sent = 0;
    while (sent < this.waiting.length && this.body.message(this.waiting[sent]!)) {
      this.waitingBytes -= this.waiting[sent]!.byteLength + WS_MESSAGE_COST_BYTES;
      sent++;
    }
    if (sent === 0) return;
    this.waiting.splice(0, sent);
    this.clearStall();
    if (this.waiting.length > 0) this.stall = setTimeout(() => this.close(1008, NOT_READING), WS_HELD_INBOUND_STALL_MS).unref();
    this.side?.waiting(this.waitingBytes);
  }

  private clearStall(): void {
    if (this.stall !== null) clearTimeout(this.stall);
    this.stall = null;
  }

  drained(): void {
    if (this.closed || this.held === 0 || this.side === null || this.side.buffered() > WS_HIGH_WATER_BYTES) return;
    const bytes = this.held;
    this.held = 0;
    this.body.ack(bytes);
    this.body.resume();
  }

  /** The client closed, or its connection is gone (1006): the app's `receive` says so, its `send` raises. */
  gone(code: number, reason: string): void {
    this.side = null;
    this.dropWaiting();
    if (this.closed) return;
    this.closed = true;
    const encoded = Buffer.from(reason, 'utf8').subarray(0, 123);
    const close = new Uint8Array(3 + encoded.byteLength);
    close[0] = CLOSE;
    close[1] = (code >> 8) & 0xff;
    close[2] = code & 0xff;
    close.set(encoded, 3);
    this.body.message(close, true);
    this.body.cancel();
  }

  private fromApp(data: Uint8Array): boolean {
    const side = this.side;
    if (side === null || this.closed || data.byteLength === 0 || this.tokenGone()) return true;
    const kind = data[0]!;
    if (kind === CLOSE) {
      const code = data.byteLength >= 3 ? (data[1]! << 8) | data[2]! : 1000;
      this.close(sendableCode(code), closeReason(data.subarray(3)));
      return true;
    }
    if ((kind & MORE) !== 0) {
      this.piecesBytes += data.byteLength - 1;
      if (this.piecesBytes > WS_MAX_MESSAGE_BYTES) {
        this.close(1009, 'the function sent a message larger than 16 MiB');
        return true;
      }
      this.pieces.push(Buffer.from(data.subarray(1))); // a copy: `data` is reused after this returns (BodyConsumer)
      side.joined(this.piecesBytes);
      return this.acked(side, data.byteLength);
    }
    let message = data.subarray(1);
    if (this.pieces.length > 0) {
      message = Buffer.concat([...this.pieces, message]);
      this.pieces = [];
      this.piecesBytes = 0;
      side.joined(0);
    }
    side.send(message, kind === BINARY);
    return this.acked(side, data.byteLength);
  }

  /** True (and the connection closed 1008) once the token that opened it no longer admits it. */
  private tokenGone(): boolean {
    if (this.holder === null || this.holder()) return false;
    this.close(1008, TOKEN_GONE_REASON);
    return true;
  }

  /** A piece taken: acknowledged now, or (the client's socket above the high-water mark) at its drain. */
  private acked(side: WebSocketSide, bytes: number): boolean {
    if (side.buffered() <= WS_HIGH_WATER_BYTES) {
      this.body.ack(bytes);
      return true;
    }
    this.held += bytes;
    return false; // paused until the socket drains
  }

  /** The call ended before the app closed: its timeout, a stop, a pause or a delete (1001), else a failure (1011, with the run to look up). */
  private closeAfter(end: CallEnd): void {
    const code = end.error?.code;
    if (code === 'FUNCTION_TIMEOUT') this.close(1001, "the connection reached the function's timeout (limits.timeout)");
    else if (code === 'SHUTTING_DOWN') this.close(1001, 'the server is stopping');
    else if (code === 'FUNCTION_PAUSED') this.close(1001, 'the function was paused');
    else if (code === 'FUNCTION_NOT_FOUND') this.close(1001, 'the function was deleted');
    else this.close(1011, `the function failed: run ${this.runId}`);
  }

  /** The server closes: the app ended (1000), asked for it, failed (1011) or broke a bound. */
  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const side = this.side;
    this.side = null;
    this.dropWaiting();
    this.body.cancel();
    side?.end(code, reason);
  }

  /** The connection ends: what waited for the app is dropped, as uvicorn drops its queue. */
  private dropWaiting(): void {
    this.clearStall();
    this.waiting = [];
    this.waitingBytes = 0;
  }
}
