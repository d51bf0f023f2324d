/**
 * A streamed response's writer (uws-adapter rule 9): each chunk written inside `cork`, nothing
 * more after a write that backed up until uWS's `onWritable`; with a known length, `tryEnd` and the
 * Content-Length uvicorn would send, a body longer or shorter than announced dropping the connection.
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { StreamSink } from '../protocol/index.js';

const EMPTY = new Uint8Array(0);

export class StreamWriter implements StreamSink {
  private open = true;
  private backedUp = false;
  private drain: (() => void) | null = null;
  private readonly controller = new AbortController();
  readonly closed = this.controller.signal;

  /** With a length: body bytes handed to uWS so far, and the part of the last chunk it has not taken yet. */
  private sent = 0;
  private pending: Uint8Array | null = null;
  private pendingBase = 0;
  private ending = false;
  /** The last byte was handed over: uWS ended the response (rule 3: `res` is not touched again). */
  private finished = false;

  constructor(private readonly res: HttpResponse, readonly holdsCall: boolean, private readonly length: number | undefined,
    private readonly onClose: () => void, private readonly isGone: () => boolean) {}

  /**
   * Sends the head now, before any body byte, as uvicorn does at `http.response.start`: a Server-Sent
   * Events stream that waits for its first event still opens its client's EventSource. Chunked: an
   * empty `write` ends the head (this build as scripts/patch-uws.mjs mends it; another build writes
   * nothing, and the head leaves with the first piece as before). With a length: an empty `tryEnd`
   * writes the Content-Length and ends the head. Inside the caller's cork (rule 4). ADR 0150.
   */
  sendHead(): void {
    if (this.length === undefined) this.res.write(EMPTY);
    else if (this.length > 0) this.res.tryEnd(EMPTY, this.length);
  }

  write(chunk: string | Uint8Array): boolean {
    if (!this.open) return false;
    if (this.length !== undefined) return this.writeCounted(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, this.length);
    let ok = false;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    if (!ok) this.backedUp = true;
    return ok;
  }

  /** Rule 9 with a known length: `tryEnd` writes the Content-Length and ends the response at the last byte. */
  private writeCounted(chunk: Uint8Array, length: number): boolean {
    if (this.finished) return true; // past a complete body: dropped (the client has its whole answer)
    if (this.sent + chunk.byteLength > length) {
      this.abort(); // longer than announced (uvicorn refuses it too): never a body that lies about its end
      return false;
    }
    if (chunk.byteLength === 0) return true;
    const base = this.sent;
    this.sent += chunk.byteLength;
    let ok = false;
    this.res.cork(() => {
      [ok] = this.res.tryEnd(chunk, length);
    });
    if (this.sent === length) this.finished = true;
    if (!ok && this.open) {
      // uWS took what the socket could; the rest waits for onWritable, from the write offset.
      this.pending = Buffer.from(chunk); // a copy: the caller's buffer is not ours to keep
      this.pendingBase = base;
      this.backedUp = true;
    }
    return ok;
  }

  onDrain(cb: () => void): void {
    this.drain = cb;
    if (!this.backedUp && this.open) this.runDrain();
  }

  /** uWS's onWritable: the backlog left the socket. */
  writable(offset: number): boolean {
    if (!this.open) return true;
    const pending = this.pending;
    if (pending !== null) {
      let ok = false;
      this.res.cork(() => {
        [ok] = this.res.tryEnd(pending.subarray(offset - this.pendingBase), this.length!);
      });
      if (!ok) return false;
      this.pending = null;
      if (this.ending) {
        this.end();
        return true;
      }
    }
    this.backedUp = false;
    this.runDrain();
    return true;
  }

  private runDrain(): void {
    const cb = this.drain;
    this.drain = null;
    cb?.();
  }

  end(): void {
    if (!this.open) return;
    if (this.length !== undefined) {
      if (this.pending !== null) {
        this.ending = true; // ends once the last chunk left (writable)
        return;
      }
      if (!this.finished) {
        if (this.length === 0) this.res.cork(() => this.res.end()); // announced empty, and it is
        else {
          this.abort(); // shorter than announced: the client must not take it for whole
          return;
        }
      }
      this.close(); // the last tryEnd ended the response
      return;
    }
    this.res.cork(() => this.res.end());
    this.close();
  }

  /**
   * Drops the connection (a body that will never be complete); onAborted then fires. The close
   * waits for this turn's end, so the head and the pieces written before it in the same cork
   * (startStream: a body whose first piece and failure arrived together) leave first: uWS drops
   * what a cork holds when the socket closes in it, and the client saw an empty reply where
   * uvicorn sends the head and those pieces (apps round 14).
   */
  abort(): void {
    if (!this.open) return;
    this.close();
    setImmediate(() => {
      if (!this.isGone()) this.res.close(); // rule 3: not once the client left
    });
  }

  /** The client went away: `res` is freed memory from now on. */
  gone(): void {
    this.close();
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    this.drain = null;
    this.controller.abort();
    this.onClose();
  }
}
