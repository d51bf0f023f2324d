/**
 * Reads a command (an OP_MSG from a function) for the data proxy's checks without decoding it
 * into objects (ADR 0021, ADR 0024): one walk over the bytes validates the structure of every
 * document in the message (insert documents too: sizes, terminators, known types), takes the
 * few top-level fields the policy needs, and looks for what a command must not carry (forbidden
 * operators and stages, JavaScript values, a namespace stage naming another database) everywhere
 * but in insert documents, which are data. Nothing is allocated for a document's plain fields,
 * which is what made the proxy cost more than the hop (ADR 0024). Pure: no I/O.
 */
import { HEADER_BYTES, MSG_FLAGS, WireError } from './wire.js';
import { isReservedCollection } from './names.js';

/** Operators and stages that run server-side JavaScript or see beyond the database. */
export const FORBIDDEN_OPERATORS = new Set(['$where', '$function', '$accumulator', '$currentOp', '$listSessions', '$listLocalSessions', '$changeStream', '$planCacheStats', '$collStats', '$indexStats', '$listSearchIndexes', '$shardedDataDistribution', '$listSampledQueries', '$_internalInhibitOptimization']);
/** Stages whose spec may name another database as `{db, coll}`. */
export const NAMESPACE_STAGES = new Set(['$out', '$merge', '$lookup', '$graphLookup', '$unionWith']);
/** Deeper than this, a command is refused (documents to insert are data: not limited here). */
const MAX_DEPTH = 100;

/** What the policy needs of a command, read from its bytes. */
export interface Command {
  flags: number;
  /** The body's first key. */
  name: string;
  /** Top-level keys of the body, in order. */
  keys: string[];
  /** A top-level key that appears twice (a server may read the first, a checker the last: refused), or null. */
  duplicate: string | null;
  /** `$db` when it is a string. */
  db: string | null;
  /** The command's own value when it is a string (the collection of most commands). */
  target: string | null;
  /** `collection` when it is a string (getMore's collection). */
  collection: string | null;
  /** getMore's cursor id as a decimal string ('' when it is not a number). */
  getMore: string;
  /** killCursors' `cursors`, each as a decimal string. */
  cursors: string[];
  /** `comment` when it is a string (the run tag of a write). */
  comment: string | null;
  /** `remove: true` (a findAndModify that deletes). */
  remove: boolean;
  /** Identifiers of the document sequences (kind-1 sections). */
  sequences: string[];
  /** The first forbidden thing found (outside insert documents), or null. */
  forbidden: string | null;
  /** The most accumulators (fields besides `_id`) of any `$group` stage in it, nested pipelines too; 0 without one. */
  groupAccumulators: number;
  /** The most fields of any one document in it (the body, insert documents, every embedded document; not arrays). */
  widest: number;
}

const DOLLAR = 0x24;

/** End of a C string starting at `at`, before `end`; throws when unterminated. */
function cstringEnd(buf: Buffer, at: number, end: number): number {
  const zero = buf.indexOf(0, at);
  if (zero < 0 || zero >= end) throw new WireError('unterminated string');
  return zero;
}

/** Size of a document at `at` that must end by `end`; checks its size and its terminator. */
function documentSize(buf: Buffer, at: number, end: number): number {
  if (at + 5 > end) throw new WireError('truncated document');
  const size = buf.readInt32LE(at);
  if (size < 5 || at + size > end || buf[at + size - 1] !== 0) throw new WireError('document size out of bounds');
  return size;
}

/** Where a value of `type` at `at` ends (within `end`); documents are sized here and walked by the caller. */
function valueEnd(buf: Buffer, type: number, at: number, end: number): number {
  let size: number;
  switch (type) {
    case 0x01: case 0x09: case 0x11: case 0x12: size = 8; break;
    case 0x10: size = 4; break;
    case 0x08: size = 1; break;
    case 0x0a: case 0x06: case 0x7f: case 0xff: size = 0; break;
    case 0x07: size = 12; break;
    case 0x13: size = 16; break;
    case 0x02: case 0x0d: case 0x0e: {
      if (at + 4 > end) throw new WireError('truncated string');
      const length = buf.readInt32LE(at);
      if (length < 1 || at + 4 + length > end || buf[at + 3 + length] !== 0) throw new WireError('string size out of bounds');
      return at + 4 + length;
    }
    case 0x0c: {
      const pointer = valueEnd(buf, 0x02, at, end) + 12;
      if (pointer > end) truncated();
      return pointer;
    }
    case 0x03: case 0x04: return at + documentSize(buf, at, end);
    case 0x05: {
      if (at + 5 > end) throw new WireError('truncated binary');
      const length = buf.readInt32LE(at);
      if (length < 0 || at + 5 + length > end) throw new WireError('binary size out of bounds');
      return at + 5 + length;
    }
    case 0x0b: return cstringEnd(buf, cstringEnd(buf, at, end) + 1, end) + 1;
    case 0x0f: {
      if (at + 4 > end) throw new WireError('truncated code');
      const total = buf.readInt32LE(at);
      if (total < 14 || at + total > end) throw new WireError('code size out of bounds');
      const scope = valueEnd(buf, 0x02, at + 4, at + total);
      if (scope + documentSize(buf, scope, at + total) !== at + total) throw new WireError('code with scope size mismatch');
      return at + total;
    }
    default: throw new WireError(`unknown BSON type ${type}`);
  }
  if (at + size > end) truncated();
  return at + size;
}

function truncated(): never {
  throw new WireError('truncated value');
}

/**
 * Walks the elements of the document at `start`: `visit(type, nameStart, nameEnd, valueAt, valueEnd)`
 * for each; checks that the elements fill the document exactly. Returns the document's end.
 */
function eachElement(buf: Buffer, start: number, end: number, visit: (type: number, nameAt: number, nameEnd: number, at: number, valueEnd: number) => void): number {
  const docEnd = start + documentSize(buf, start, end);
  let p = start + 4;
  while (p < docEnd - 1) {
    const type = buf[p]!;
    const nameEnd = cstringEnd(buf, p + 1, docEnd - 1);
    const at = nameEnd + 1;
    const next = valueEnd(buf, type, at, docEnd - 1);
    visit(type, p + 1, nameEnd, at, next);
    p = next;
  }
  if (p !== docEnd - 1) throw new WireError('document elements overrun');
  return docEnd;
}

/**
 * Validates a document's structure, all the way down, looking at nothing in it (data) but how
 * many fields each of its documents has (`command.widest`; an array's elements do not count).
 */
function validate(buf: Buffer, start: number, end: number, command: Command, array = false): number {
  let fields = 0;
  const docEnd = eachElement(buf, start, end, (type, _n, _e, at, next) => {
    fields++;
    if (type === 0x03 || type === 0x04) validate(buf, at, next, command, type === 0x04);
  });
  if (!array && fields > command.widest) command.widest = fields;
  return docEnd;
}

/**
 * `{db, coll}` (or `{into: …}`, `{from: …}` holding one) naming a database other than `database`.
 * Every occurrence of a key counts, so a repeated key cannot hide another database from the check.
 */
function otherDb(buf: Buffer, type: number, at: number, end: number, database: string): boolean {
  if (type !== 0x03) return false;
  let other = false;
  eachElement(buf, at, end, (t, nameAt, nameEnd, valueAt, valueEnd) => {
    if (other) return;
    const name = buf.toString('latin1', nameAt, nameEnd);
    if (name === 'db') other = t !== 0x02 || buf.toString('utf8', valueAt + 4, valueEnd - 1) !== database;
    else if (name === 'into' || name === 'from') other = otherDb(buf, t, valueAt, valueEnd, database);
  });
  return other;
}

/**
 * The reserved collection (names.ts isReservedCollection: `system.*`, a name with NUL, the binding's mark) a namespace stage names, or null: its
 * value as a string (`$out: "system.js"`, `$unionWith: …`, `$merge: …`), or the string (or
 * `{db, coll}`) under `from`, `coll` or `into`. The command's own collection is checked by the
 * policy; a stage's is checked here, so no pipeline reaches `system.views` or `system.js` either.
 */
function reservedCollection(buf: Buffer, type: number, at: number, end: number): string | null {
  if (type === 0x02) {
    const name = buf.toString('utf8', at + 4, end - 1);
    return isReservedCollection(name) ? name : null;
  }
  if (type !== 0x03) return null;
  let found: string | null = null;
  eachElement(buf, at, end, (t, nameAt, nameEnd, valueAt, valueEnd) => {
    if (found !== null) return;
    const name = buf.toString('latin1', nameAt, nameEnd);
    if (name === 'from' || name === 'coll' || name === 'into') found = reservedCollection(buf, t, valueAt, valueEnd);
  });
  return found;
}

/** Fields of a `$group` stage's document besides `_id`: its accumulators. */
function accumulators(buf: Buffer, type: number, at: number, end: number): number {
  if (type !== 0x03) return 0;
  let n = 0;
  eachElement(buf, at, end, (_t, nameAt, nameEnd) => {
    if (buf.toString('latin1', nameAt, nameEnd) !== '_id') n++;
  });
  return n;
}

/**
 * The first forbidden thing in a value (walked recursively), or null; validates what it walks.
 * Notes in `command` what else the proxy asks of a pipeline (the accumulators of a `$group`).
 */
function scan(buf: Buffer, type: number, at: number, end: number, database: string, depth: number, command: Command): string | null {
  if (type === 0x0d || type === 0x0f) return 'server-side JavaScript is not allowed';
  if (type !== 0x03 && type !== 0x04) return null;
  if (depth > MAX_DEPTH) return 'document nested too deeply';
  let bad: string | null = null;
  let fields = 0;
  eachElement(buf, at, end, (t, nameAt, nameEnd, valueAt, valueEnd) => {
    fields++;
    if (bad !== null) return;
    if (buf[nameAt] === DOLLAR) {
      const key = buf.toString('latin1', nameAt, nameEnd);
      if (FORBIDDEN_OPERATORS.has(key)) return void (bad = `${key} is not allowed`);
      if (NAMESPACE_STAGES.has(key) && otherDb(buf, t, valueAt, valueEnd, database)) return void (bad = `${key} into another database is not allowed`);
      const reserved = NAMESPACE_STAGES.has(key) ? reservedCollection(buf, t, valueAt, valueEnd) : null;
      if (reserved !== null) return void (bad = `${key} on the reserved collection ${JSON.stringify(reserved)} is not allowed`);
      if (key === '$group') command.groupAccumulators = Math.max(command.groupAccumulators, accumulators(buf, t, valueAt, valueEnd));
    }
    bad = scan(buf, t, valueAt, valueEnd, database, depth + 1, command);
  });
  if (type === 0x03 && fields > command.widest) command.widest = fields;
  return bad;
}

/** A number (int32, int64, double) or string as the decimal text a cursor id is kept as; '' otherwise. */
function idText(buf: Buffer, type: number, at: number, end: number): string {
  if (type === 0x12) return buf.readBigInt64LE(at).toString();
  if (type === 0x10) return String(buf.readInt32LE(at));
  if (type === 0x01) return String(buf.readDoubleLE(at));
  if (type === 0x02) return buf.toString('utf8', at + 4, end - 1);
  return '';
}

/**
 * Reads an OP_MSG frame (header included) for the policy. `database` is the bound database
 * (namespace stages naming another are forbidden). Malformed frames throw WireError.
 */
export function readCommand(frame: Buffer, database: string): Command {
  try {
    return read(frame, database);
  } catch (err) {
    if (err instanceof WireError) throw err;
    throw new WireError(`bad message: ${(err as Error).message}`); // e.g. a stack overflow on absurd nesting
  }
}

function read(frame: Buffer, database: string): Command {
  const end = frame.length;
  if (end < HEADER_BYTES + 5) throw new WireError('OP_MSG too short');
  const flags = frame.readUInt32LE(HEADER_BYTES);
  const stop = flags & MSG_FLAGS.checksumPresent ? end - 4 : end;
  const command: Command = { flags, name: '', keys: [], duplicate: null, db: null, target: null, collection: null, getMore: '', cursors: [], comment: null, remove: false, sequences: [], forbidden: null, groupAccumulators: 0, widest: 0 };
  const forbid = (reason: string | null): void => {
    command.forbidden ??= reason;
  };
  const sequenceIds = new Set<string>();
  const seen = new Set<string>();
  let body = -1;
  let at = HEADER_BYTES + 4;
  while (at < stop) {
    const kind = frame[at]!;
    at += 1;
    if (kind === 0) {
      if (body >= 0) throw new WireError('two body sections');
      body = at;
      at = eachElement(frame, at, stop, () => undefined); // sizes first; the fields are read below
    } else if (kind === 1) {
      if (at + 4 > stop) throw new WireError('truncated sequence');
      const seqEnd = at + frame.readInt32LE(at);
      if (seqEnd < at + 5 || seqEnd > stop) throw new WireError('sequence size out of bounds');
      const idEnd = cstringEnd(frame, at + 4, seqEnd);
      const id = frame.toString('utf8', at + 4, idEnd);
      if (sequenceIds.has(id)) throw new WireError('repeated sequence');
      sequenceIds.add(id);
      command.sequences.push(id);
      for (let p = idEnd + 1; p < seqEnd;) {
        if (id === 'documents') p = validate(frame, p, seqEnd, command);
        else {
          const size = documentSize(frame, p, seqEnd);
          forbid(scan(frame, 0x03, p, p + size, database, 0, command));
          p += size;
        }
      }
      at = seqEnd;
    } else {
      throw new WireError(`unknown section kind ${kind}`);
    }
  }
  if (body < 0) throw new WireError('no body section');
  eachElement(frame, body, stop, (type, nameAt, nameEnd, valueAt, valueEnd) => {
    const key = frame.toString('utf8', nameAt, nameEnd);
    if (command.keys.length === 0) command.name = key;
    else if (seen.has(key)) command.duplicate ??= key;
    seen.add(key);
    command.keys.push(key);
    const text = type === 0x02 ? frame.toString('utf8', valueAt + 4, valueEnd - 1) : null;
    if (key === command.name) command.target = text;
    // `create`'s `viewOn`: a view over `system.js` or the binding's mark read what no command or
    // stage may name (red team round 40). Views cannot leave their database.
    else if (key === 'viewOn' && text !== null && isReservedCollection(text)) forbid(`a view on the reserved collection ${JSON.stringify(text)} is not allowed`);
    else if (key === '$db') command.db = text;
    else if (key === 'collection') command.collection = text;
    else if (key === 'comment') command.comment = text;
    else if (key === 'remove') command.remove = type === 0x08 && frame[valueAt] === 1;
    if (key === 'getMore') command.getMore = idText(frame, type, valueAt, valueEnd);
    if (key === 'cursors' && type === 0x04) eachElement(frame, valueAt, valueEnd, (t, _n, _e, a, e) => command.cursors.push(idText(frame, t, a, e)));
    // Insert documents are data, never interpreted: validated, not scanned (they may hold $-prefixed keys).
    if (key === 'documents' && command.name === 'insert') validate(frame, valueAt, valueEnd, command, type === 0x04);
    else forbid(scan(frame, type, valueAt, valueEnd, database, 0, command));
  });
  command.widest = Math.max(command.widest, command.keys.length);
  return command;
}
