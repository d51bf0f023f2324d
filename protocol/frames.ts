/**
 * Length-prefixed msgpack frames: a 4-byte unsigned big-endian length, then that many bytes of
 * msgpack. The same format is read by runtime/fp_runtime/frames.py. See docs/runtime-protocol.md.
 */
import { createRequire } from 'node:module';
import type { Packr, Unpackr } from 'msgpackr';
import { PlatformError } from './errors.js';
import { decodePlain, GENERIC } from './plain-decode.js';
import { fromArrayFrame } from './wire-arrays.js';

/** Largest frame either side accepts; a bigger length prefix is a protocol error. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * Most msgpack items (values, map keys included) one frame may hold; more is a protocol error,
 * found before decoding. The host decodes a runtime's frames on its one event loop, and user code
 * can write frames of its own on the runtime's socket: a 6 MB frame of two million tiny maps took
 * ~2 s to decode, while every other function's calls waited (red team, December 2026). An honest
 * runtime's largest frames hold ~60 000 (a call's 256 KiB of empty log lines); decoding 262 144
 * tiny items takes ~60 ms. Bytes (a response body) are one item whatever their size.
 */
export const MAX_FRAME_ITEMS = 256 * 1024;

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

/**
 * Where a decoder's frames being joined are counted when many decoders share a bound
 * (poolmgr/frame-joins.ts): a frame past SCRATCH_BYTES takes its length when its prefix is read
 * (its buffer is allocated then) and gives it back once whole or abandoned (`close`).
 */
export interface JoinAccount {
  /**
   * `bytes` more held for a frame being joined; else refused (the decoder throws FrameOverBudget):
   * false by its own group's share (or the bound, for a runtime of no group), 'platform' by the
   * bound that all runtimes share while its group's share had room (other groups hold it).
   */
  take(bytes: number): boolean | 'platform';
  give(bytes: number): void;
}

/** A frame the decoder's JoinAccount refused: the bytes of frames being joined are at their bound. */
export class FrameOverBudget extends FrameError {
  /** 'platform': refused by the bound all runtimes share while its own group's share had room (others' frames, not its own). */
  constructor(message: string, readonly bound: 'group' | 'platform' = 'group') {
    super(message);
  }
}

/**
 * The first bytes of a `chunk` frame as the runtimes write it (runtime/fp_runtime/streaming.py: a
 * map of four, `t` first): `feed` decodes such a frame where it lies, every other frame from a copy.
 */
const CHUNK_FRAME_START = Buffer.from([0x84, 0xa1, 0x74, 0xa5, 0x63, 0x68, 0x75, 0x6e, 0x6b]); // {"t": "chunk", …
const CHUNK_ID_KEY = Buffer.from([0xa2, 0x69, 0x64]); // "id"
const CHUNK_MORE_KEY = Buffer.from([0xa4, 0x6d, 0x6f, 0x72, 0x65]); // "more"
const CHUNK_BODY_KEY = Buffer.from([0xa4, 0x62, 0x6f, 0x64, 0x79]); // "body"

/**
 * A `chunk` frame in the exact layout runtime/fp_runtime/frames.py `encode_chunk` writes (`t`,
 * `id` an unsigned integer below 2^32, `more` a boolean, `body` bytes, in that order, nothing
 * after), read by position: the message decodePlain makes of it (`body` a view of the frame), at
 * under half its cost a piece (apps round 17: one frame per small streamed piece, ADR 0203). Null
 * for anything else, which the caller decodes as every other frame.
 */
export function decodeChunkFrame(frame: Buffer): { t: 'chunk'; id: number; more: boolean; body: Buffer } | null {
  const end = frame.length;
  // The head up to `id`'s value, the keys after it and the bytes header: 9 + 3, 1, 5 + 1 + 5, 2 at the least.
  if (end < 26 || !startsWith(frame, 0, CHUNK_FRAME_START) || !startsWith(frame, 9, CHUNK_ID_KEY)) return null;
  let at = 12;
  const tag = frame[at++]!;
  const idBytes = tag < 0x80 ? 0 : tag === 0xcc ? 1 : tag === 0xcd ? 2 : tag === 0xce ? 4 : -1;
  if (idBytes < 0) return null;
  const id = idBytes === 0 ? tag : uintAt(frame, at, idBytes);
  at += idBytes;
  if (at + 13 > end || !startsWith(frame, at, CHUNK_MORE_KEY)) return null;
  const flag = frame[at + 5]!;
  if ((flag !== 0xc2 && flag !== 0xc3) || !startsWith(frame, at + 6, CHUNK_BODY_KEY)) return null;
  at += 11;
  const bin = frame[at++]!;
  const lengthBytes = bin === 0xc4 ? 1 : bin === 0xc5 ? 2 : bin === 0xc6 ? 4 : -1;
  if (lengthBytes < 0 || at + lengthBytes > end) return null;
  const length = uintAt(frame, at, lengthBytes);
  at += lengthBytes;
  if (at + length !== end) return null;
  return { t: 'chunk', id, more: flag === 0xc3, body: frame.subarray(at, end) };
}

/** Whether `frame` holds `bytes` at `at` (a loop: Buffer.compare's range checks cost more than these few bytes). */
function startsWith(frame: Buffer, at: number, bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (frame[at + i] !== bytes[i]) return false;
  return true;
}

/** A big-endian unsigned integer of 1, 2 or 4 bytes at `at` (in bounds). */
function uintAt(frame: Buffer, at: number, bytes: number): number {
  let n = 0;
  for (let i = 0; i < bytes; i++) n = n * 256 + frame[at + i]!;
  return n;
}

/**
 * Frames up to this size (a `chunk` frame: 64 KiB of body and its few fields) that span reads are
 * joined in one buffer the decoder keeps and reuses (made at its first such frame); a larger frame
 * (a whole response's `result`) gets a buffer of its own, its size.
 */
const SCRATCH_BYTES = 64 * 1024 + 1024;

/** Incremental decoder: feed socket chunks, get whole decoded messages back. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  // feed()'s state: a length prefix cut by a read, and a frame being joined across reads.
  private readonly prefix = Buffer.alloc(4);
  private prefixBytes = 0;
  private joining: Buffer | null = null;
  private joined = 0;
  private frameBytes = 0;
  private scratch: Buffer | null = null;
  /** Bytes taken from `account` for the frame being joined (0: none). */
  private counted = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES, private readonly maxItems = MAX_FRAME_ITEMS,
    private readonly account: JoinAccount | null = null) {}

  /** Gives back what the frame being joined holds of the account (the decoder's socket is gone); idempotent. */
  close(): void {
    this.uncount();
  }

  /** A frame longer than SCRATCH_BYTES is about to be held whole (allocated, or its pieces kept): counted first. */
  private count(length: number): void {
    if (this.account === null || length <= SCRATCH_BYTES || this.counted > 0) return;
    const took = this.account.take(length);
    if (took !== true) {
      throw new FrameOverBudget(`a frame of ${length} bytes is refused: frames being read from runtimes hold as many bytes as the platform allows (FP_MAX_FRAME_BYTES_IN_FLIGHT)`, took === 'platform' ? 'platform' : 'group');
    }
    this.counted = length;
  }

  private uncount(): void {
    if (this.counted === 0) return;
    this.account!.give(this.counted);
    this.counted = 0;
  }

  /**
   * Decodes the frames in `bytes`, a read buffer that is reused once this returns
   * (poolmgr/shared-reads.ts), handing each message to `each` as it is decoded; throws FrameError
   * on a bad frame (the messages before it were handed over). The bytes of a `chunk` message's
   * `body` are a view of memory that is reused after `each` returns (the read buffer, or the
   * decoder's own for a frame that spanned reads): whoever keeps them keeps a copy. Every other
   * frame is copied before it is decoded, so its message owns its bytes as with push().
   * Not to be mixed with push() on the same decoder.
   */
  feed(bytes: Buffer, each: (message: unknown) => void): void {
    let at = 0;
    const end = bytes.length;
    if (this.prefixBytes > 0 || this.joining !== null) {
      while (this.prefixBytes < 4 && at < end) this.prefix[this.prefixBytes++] = bytes[at++]!;
      if (this.prefixBytes < 4) return;
      if (this.joining === null) this.startJoin(this.prefix.readUInt32BE(0));
      const joining = this.joining!;
      const n = Math.min(this.frameBytes - this.joined, end - at);
      bytes.copy(joining, this.joined, at, at + n);
      this.joined += n;
      at += n;
      if (this.joined < this.frameBytes) return;
      const frame = joining.subarray(0, this.frameBytes);
      this.joining = null;
      this.prefixBytes = 0;
      this.uncount();
      each(this.decodeFrom(frame, joining === this.scratch));
    }
    while (end - at >= 4) {
      const length = bytes.readUInt32BE(at);
      this.checkLength(length);
      if (end - at - 4 < length) break;
      const frame = bytes.subarray(at + 4, at + 4 + length);
      at += 4 + length;
      each(this.decodeFrom(frame, true));
    }
    if (at === end) return;
    // What is left starts a frame that the next reads complete.
    if (end - at < 4) {
      while (at < end) this.prefix[this.prefixBytes++] = bytes[at++]!;
      return;
    }
    bytes.copy(this.prefix, 0, at, at + 4);
    this.prefixBytes = 4;
    this.startJoin(bytes.readUInt32BE(at));
    at += 4;
    bytes.copy(this.joining!, 0, at, end);
    this.joined = end - at;
  }

  private startJoin(length: number): void {
    this.checkLength(length);
    this.count(length);
    this.frameBytes = length;
    this.joined = 0;
    this.joining = length <= SCRATCH_BYTES ? (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES)) : Buffer.allocUnsafe(length);
  }

  private checkLength(length: number): void {
    if (length > this.maxFrameBytes) {
      throw new FrameError(`frame of ${length} bytes exceeds the ${this.maxFrameBytes} byte limit`);
    }
  }

  /**
   * A frame in reused memory (`reused`) is decoded in place only when it is a `chunk`; else from a
   * copy. Checked on the message too, not only its first bytes: user code can write frames of its
   * own, and a map that names `t` twice (`chunk`, then `result`) must not leave a response body
   * that is a view of the read buffer every runtime's bytes go through.
   */
  private decodeFrom(frame: Buffer, reused: boolean): unknown {
    const chunk = decodeChunkFrame(frame);
    if (chunk !== null) return chunk;
    if (!reused) return this.decode(frame);
    if (frame.length > CHUNK_FRAME_START.length && frame.compare(CHUNK_FRAME_START, 0, CHUNK_FRAME_START.length, 0, CHUNK_FRAME_START.length) === 0) {
      const message = this.decode(frame);
      if ((message as { t?: unknown } | null)?.t === 'chunk') return message;
    }
    return this.decode(Buffer.from(frame));
  }

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
      if (this.buffered < 4 + length) {
        this.count(length); // its pieces are kept until it is whole
        break;
      }
      this.uncount();
      out.push(this.decode(this.take(4 + length).subarray(4)));
    }
    return out;
  }

  /** One frame's message (its length prefix off); throws FrameError. */
  private decode(frame: Buffer): unknown {
    // The usual reply in one pass (protocol/plain-decode.ts); anything unusual as before.
    const plain = decodePlain(frame, this.maxItems);
    if (plain !== GENERIC) {
      // Protocol v4: a `result` is a fixed-position array (protocol/wire-arrays.ts), made the message object here.
      return Array.isArray(plain) ? fromArrayFrame(plain) : plain;
    }
    if (!withinItems(frame, this.maxItems)) {
      throw new FrameError(`frame holds more than ${this.maxItems} msgpack items`);
    }
    let value: unknown;
    try {
      value = (unpackr ?? codecs().unpackr).unpack(frame);
    } catch (err) {
      throw new FrameError(`undecodable frame: ${(err as Error).message}`);
    }
    return Array.isArray(value) ? fromArrayFrame(value) : value;
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

/**
 * Reads the frames of a stream that are at most `maxKept` bytes long and passes over the others
 * without keeping them: for a second reader of a runtime's channel that wants only its small
 * reports (process-host.ts reads a template's `forkExit` beside the pool). Such a reader must hold
 * nothing of a large frame: the pool's own decoder holds it once, counted in the bound of frames
 * being read (poolmgr/frame-joins.ts); a FrameDecoder beside it held every piece of the frame a
 * second time, in no budget (red team round 15). What it keeps between reads is under `maxKept` + 4 bytes.
 */
export class FrameSkimmer {
  /** Bytes of a frame passed over still to come. */
  private skip = 0;
  private held: Buffer = Buffer.alloc(0);
  private decoder = new FrameDecoder();

  constructor(private readonly maxKept: number) {}

  /** The small frames whole in the data seen so far; throws FrameError on a bad one. */
  push(chunk: Buffer): unknown[] {
    const passed = Math.min(this.skip, chunk.length);
    this.skip -= passed;
    const bytes = this.held.length > 0 ? Buffer.concat([this.held, chunk.subarray(passed)]) : chunk.subarray(passed);
    const out: unknown[] = [];
    let at = 0;
    while (bytes.length - at >= 4) {
      const length = bytes.readUInt32BE(at);
      const have = bytes.length - at - 4;
      if (length > this.maxKept) {
        this.skip = Math.max(0, length - have);
        at = Math.min(bytes.length, at + 4 + length);
        continue;
      }
      if (have < length) break;
      const frame = bytes.subarray(at, at + 4 + length);
      at += 4 + length;
      try {
        out.push(...this.decoder.push(frame));
      } catch (err) {
        this.decoder = new FrameDecoder(); // it would keep the bad frame: the next read starts after it
        this.held = Buffer.from(bytes.subarray(at));
        throw err;
      }
    }
    this.held = Buffer.from(bytes.subarray(at));
    return out;
  }
}

/**
 * False when `buf` (msgpack) holds more than `max` items: counted from the type bytes alone, no
 * value decoded, stopping at the first item past `max`. A malformed frame counts as within (the
 * decoder then says what is wrong with it).
 */
export function withinItems(buf: Uint8Array, max: number): boolean {
  const end = buf.length;
  let at = 0;
  let pending = 1;
  let count = 0;
  const u16 = (p: number): number => (buf[p]! << 8) | buf[p + 1]!;
  const u32 = (p: number): number => buf[p]! * 0x1000000 + ((buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!);
  while (pending > 0) {
    if (at >= end) return true;
    if (++count > max) return false;
    pending--;
    const b = buf[at]!;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) at += 1;
    else if (b <= 0x8f) { pending += 2 * (b & 0x0f); at += 1; }
    else if (b <= 0x9f) { pending += b & 0x0f; at += 1; }
    else if (b <= 0xbf) at += 1 + (b & 0x1f);
    else if (at + 5 > end && b >= 0xc4) return true;
    else {
      switch (b) {
        case 0xc4: case 0xd9: at += 2 + buf[at + 1]!; break; // bin8, str8
        case 0xc5: case 0xda: at += 3 + u16(at + 1); break; // bin16, str16
        case 0xc6: case 0xdb: at += 5 + u32(at + 1); break; // bin32, str32
        case 0xc7: at += 3 + buf[at + 1]!; break; // ext8
        case 0xc8: at += 4 + u16(at + 1); break; // ext16
        case 0xc9: at += 6 + u32(at + 1); break; // ext32
        case 0xca: at += 5; break;
        case 0xcb: at += 9; break;
        case 0xcc: case 0xd0: at += 2; break;
        case 0xcd: case 0xd1: at += 3; break;
        case 0xce: case 0xd2: at += 5; break;
        case 0xcf: case 0xd3: at += 9; break;
        case 0xd4: at += 3; break;
        case 0xd5: at += 4; break;
        case 0xd6: at += 6; break;
        case 0xd7: at += 10; break;
        case 0xd8: at += 18; break;
        case 0xdc: pending += u16(at + 1); at += 3; break;
        case 0xdd: pending += u32(at + 1); at += 5; break;
        case 0xde: pending += 2 * u16(at + 1); at += 3; break;
        case 0xdf: pending += 2 * u32(at + 1); at += 5; break;
        default: return true; // 0xc1: never used; the decoder refuses it
      }
    }
  }
  return true;
}
