/**
 * A msgpack decoder for the plain frames the runtimes send (issue 11): maps with ASCII string
 * keys, arrays, ASCII strings, bytes, integers, doubles, nil and booleans — every reply of an
 * honest runtime. In one pass it decodes and counts items (the bound of MAX_FRAME_ITEMS), where the
 * generic path scans the frame (`withinItems`) and then decodes it with msgpackr (~2 µs a reply).
 *
 * It gives up (returns `GENERIC`) on anything else — an extension type, a float32, a string or
 * key with a byte ≥ 0x80, a key that is not a string or is `__proto__`, a truncated or malformed
 * frame, bytes after the value, more items than allowed — and the caller then takes the generic
 * path on the whole frame, so what a frame decodes to, and every error, is msgpackr's as before.
 * Same results as msgpackr with `{ useRecords: false, mapsAsObjects: true, int64AsType: 'number' }`
 * (protocol/frames.ts): objects for maps, arrays, `Buffer` views of the frame for bytes,
 * 64-bit integers as (possibly rounded) numbers. test/unit/plain-decode.test.ts compares the two.
 */

/** Node's Buffer method behind `toString('latin1', …)`, without its argument checks (missing from the typings). */
type LatinSlicing = Buffer & { latin1Slice(start: number, end: number): string };

/** Returned when the frame is not plain: decode it with the generic decoder. */
export const GENERIC: unique symbol = Symbol('generic');

let src: Buffer = Buffer.alloc(0);
let at = 0;
let end = 0;
/** Items still allowed in this frame (each value, keys included, counts one). */
let budget = 0;
/** Set when the frame is not plain; every read then returns quickly and the result is dropped. */
let bail = false;

/** `frame` decoded, or GENERIC when it is not plain (see above) or holds more than `maxItems` items. */
export function decodePlain(frame: Buffer, maxItems: number): unknown {
  src = frame;
  at = 0;
  end = frame.length;
  budget = maxItems;
  bail = false;
  const value = read();
  const plain = !bail && at === end;
  src = EMPTY;
  return plain ? value : GENERIC;
}

const EMPTY = Buffer.alloc(0);

function giveUp(): null {
  bail = true;
  at = end;
  return null;
}

function read(): unknown {
  if (at >= end || --budget < 0) return giveUp();
  const b = src[at++]!;
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b <= 0x8f) return readMap(b & 0x0f);
  if (b <= 0x9f) return readArray(b & 0x0f);
  if (b <= 0xbf) return readAscii(b & 0x1f);
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return need(1) ? readBin(src[at++]!) : giveUp();
    case 0xc5: return need(2) ? readBin(u16()) : giveUp();
    case 0xc6: return need(4) ? readBin(u32()) : giveUp();
    case 0xcb: {
      if (!need(8)) return giveUp();
      const v = src.readDoubleBE(at);
      at += 8;
      return v;
    }
    case 0xcc: return need(1) ? src[at++]! : giveUp();
    case 0xcd: return need(2) ? u16() : giveUp();
    case 0xce: return need(4) ? u32() : giveUp();
    case 0xcf: {
      if (!need(8)) return giveUp();
      const hi = u32();
      return hi * 0x100000000 + u32();
    }
    case 0xd0: return need(1) ? src.readInt8(at++) : giveUp();
    case 0xd1: {
      if (!need(2)) return giveUp();
      const v = src.readInt16BE(at);
      at += 2;
      return v;
    }
    case 0xd2: {
      if (!need(4)) return giveUp();
      const v = src.readInt32BE(at);
      at += 4;
      return v;
    }
    case 0xd3: {
      if (!need(8)) return giveUp();
      const hi = src.readInt32BE(at);
      at += 4;
      return hi * 0x100000000 + u32();
    }
    case 0xd9: return need(1) ? readAscii(src[at++]!) : giveUp();
    case 0xda: return need(2) ? readAscii(u16()) : giveUp();
    case 0xdb: return need(4) ? readAscii(u32()) : giveUp();
    case 0xdc: return need(2) ? readArray(u16()) : giveUp();
    case 0xdd: return need(4) ? readArray(u32()) : giveUp();
    case 0xde: return need(2) ? readMap(u16()) : giveUp();
    case 0xdf: return need(4) ? readMap(u32()) : giveUp();
    default: return giveUp(); // float32, extensions, 0xc1
  }
}

function need(n: number): boolean {
  return at + n <= end;
}

function u16(): number {
  const v = (src[at]! << 8) | src[at + 1]!;
  at += 2;
  return v;
}

function u32(): number {
  const v = src[at]! * 0x1000000 + ((src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!);
  at += 4;
  return v;
}

function readBin(length: number): Buffer | null {
  if (at + length > end) return giveUp();
  const out = src.subarray(at, at + length);
  at += length;
  return out;
}

/**
 * An ASCII string; a byte ≥ 0x80 gives up (UTF-8 is decoded as msgpackr decodes it, on the generic
 * path). A short one (keys, and values such as `result`, `content-type`, `application/json`: the
 * same few in every reply) is looked up in `shortCache` first: a compare, no string built.
 */
function readAscii(length: number): string | null {
  const stop = at + length;
  if (stop > end) return giveUp();
  if (length <= SHORT_STRING) return readShort(length, stop);
  for (let i = at; i < stop; i++) if (src[i]! >= 0x80) return giveUp();
  const out = (src as LatinSlicing).latin1Slice(at, stop);
  at = stop;
  return out;
}

/** Strings up to this many bytes are built in JavaScript (and cached), longer ones by Buffer's latin1 slice. */
const SHORT_STRING = 16;

/**
 * Short strings seen before (map keys and values), by length and first bytes: a reply's keys and
 * most of its short values are the same few each time, so most are a compare, with no new string
 * (as msgpackr's key cache; values too since issue 11, branch wt-gw5). A slot holds the last string
 * that hashed to it.
 */
const shortCache: ({ bytes: Uint8Array; text: string } | undefined)[] = new Array(4096);

function readShort(length: number, stop: number): string | null {
  const slot = ((length << 5) ^ (length > 1 ? (src[at]! << 8) | src[at + 1]! : length > 0 ? src[at]! : 0)) & 0xfff;
  const entry = shortCache[slot];
  if (entry !== undefined && entry.bytes.length === length) {
    const bytes = entry.bytes;
    let i = 0;
    while (i < length && bytes[i] === src[at + i]) i++;
    if (i === length) {
      at = stop;
      return entry.text;
    }
  }
  // A call into C++ per string costs more than these few bytes.
  let out = '';
  for (let i = at; i < stop; i++) {
    const c = src[i]!;
    if (c >= 0x80) return giveUp();
    out += String.fromCharCode(c);
  }
  shortCache[slot] = { bytes: Uint8Array.prototype.slice.call(src, at, stop), text: out };
  at = stop;
  return out;
}

function readArray(length: number): unknown[] | null {
  // Each element is at least one byte: a longer count cannot be in the frame.
  if (length > end - at) return giveUp();
  const out = new Array<unknown>(length);
  for (let i = 0; i < length && !bail; i++) out[i] = read();
  return out;
}

function readMap(length: number): Record<string, unknown> | null {
  if (length * 2 > end - at) return giveUp();
  const out: Record<string, unknown> = {};
  for (let i = 0; i < length && !bail; i++) {
    if (at >= end || --budget < 0) return giveUp();
    const b = src[at++]!;
    let key: string | null;
    if (b >= 0xa0 && b <= 0xbf) key = readAscii(b & 0x1f);
    else if (b === 0xd9 && need(1)) key = readAscii(src[at++]!);
    else return giveUp(); // not a string key: msgpackr converts it; the generic path does
    if (key === null || key === '__proto__') return giveUp();
    out[key] = read();
  }
  return out;
}
