/**
 * A streamed response's writer (uws-adapter rule 9): each chunk written inside `cork`, nothing
 * more after a write that backed up until uWS's `onWritable`; with a known length, `tryEnd` and the
 * Content-Length uvicorn would send, a body longer or shorter than announced dropping the connection.
 *
 * Chunked, small chunks that arrive in one turn of the event loop (the pieces of one read of the
 * runtime's socket) leave in one cork at that turn's end (a microtask), not one `send` each (apps
 * round 17, ADR 0191). Two rules of uWS this keeps (ADR 0203):
 * - What one cork holds stays within uWS's cork buffer (CORK_BUFFER_BYTES): a write that overflows
 *   it makes uWS send the buffer first and, when that send does not complete (a backed-up socket),
 *   drop the overflowing bytes, whose chunk size line already left: the body is broken for good.
 * - An `onWritable` callback that writes nothing leaves what uWS buffered unsent (uWS drains its
 *   buffer on writable only for a response without the callback): `writable` then uncorks an
 *   empty cork, which sends it.
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { StreamSink } from '../protocol/index.js';

const EMPTY = new Uint8Array(0);
/** uWS's cork buffer (LoopData::CORK_BUFFER_SIZE): a cork never holds more (ADR 0203). */
export const CORK_BUFFER_BYTES = 16 * 1024;
/**
 * Chunks of one turn held for one write: at most this many bytes, so that they, their chunk size
 * line and the body's last chunk (`end`) fit one cork. A chunk that does not fit is written at once
 * (after what waits), in a cork of its own.
 */
export const COALESCE_MAX_BYTES = CORK_BUFFER_BYTES - 1024;

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

  /** Chunked: small chunks of this turn not written yet, the first `batchBytes` of `batch` (one buffer a response, reused: uWS copies what it is given). */
  private batch: Buffer | null = null;
  private batchBytes = 0;
  private flushQueued = false;
  /** Bytes of chunks `write` answered true for that uWS took but the connection did not yet (a flush that backed up): reported at `writable`. */
  private heldTaken = 0;
  /** Where `taken` reports bytes `write` answered true for once uWS took them (`onTaken`). */
  private taken: ((bytes: number) => void) | null = null;
  /** Writes made to `res` so far: `writable` knows whether its callback wrote anything. */
  private writes = 0;

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
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.length !== undefined) return this.tell(this.writeCounted(bytes, this.length), bytes.byteLength);
    if (bytes.byteLength > COALESCE_MAX_BYTES - this.batchBytes) this.flush(); // what waits leaves first, in a cork of its own
    if (this.backedUp || bytes.byteLength > COALESCE_MAX_BYTES) {
      // Written now, in a cork of its own (never one cork past uWS's buffer with other bytes): a
      // backed-up response answers false at once, a big chunk is not copied.
      const flushed = this.flush();
      return this.tell(this.writeNow(bytes) && flushed, bytes.byteLength);
    }
    if (bytes.byteLength === 0) return true;
    this.batch ??= Buffer.allocUnsafe(COALESCE_MAX_BYTES);
    this.batch.set(bytes, this.batchBytes); // a copy: the caller's buffer is reused once this returns
    this.batchBytes += bytes.byteLength;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
    return true;
  }

  /**
   * `cb(bytes)` once uWS took bytes `write` answered true for (the caller acknowledges them to the
   * runtime then, never before): at once for a chunk written at once, at the flush for one held for
   * its turn's end, at `writable` for one whose flush backed up. Not for a chunk answered false.
   */
  onTaken(cb: (bytes: number) => void): void {
    this.taken = cb;
  }

  /** The answer of `write`; a true answer's bytes were taken by uWS: reported. */
  private tell(ok: boolean, bytes: number): boolean {
    if (ok && bytes > 0) this.taken?.(bytes);
    return ok;
  }

  /**
   * Writes the chunks held for this turn's end now, in one cork (one chunk on the wire). False when
   * uWS backed up: their bytes are then reported taken at `writable`, and the next `write` answers false.
   */
  flush(): boolean {
    const bytes = this.batchBytes;
    if (bytes === 0 || !this.open) return !this.backedUp;
    this.batchBytes = 0;
    const ok = this.writeNow(this.batch!.subarray(0, bytes));
    if (ok) this.taken?.(bytes);
    else this.heldTaken += bytes;
    return ok;
  }

  /** One chunk in one cork; false: uWS backed up (it keeps the bytes: onWritable follows). */
  private writeNow(chunk: Uint8Array): boolean {
    if (chunk.byteLength === 0) return !this.backedUp;
    let ok = false;
    this.writes++;
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
    this.writes++;
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

  /** uWS's onWritable: the socket can take more (what uWS buffered leaves with the next write, or the empty cork here). */
  writable(offset: number): boolean {
    if (!this.open) return true;
    const writes = this.writes;
    const ok = this.resume(offset);
    // Nothing written in this callback: uWS sends what it buffered only with a write, or when a cork ends.
    if (this.writes === writes && this.open && !this.isGone()) this.res.cork(() => {});
    return ok;
  }

  private resume(offset: number): boolean {
    const pending = this.pending;
    if (pending !== null) {
      let ok = false;
      this.writes++;
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
    const held = this.heldTaken;
    this.heldTaken = 0;
    if (held > 0) this.taken?.(held);
    this.runDrain();
    this.flush(); // what the drain delivered leaves in this callback, not at a later turn's end
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
    this.writes++;
    this.res.cork(() => {
      this.flush(); // what waits goes first, in the same cork (COALESCE_MAX_BYTES leaves room for the end)
      this.res.end();
    });
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
    this.flush(); // the pieces before the failure leave first, as uvicorn sends them
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
    this.batch = null; // nothing more is written (end and abort flushed what waited)
    this.batchBytes = 0;
    this.taken = null;
    this.controller.abort();
    this.onClose();
  }
}
