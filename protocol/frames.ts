/**
 * Length-prefixed msgpack frames: a 4-byte unsigned big-endian length, then that many bytes of
 * msgpack. The same format is read by runtime/fp_runtime/frames.py. See docs/runtime-protocol.md.
 */
import { createRequire } from 'node:module';
import type { Packr, Unpackr } from 'msgpackr';
import { PlatformError } from './errors.js';

/** Largest frame either side accepts; a bigger length prefix is a protocol error. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

let packr: Packr | null = null;
let unpackr: Unpackr | null = null;

/**
 * msgpackr is loaded on the first frame, not with this door: the CLI imports protocol/ on every
 * command and never frames a message (loading msgpackr cost ~20 ms of CPU per CLI start).
 */
function codecs(): { packr: Packr; unpackr: Unpackr } {
  if (packr === null || unpackr === null) {
    const msgpackr = createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
    // Plain maps with string keys, no msgpackr record extension: the Python side reads plain msgpack.
    packr = new msgpackr.Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true });
    unpackr = new msgpackr.Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
  }
  return { packr, unpackr };
}

export function encodeFrame(message: unknown): Buffer {
  const body = (packr ?? codecs().packr).pack(message);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** A frame that cannot be decoded: the runtime broke the protocol (RUNTIME_PROTOCOL_ERROR). */
export class FrameError extends PlatformError {
  constructor(message: string) {
    super('RUNTIME_PROTOCOL_ERROR', message);
  }
}

/** Incremental decoder: feed socket chunks, get whole decoded messages back. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Returns every complete message in the data seen so far; throws FrameError on a bad frame. */
  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: unknown[] = [];
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        throw new FrameError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes} byte limit`);
      }
      if (this.buffered < 4 + length) break;
      const frame = this.take(4 + length).subarray(4);
      try {
        out.push((unpackr ?? codecs().unpackr).unpack(frame));
      } catch (err) {
        throw new FrameError(`undecodable frame: ${(err as Error).message}`);
      }
    }
    return out;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const all = this.peek(n);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest, ...this.chunks.slice(1)] : this.chunks.slice(1);
    this.buffered -= n;
    return taken;
  }
}
