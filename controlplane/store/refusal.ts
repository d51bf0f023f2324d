/**
 * Which failed writes of the run sink are *refusals*: the store answered and will never take the
 * batch as it is, for what it holds (a value it cannot store), as opposed to an outage (nothing
 * answered, or the store's own backend is down or busy), which is retried as it is until it works.
 * The recorder isolates a refused record (splits the batch, writes the rest, then the record in a
 * reduced form, else drops it counted: ./recorder.ts, docs/adr/0173-refused-records.md).
 *
 * Strict on purpose: only what surely says "this document" is a refusal, everything unknown is an
 * outage. An outage taken for a refusal would lose records that a retry would have written; a
 * refusal taken for an outage holds the sink as before (red team 28) and is found in the log.
 * Matched by codes and names, not by the drivers' classes (no driver is loaded here):
 * - MongoDB and FerretDB: a server error, or every write error of a bulk write, with a code of
 *   MONGO_REFUSALS (11000, a duplicate, counts with them: the run store replaces those itself);
 *   FerretDB's InternalError (code 1) when its PostgreSQL refused the data: SQLSTATE class 22
 *   (data exception: a NUL, a character or number jsonb cannot hold) or 54 (a program limit).
 * - SQLite (better-sqlite3): SQLITE_TOOBIG, SQLITE_MISMATCH, SQLITE_RANGE, SQLITE_CONSTRAINT_*.
 * - Anything thrown here before a byte was sent: the BSON serializer's errors (BSONError,
 *   MongoInvalidArgumentError; a document over 16 MiB is a RangeError ERR_OUT_OF_RANGE from its
 *   buffer), and JavaScript's RangeError and TypeError (nesting too deep for the serializer or
 *   JSON.stringify, a BigInt JSON cannot hold).
 *
 * Not a refusal, though permanent: FerretDB closes the connection on a NaN (its wire decoder
 * refuses it before any command runs), which the driver can only report as a closed connection,
 * like an outage. No record may carry one: the production run store writes every non-finite
 * number as null (./production/runs.ts `storable`), as SQLite's JSON does.
 */

/** MongoDB's codes for a document refused for what it holds (FerretDB uses the same). */
const MONGO_REFUSALS: ReadonlySet<number> = new Set([
  2, // BadValue
  9, // FailedToParse
  14, // TypeMismatch
  22, // InvalidBSON
  52, // DollarPrefixedFieldName
  55, // InvalidDBRef
  56, // EmptyFieldName
  57, // DottedFieldName
  121, // DocumentValidationFailure
  10334, // BSONObjectTooLarge
  17419, // document too large for a batch
  17420, // document too large
  16755, // (FerretDB) invalid document
]);
const DUPLICATE_KEY = 11000;

/** PostgreSQL (behind FerretDB) refused the data itself: data exception (22xxx), program limit exceeded (54xxx). */
const PG_DATA_REFUSAL = /\(SQLSTATE (?:22|54)[0-9A-Z]{3}\)/;

/** better-sqlite3's codes for a value or row SQLite will not store. */
const SQLITE_REFUSAL = /^SQLITE_(?:TOOBIG|MISMATCH|RANGE|CONSTRAINT(?:_[A-Z]+)?)$/;

/** Errors raised in this process while encoding a document: nothing was sent, and the same document fails the same way. */
const LOCAL_REFUSAL_NAMES: ReadonlySet<string> = new Set(['BSONError', 'BSONVersionError', 'MongoInvalidArgumentError', 'RangeError', 'TypeError']);

function fields(err: unknown): { name: unknown; code: unknown; message: string; writeErrors: unknown } {
  if (typeof err !== 'object' || err === null) return { name: undefined, code: undefined, message: '', writeErrors: undefined };
  const e = err as { name?: unknown; code?: unknown; message?: unknown; errmsg?: unknown; writeErrors?: unknown };
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : typeof e.errmsg === 'string' ? e.errmsg : '';
  return { name: e.name, code: e.code, message, writeErrors: e.writeErrors };
}

function serverRefused(code: unknown, message: string): boolean {
  if (typeof code !== 'number') return false;
  if (MONGO_REFUSALS.has(code)) return true;
  return code === 1 && PG_DATA_REFUSAL.test(message);
}

/** True when `err` (a failed write of the run sink) is the store refusing what the batch holds, not an outage. */
export function isRefusal(err: unknown): boolean {
  const { name, code, message, writeErrors } = fields(err);
  // A bulk write's per-document errors: refused when each is a refusal (or a duplicate), and one at least is one.
  if (writeErrors !== undefined) {
    const list = (Array.isArray(writeErrors) ? writeErrors : [writeErrors]) as unknown[];
    const each = list.map((w) => fields(w));
    if (each.length > 0 && each.every((w) => w.code === DUPLICATE_KEY || serverRefused(w.code, w.message))) {
      return each.some((w) => w.code !== DUPLICATE_KEY);
    }
    if (each.length > 0) return false;
  }
  if (name === 'StoreError') return false; // STORE_UNAVAILABLE and the like: the store's own words for an outage
  // Node's own (a Buffer offset past the BSON serializer's 16 MiB, ERR_OUT_OF_RANGE), or none: thrown here.
  if (typeof name === 'string' && LOCAL_REFUSAL_NAMES.has(name) && (code === undefined || (typeof code === 'string' && code.startsWith('ERR_')))) return true;
  if (typeof code === 'string') return SQLITE_REFUSAL.test(code);
  return serverRefused(code, message);
}
