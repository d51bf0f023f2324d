/**
 * Runtime sockets read into one buffer that this process reuses for every read of every runtime
 * socket, rather than a fresh 64 KiB buffer per read (Node's default for a socket's 'data').
 *
 * Why: a large response streams through here at hundreds of MB/s, and each read's buffer (and each
 * frame joined across two of them) was memory outside V8's heap that V8 counts: past 64 MB of it
 * V8 starts a full mark-compact of the whole heap, about every 50 ms while a stream flowed, the
 * largest part of the gateway's CPU per MiB (bench/README.md "Large streamed responses").
 *
 * How: Node's `onread` option of net.Socket (a reused buffer and a callback instead of 'data'),
 * which Node takes only when it makes the socket; the runtime sockets are made by child_process
 * (a runtime's fd 3), net.connect (a zygote's fork) or a server (a template's fork). So it is set
 * on the socket afterwards, through the same fields the option sets, found on a socket made with
 * the option (Node's own symbols, not exported). Where that cannot be done (another Node whose
 * fields differ, a socket holding bytes it read, a stream that is not a net.Socket: a Pod's channel, a
 * template fork's), the socket is read as before: `false`, and the caller listens to 'data'.
 * test/unit/shared-reads.test.ts checks that this Node takes it for each kind of runtime socket.
 *
 * One buffer for all: libuv reads one socket at a time and hands each read to its callback before
 * the next, on this one thread, so the bytes stay put until the callback returns; whatever must
 * outlive it is copied (protocol/frames.ts FrameDecoder.feed).
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** One read's most bytes: a window of streamed body (STREAM_WINDOW_BYTES) and its frames' few bytes more. */
export const SHARED_READ_BYTES = 256 * 1024 + 4096;

let shared: Buffer | null = null;

interface OnreadFields {
  buffer: symbol;
  callback: symbol;
}

/** The fields net.Socket's `onread` option sets, found once; null when this Node has no such fields. */
const fields: OnreadFields | null = (() => {
  const marker = Buffer.alloc(1);
  const callback = (): boolean => true;
  const probe = new Socket({ onread: { buffer: marker, callback } });
  const own = probe as unknown as Record<symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(probe);
  probe.destroy();
  const bufferField = symbols.find((s) => own[s] === marker);
  const callbackField = symbols.find((s) => own[s] === callback);
  return bufferField !== undefined && callbackField !== undefined ? { buffer: bufferField, callback: callbackField } : null;
})();

interface StreamHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/**
 * Reads `socket` into the shared buffer from now on: `onBytes` gets each read as a view that is
 * valid only until it returns. False (nothing changed) when the socket cannot be read so.
 * The socket's pause() and resume() work as before; 'data' is emitted (a copy, before `onBytes`)
 * only while someone listens to it.
 */
export function readShared(socket: Duplex, onBytes: (bytes: Buffer) => void): boolean {
  if (fields === null || !(socket instanceof Socket)) return false;
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  // A socket that holds bytes it read keeps Node's buffers: its next bytes must come after them. One
  // that reads already (child_process starts a runtime's fd 3 at once) takes the buffer from its
  // next read on: a read is allocated, made and handed over in one go on this thread.
  if (handle?.useUserBuffer === undefined || socket.readableLength > 0 || socket.destroyed) return false;
  const buffer = (shared ??= Buffer.allocUnsafe(SHARED_READ_BYTES));
  const own = socket as unknown as Record<symbol, unknown>;
  own[fields.buffer] = buffer;
  own[fields.callback] = (nread: number, buf: Buffer): boolean => {
    const bytes = buf.subarray(0, nread);
    // Another reader beside the owner (process-host.ts watches a template's socket for its
    // `forkExit` reports) still gets each read, as a copy of its own.
    if (socket.listenerCount('data') > 0) socket.emit('data', Buffer.from(bytes));
    onBytes(bytes);
    return true;
  };
  handle.useUserBuffer(buffer);
  // Reading starts as a 'data' listener would start it, unless the owner paused the socket (a
  // zygote's fork waits for its pid first: process-host.ts); its resume() starts it then.
  if (socket.readableFlowing !== false) socket.resume();
  return true;
}
