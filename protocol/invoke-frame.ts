/**
 * The `invoke` frame, encoded by hand (issue 11): the one message sent per call. The generic
 * codec (msgpackr, frames.ts) spent ~5 µs of gateway CPU per call walking this object; this
 * writer knows its shape and writes plain msgpack in well under a microsecond. Since protocol v4
 * (ADR 0057) the frame is a fixed-position array (protocol/wire-arrays.ts), no keys; the body is
 * last, so a large body is not copied: it follows the encoded head as a second buffer, and the
 * caller writes both (corked). Strings are written as UTF-8 by Buffer.write: a lone surrogate
 * arrives as U+FFFD, never as bytes the runtime's decoder would refuse.
 */
import type { WireContext, WireEvent } from './messages.js';
import { INVOKE_HTTP_VERSION, INVOKE_LENGTH, INVOKE_TAG } from './wire-arrays.js';

/** A body up to this size is copied into the frame (one buffer); a bigger one goes as it is. */
const INLINE_BODY_BYTES = 4096;

/**
 * Frames are written straight into a slab and handed out as views of it (no copy); a frame
 * never shares bytes with another, so a frame still queued for writing is never overwritten.
 */
const SLAB_BYTES = 64 * 1024;
let scratch = Buffer.allocUnsafe(SLAB_BYTES);
/** Where the frame being written starts in `scratch`, and where the next byte goes. */
let start = 0;
let pos = 0;

function room(bytes: number): void {
  if (pos + bytes <= scratch.length) return;
  // Move the frame written so far to a fresh slab that fits it (the old slab stays with the frames handed out).
  const bigger = Buffer.allocUnsafe(Math.max(SLAB_BYTES, (pos - start + bytes) * 2));
  scratch.copy(bigger, 0, start, pos);
  pos -= start;
  start = 0;
  scratch = bigger;
}

/** Constant runs of the frame (map heads and keys), encoded once. */
function constant(...parts: (string | number)[]): Uint8Array {
  const bytes: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') bytes.push(part);
    else bytes.push(0xa0 | part.length, ...Buffer.from(part, 'latin1'));
  }
  return Uint8Array.from(bytes);
}

function raw(bytes: Uint8Array): void {
  room(bytes.length);
  for (let i = 0; i < bytes.length; i++) scratch[pos + i] = bytes[i]!;
  pos += bytes.length;
}

/** `[` (fixarray of INVOKE_LENGTH) `'invoke'`: the frame's constant start. */
const HEAD = constant(0x90 | INVOKE_LENGTH, INVOKE_TAG);
/** The start of an `invoke` with its optional HTTP version (array16 of INVOKE_HTTP_VERSION + 1; protocol v6). */
const VERSIONED_HEAD = constant(0xdc, 0, INVOKE_HTTP_VERSION + 1, INVOKE_TAG);
const NIL = 0xc0;

function str(s: string): void {
  const n = s.length;
  room(5 + n * 3);
  if (n < 256) {
    // Short ASCII, the usual case (method, names, ids, most header values): one byte per char,
    // no length pass; the header (fixstr or str8) goes before it once all of it is known ASCII.
    const at = pos + (n < 32 ? 1 : 2);
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      scratch[at + i] = c;
    }
    if (i === n) {
      if (n < 32) scratch[pos] = 0xa0 | n;
      else { scratch[pos] = 0xd9; scratch[pos + 1] = n; }
      pos = at + n;
      return;
    }
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes < 32) scratch[pos++] = 0xa0 | bytes;
  else if (bytes < 0x100) { scratch[pos++] = 0xd9; scratch[pos++] = bytes; }
  else if (bytes < 0x10000) { scratch[pos++] = 0xda; scratch.writeUInt16BE(bytes, pos); pos += 2; }
  else { scratch[pos++] = 0xdb; scratch.writeUInt32BE(bytes, pos); pos += 4; }
  pos += scratch.write(s, pos, bytes, 'utf8');
}

function num(n: number): void {
  room(9);
  if (Number.isInteger(n) && n >= 0 && n <= 0xffffffff) {
    if (n < 0x80) scratch[pos++] = n;
    else if (n < 0x10000) { scratch[pos++] = 0xcd; scratch.writeUInt16BE(n, pos); pos += 2; }
    else { scratch[pos++] = 0xce; scratch.writeUInt32BE(n, pos); pos += 4; }
    return;
  }
  if (Number.isInteger(n) && n < 0 && n >= -0x80000000) { scratch[pos++] = 0xd2; scratch.writeInt32BE(n, pos); pos += 4; return; }
  if (Number.isSafeInteger(n)) {
    // An integer stays an integer on the runtime's side (a float id would be a protocol error there).
    scratch[pos++] = n > 0 ? 0xcf : 0xd3;
    scratch.writeBigInt64BE(BigInt(n), pos);
    pos += 8;
    return;
  }
  scratch[pos++] = 0xcb;
  scratch.writeDoubleBE(n, pos);
  pos += 8;
}

function head(small: number, len: number, code16: number): void {
  room(5);
  if (len < 16) scratch[pos++] = small | len;
  else if (len < 0x10000) { scratch[pos++] = code16; scratch.writeUInt16BE(len, pos); pos += 2; }
  else { scratch[pos++] = code16 + 1; scratch.writeUInt32BE(len, pos); pos += 4; }
}

const array = (len: number): void => head(0x90, len, 0xdc);

/** A list of pairs as one flat array `[name, value, …]` (protocol v4: no array per pair). */
function flat(list: readonly (readonly [string, string])[]): void {
  array(list.length * 2);
  for (const [k, v] of list) {
    str(k);
    str(v);
  }
}

function nil(): void {
  room(1);
  scratch[pos++] = NIL;
}

function binHead(len: number): void {
  room(5);
  if (len < 0x100) { scratch[pos++] = 0xc4; scratch[pos++] = len; }
  else if (len < 0x10000) { scratch[pos++] = 0xc5; scratch.writeUInt16BE(len, pos); pos += 2; }
  else { scratch[pos++] = 0xc6; scratch.writeUInt32BE(len, pos); pos += 4; }
}

/**
 * The `invoke` array (protocol v4, positions in protocol/wire-arrays.ts) as a length-prefixed frame: one buffer, or two (the head
 * and the body itself) when the body is larger than INLINE_BODY_BYTES, and then a third after it for an HTTP/1.0 request
 * (its version, the array's optional last element: protocol v6).
 */
export function encodeInvokeFrame(id: number, event: WireEvent, context: WireContext): Buffer[] {
  if (scratch.length - pos < 1024) {
    scratch = Buffer.allocUnsafe(SLAB_BYTES);
    pos = 0;
  }
  start = pos;
  pos += 4; // the length prefix is written last
  // In the order of INVOKE (protocol/wire-arrays.ts); test/unit/wire-arrays.test.ts pins it.
  const version = event.httpVersion;
  raw(version === undefined ? HEAD : VERSIONED_HEAD); num(id);
  str(context.requestId); num(context.timeoutMs); num(context.attempt);
  str(event.method); str(event.path); str(event.rawQuery);
  flat(event.query); flat(event.headers);
  str(event.requestId);
  if (event.rootPath !== undefined) str(event.rootPath); else nil();
  if (event.scheme !== undefined) str(event.scheme); else nil();
  if (event.client !== undefined) { room(1); scratch[pos++] = 0x92; str(event.client[0]); num(event.client[1]); } else nil();
  const body = event.body;
  binHead(body.byteLength);
  const inline = body.byteLength <= INLINE_BODY_BYTES;
  if (inline) {
    room(body.byteLength);
    scratch.set(body, pos);
    pos += body.byteLength;
  }
  // Relative to `start`: writing the version may move the frame to a fresh slab (room).
  const headBytes = pos - start;
  if (version !== undefined) str(version);
  scratch.writeUInt32BE(pos - start - 4 + (inline ? 0 : body.byteLength), start);
  if (inline) {
    const frame = scratch.subarray(start, pos);
    start = pos;
    return [frame];
  }
  const head = scratch.subarray(start, start + headBytes);
  const tail = scratch.subarray(start + headBytes, pos);
  start = pos;
  const whole = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return version === undefined ? [head, whole] : [head, whole, tail];
}
