/**
 * The body of a response the runtime streams (protocol v3, docs/runtime-protocol.md "Streamed
 * responses"), between the instance that receives its pieces and the gateway that writes them.
 *
 * Bounded: the runtime may have at most STREAM_WINDOW_BYTES sent and not acknowledged, and the
 * gateway acknowledges only what the client's connection took. So what waits here is at most one
 * window, whatever the client's speed; a runtime that sends past it breaks the protocol (user code
 * can write frames of its own) and is discarded by its instance. Decided in
 * docs/adr/0017-streamed-responses.md.
 */
import { STREAM_WINDOW_BYTES, WS_INBOUND_WINDOW_BYTES, WS_INBOUND_WINDOW_MESSAGES, WS_MESSAGE_COST_BYTES } from '../protocol/index.js';
import type { BodyConsumer, BodyReader } from './types.js';

/** How the body reaches its runtime: `ack` and `cancel` frames for its call. */
export interface BodyChannel {
  ack(bytes: number): void;
  cancel(): void;
  /** A WebSocket client's message (`wsin`). */
  message(body: Uint8Array): void;
  /** What the client messages not yet taken by the runtime's socket count, all its calls' (RuntimeProcess.wsinBacklog). */
  backlog(): number;
  /** Room in the instance's share for client messages its apps have not taken (Instance.inboundRoom): whether `cost` more fit, this connection holding `own`. */
  instanceRoom(cost: number, own: number): boolean;
}

export class ResponseBody implements BodyReader {
  /** Body bytes received from the runtime (the first ones, in the `response` message, included). */
  received = 0;
  private acked = 0;
  /** What the runtime was acknowledged (`ack`): at most `acked`. */
  private told = 0;
  private consumer: BodyConsumer | null = null;
  private queue: Uint8Array[] = [];
  private paused = false;
  /** The last piece arrived (`more: false`). */
  private complete = false;
  /** end() or abort() was told (or is owed) to the consumer. */
  private outcome: 'end' | 'abort' | null = null;
  private cancelled = false;
  /** A WebSocket call's client bytes sent to the app and not taken by it yet (`wsack`), each message with its cost (WS_MESSAGE_COST_BYTES). */
  private inbound = 0;
  /** How many messages `inbound` counts (WS_INBOUND_WINDOW_MESSAGES bounds them). */
  private inboundCount = 0;
  /** A message was refused for want of room: the consumer is told (`room`) when some may be. */
  private wantsRoom = false;

  /**
   * `declared`: the length the response declared (its Content-Length), if any. The body is complete
   * once that many bytes arrived, though the runtime's last piece (`more: false`) may come later:
   * a WSGI app's close(), or a teardown behind BaseHTTPMiddleware, runs before it. The client has
   * the whole body then (the gateway sends it with that length), so the call only finishes and
   * its instance keeps the client's next call (docs/adr/0045-finishing-calls.md); before, such
   * calls counted as still streaming and each next call started another instance.
   */
  constructor(
    private readonly channel: BodyChannel,
    private readonly declared?: number,
  ) {}

  /**
   * A piece from the runtime. False: past the window (a protocol violation); nothing was kept.
   * `data` may be reused once this returns (a view of a read buffer: FrameDecoder.feed): a piece
   * the consumer takes now is handed over as it is (its chunk() copies what it keeps), one that
   * waits here is copied.
   */
  push(data: Uint8Array, more: boolean): boolean {
    if (this.complete || this.outcome !== null) {
      // After the end, or after a cancel: dropped. Past a declared length (an app that writes more
      // than it declared) acknowledged as well, so the runtime never waits for room that would not come.
      if (this.complete && this.declared !== undefined && data.byteLength > 0) this.channel.ack(data.byteLength);
      return true;
    }
    if (this.received + data.byteLength - this.acked > STREAM_WINDOW_BYTES) return false;
    this.received += data.byteLength;
    if (!more || (this.declared !== undefined && this.received >= this.declared)) this.complete = true;
    if (data.byteLength > 0) {
      const consumer = this.consumer;
      if (consumer !== null && !this.paused && this.queue.length === 0) {
        if (!consumer.chunk(data)) this.paused = true;
      } else this.queue.push(Buffer.from(data));
    }
    this.deliver();
    return true;
  }

  /**
   * The call ended; a body that is not complete by then never will be: the consumer aborts, after
   * what arrived before the end (as uvicorn sends the pieces an app sent before it failed). Before,
   * those were dropped: a body whose first piece and failure came together reached the client as
   * an empty reply, not its head and that piece (apps round 14). A WebSocket call's messages too.
   */
  close(): void {
    if (this.outcome !== null || this.complete) return; // a complete body finishes its delivery
    this.outcome = 'abort';
    this.deliver(); // what arrived goes out first, then the abort
  }

  /** Whether the last piece arrived. */
  get done(): boolean {
    return this.complete;
  }

  pipe(consumer: BodyConsumer): void {
    if (this.consumer !== null) return;
    if (this.outcome === 'abort' && !this.cancelled && this.queue.length === 0) {
      consumer.abort();
      return;
    }
    this.consumer = consumer;
    this.deliver();
  }

  resume(): void {
    this.paused = false;
    this.deliver();
  }

  /**
   * The client's connection took `bytes`. The runtime is told (`ack`) once it has used half its
   * window or more, all that was taken since it was last told: not for every 64 KiB piece, each of
   * which cost a write here and a wake-up and a decode in the runtime. It never waits for room
   * because of that (it has half a window left, and a piece is at most a quarter of one); what
   * this process holds is bounded by `acked` (push), as before.
   */
  ack(bytes: number): void {
    if (bytes <= 0 || this.cancelled) return;
    this.acked += bytes;
    if (this.outcome === 'abort') return; // the call ended: nothing waits for room
    if (this.complete || this.received - this.told < STREAM_WINDOW_BYTES / 2 || this.acked === this.told) return;
    this.channel.ack(this.acked - this.told);
    this.told = this.acked;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue = [];
    if (!this.complete) this.channel.cancel();
    if (this.outcome === null) this.outcome = 'abort';
    this.consumer = null; // the client is gone: nothing more is written
  }

  message(data: Uint8Array, force = false): boolean {
    if (this.cancelled) return false;
    const cost = data.byteLength + WS_MESSAGE_COST_BYTES;
    if (!force && !this.fits(cost)) {
      this.wantsRoom = true;
      return false;
    }
    this.inbound += cost;
    this.inboundCount++;
    this.channel.message(data);
    return true;
  }

  /**
   * Whether a client message of `cost` may go to the app now (ADR 0194): at most a window of them
   * (bytes and count) not taken by this connection's app, beyond one message; within the
   * instance's share of its memory for all its connections; and as much waiting in this process
   * for the runtime's socket: a runtime that reads nothing but acknowledges (wsack) anyway does
   * not make the window room (red team, December 2026).
   */
  private fits(cost: number): boolean {
    if (this.inbound > 0 && (this.inbound + cost > WS_INBOUND_WINDOW_BYTES || this.inboundCount >= WS_INBOUND_WINDOW_MESSAGES)) return false;
    if (!this.channel.instanceRoom(cost, this.inbound)) return false;
    const backlog = this.channel.backlog();
    return !(backlog > 0 && backlog + cost > WS_INBOUND_WINDOW_BYTES);
  }

  /** A WebSocket call's client bytes (with their costs) sent to the app and not taken by it yet. */
  get inboundBytes(): number {
    return this.inbound;
  }

  /** The app took `bytes` of its client's messages (`wsack`). False: more than were sent (a protocol violation). */
  taken(bytes: number): boolean {
    // One wsack per message taken: its bytes and its cost.
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes + WS_MESSAGE_COST_BYTES > this.inbound || this.inboundCount === 0) return false;
    this.inbound -= bytes + WS_MESSAGE_COST_BYTES;
    this.inboundCount--;
    return true;
  }

  /** Some app on the instance took messages: one refused here may fit now (the consumer's `room`). */
  roomMade(): void {
    if (!this.wantsRoom || this.cancelled) return;
    this.wantsRoom = false;
    this.consumer?.room?.();
  }

  private deliver(): void {
    const consumer = this.consumer;
    if (consumer === null) return;
    while (!this.paused && this.queue.length > 0) {
      const data = this.queue.shift()!;
      if (!consumer.chunk(data)) this.paused = true;
    }
    if (this.paused || this.queue.length > 0) return;
    if (this.outcome === 'abort') {
      this.consumer = null;
      consumer.abort();
    } else if (this.complete && this.outcome === null) {
      this.outcome = 'end';
      this.consumer = null;
      consumer.end();
    }
  }
}
