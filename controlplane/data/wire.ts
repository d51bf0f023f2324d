/**
 * The MongoDB wire protocol, as much as the data proxy needs (docs/data-binding.md, ADR 0021):
 * message framing, OP_MSG (opcode 2013) both ways, the legacy OP_QUERY handshake and its OP_REPLY.
 * Everything else is refused by the proxy before it gets here. Pure: no I/O.
 */
import { BSON, type Document } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;
export const HEADER_BYTES = 16;

/** OP_MSG flag bits (the wire spec's names). */
export const MSG_FLAGS = { checksumPresent: 1 << 0, moreToCome: 1 << 1, exhaustAllowed: 1 << 16 } as const;

export interface Header {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export function readHeader(buf: Buffer): Header {
  return { length: buf.readInt32LE(0), requestId: buf.readInt32LE(4), responseTo: buf.readInt32LE(8), opCode: buf.readInt32LE(12) };
}

/** A decoding failure: the frame is not what its header says. The connection is closed. */
export class WireError extends Error {}

export interface OpMsg {
  flags: number;
  body: Document;
  /** Kind-1 sections (document sequences): identifier -> documents. */
  sequences: Map<string, Document[]>;
}

const BSON_OPTIONS = { promoteLongs: false, promoteValues: true, validation: { utf8: false } } as const;

function readDocument(buf: Buffer, at: number, end: number): { doc: Document; next: number } {
  if (at + 5 > end) throw new WireError('truncated document');
  const size = buf.readInt32LE(at);
  if (size < 5 || at + size > end) throw new WireError('document size out of bounds');
  try {
    return { doc: BSON.deserialize(buf.subarray(at, at + size), BSON_OPTIONS), next: at + size };
  } catch (err) {
    throw new WireError(`bad BSON: ${(err as Error).message}`);
  }
}

function readCString(buf: Buffer, at: number, end: number): { text: string; next: number } {
  const zero = buf.indexOf(0, at);
  if (zero < 0 || zero >= end) throw new WireError('unterminated string');
  return { text: buf.toString('utf8', at, zero), next: zero + 1 };
}

/** Decodes a whole OP_MSG frame (header included). Exactly one body section is required. */
export function decodeOpMsg(frame: Buffer): OpMsg {
  const end = frame.length;
  if (end < HEADER_BYTES + 5) throw new WireError('OP_MSG too short');
  const flags = frame.readUInt32LE(HEADER_BYTES);
  let at = HEADER_BYTES + 4;
  const stop = flags & MSG_FLAGS.checksumPresent ? end - 4 : end;
  let body: Document | null = null;
  const sequences = new Map<string, Document[]>();
  while (at < stop) {
    const kind = frame[at]!;
    at += 1;
    if (kind === 0) {
      if (body !== null) throw new WireError('two body sections');
      const read = readDocument(frame, at, stop);
      body = read.doc;
      at = read.next;
    } else if (kind === 1) {
      if (at + 4 > stop) throw new WireError('truncated sequence');
      const size = frame.readInt32LE(at);
      const seqEnd = at + size;
      if (size < 5 || seqEnd > stop) throw new WireError('sequence size out of bounds');
      const id = readCString(frame, at + 4, seqEnd);
      const docs: Document[] = [];
      let p = id.next;
      while (p < seqEnd) {
        const read = readDocument(frame, p, seqEnd);
        docs.push(read.doc);
        p = read.next;
      }
      if (sequences.has(id.text)) throw new WireError('repeated sequence');
      sequences.set(id.text, docs);
      at = seqEnd;
    } else {
      throw new WireError(`unknown section kind ${kind}`);
    }
  }
  if (body === null) throw new WireError('no body section');
  return { flags, body, sequences };
}

export interface OpQuery {
  collection: string;
  query: Document;
}

/** Decodes an OP_QUERY frame (only the handshake on `admin.$cmd` is ever answered). */
export function decodeOpQuery(frame: Buffer): OpQuery {
  const end = frame.length;
  const name = readCString(frame, HEADER_BYTES + 4, end);
  const { doc } = readDocument(frame, name.next + 8, end);
  return { collection: name.text, query: doc };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG reply with one body section. */
export function encodeOpMsg(doc: Document, requestId: number, responseTo: number): Buffer {
  const body = BSON.serialize(doc);
  const length = HEADER_BYTES + 4 + 1 + body.length;
  const out = Buffer.concat([header(length, requestId, responseTo, OP_MSG), Buffer.from([0, 0, 0, 0, 0]), body]);
  return out;
}

/** An OP_REPLY with one document: the answer to the legacy handshake. */
export function encodeOpReply(doc: Document, requestId: number, responseTo: number): Buffer {
  const body = BSON.serialize(doc);
  const fixed = Buffer.alloc(20); // responseFlags, cursorID (8), startingFrom, numberReturned
  fixed.writeInt32LE(1, 16);
  return Buffer.concat([header(HEADER_BYTES + 20 + body.length, requestId, responseTo, OP_REPLY), fixed, body]);
}

// ---- a reply scanner: reads a few top-level numbers of a reply without decoding its documents ----

/** Size of a BSON element's value of `type` at `at`, or -1 if the type is unknown. */
function valueSize(buf: Buffer, type: number, at: number): number {
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: return 8;
    case 0x10: return 4;
    case 0x08: return 1;
    case 0x0a: case 0x06: case 0x7f: case 0xff: return 0;
    case 0x07: return 12;
    case 0x13: return 16;
    case 0x02: case 0x0d: case 0x0e: return 4 + buf.readInt32LE(at);
    case 0x03: case 0x04: case 0x0f: return buf.readInt32LE(at);
    case 0x05: return 5 + buf.readInt32LE(at);
    case 0x0b: { const a = buf.indexOf(0, at); const b = buf.indexOf(0, a + 1); return b + 1 - at; }
    case 0x0c: return 4 + buf.readInt32LE(at) + 12;
    default: return -1;
  }
}

/** Numeric (or nested document) fields of a BSON document, by name; walks only the top level. */
function scanFields(buf: Buffer, start: number, wanted: readonly string[]): Map<string, { type: number; at: number }> {
  const found = new Map<string, { type: number; at: number }>();
  const end = start + buf.readInt32LE(start) - 1;
  let p = start + 4;
  while (p < end) {
    const type = buf[p]!;
    const zero = buf.indexOf(0, p + 1);
    if (zero < 0 || zero >= end) break;
    const name = buf.toString('latin1', p + 1, zero);
    const at = zero + 1;
    if (wanted.includes(name)) found.set(name, { type, at });
    const size = valueSize(buf, type, at);
    if (size < 0) break;
    p = at + size;
  }
  return found;
}

function numberAt(buf: Buffer, field: { type: number; at: number } | undefined): number | null {
  if (field === undefined) return null;
  if (field.type === 0x10) return buf.readInt32LE(field.at);
  if (field.type === 0x12) return Number(buf.readBigInt64LE(field.at));
  if (field.type === 0x01) return buf.readDoubleLE(field.at);
  return null;
}

export interface ReplySummary {
  ok: boolean;
  /** `n` of a write reply. */
  n: number | null;
  nModified: number | null;
  /** `cursor.id` as a decimal string ("0" when exhausted); null when the reply has no cursor. */
  cursorId: string | null;
  /** Upserted ids count (update replies). */
  upserted: number;
  /** findAndModify's lastErrorObject.n. */
  lastErrorN: number | null;
  /** findAndModify's lastErrorObject has `upserted`: the document was inserted, not updated. */
  lastErrorUpserted: boolean;
  /** killCursors' `cursorsKilled`, as decimal strings (the ids the server closed); empty when none. */
  cursorsKilled: string[];
}

/** Reads ok, n, nModified, cursor.id of an OP_MSG reply frame; null if it is not a plain one. */
export function summarizeReply(frame: Buffer): ReplySummary | null {
  if (frame.length < HEADER_BYTES + 10 || frame.readInt32LE(12) !== OP_MSG || frame[HEADER_BYTES + 4] !== 0) return null;
  const start = HEADER_BYTES + 5;
  try {
    const top = scanFields(frame, start, ['ok', 'n', 'nModified', 'cursor', 'upserted', 'lastErrorObject', 'cursorsKilled']);
    let cursorId: string | null = null;
    const cursor = top.get('cursor');
    if (cursor?.type === 0x03) {
      const id = scanFields(frame, cursor.at, ['id']).get('id');
      if (id?.type === 0x12) cursorId = frame.readBigInt64LE(id.at).toString();
    }
    const upserted = top.get('upserted');
    const leo = top.get('lastErrorObject');
    const leoFields = leo?.type === 0x03 ? scanFields(frame, leo.at, ['n', 'upserted']) : null;
    const killed = top.get('cursorsKilled');
    const cursorsKilled = killed?.type === 0x04
      ? Object.values(BSON.deserialize(frame.subarray(killed.at, killed.at + frame.readInt32LE(killed.at)), { useBigInt64: true })).map((id) => String(id))
      : [];
    return {
      ok: numberAt(frame, top.get('ok')) === 1,
      n: numberAt(frame, top.get('n')),
      nModified: numberAt(frame, top.get('nModified')),
      cursorId,
      upserted: upserted?.type === 0x04 ? Object.keys(BSON.deserialize(frame.subarray(upserted.at, upserted.at + frame.readInt32LE(upserted.at)))).length : 0,
      lastErrorN: leoFields ? numberAt(frame, leoFields.get('n')) : null,
      lastErrorUpserted: leoFields?.has('upserted') ?? false,
      cursorsKilled,
    };
  } catch {
    return null;
  }
}

/**
 * Cuts a byte stream into whole messages by their length prefix, copying each message's bytes
 * once (chunks are joined only when a whole message is there, never on every chunk).
 * `push` returns the complete frames; a length outside [HEADER_BYTES + 1, maxBytes] throws
 * WireError before any of that message's body is buffered.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;

  constructor(private readonly maxBytes: number) {}

  /** Bytes held for a message not yet complete. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break;
        if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
        const length = this.chunks[0]!.readInt32LE(0);
        if (length <= HEADER_BYTES || length > this.maxBytes) throw new WireError(`message length ${length} out of bounds`);
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      frames.push(all.subarray(0, this.expected));
      const rest = all.subarray(this.expected);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.expected = -1;
    }
    return frames;
  }
}
