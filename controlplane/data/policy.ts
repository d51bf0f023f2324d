/**
 * What a bound function may ask of its database (ADR 0021, "The proxy's rules"): an allow list of
 * commands, every one on the bound database only, no stage or operator that reaches another
 * database or runs code on the server, cursors only of the same binding. Pure: the proxy asks,
 * this answers. Anything not named here is refused.
 */
import type { Document } from 'bson';
import type { OpMsg } from './wire.js';

/** Commands answered by the proxy itself (no backend round trip), also before authentication. */
export const LOCAL_COMMANDS = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'saslStart', 'endSessions', 'buildInfo', 'buildinfo', 'getParameter']);

/** How each allowed command's collection is named, and whether it writes. */
const FORWARDED: Record<string, { write?: 'insert' | 'update' | 'delete' | 'findAndModify'; cursor?: boolean }> = {
  find: { cursor: true },
  aggregate: { cursor: true },
  listCollections: { cursor: true },
  listIndexes: { cursor: true },
  getMore: { cursor: true },
  killCursors: {},
  count: {},
  distinct: {},
  insert: { write: 'insert' },
  update: { write: 'update' },
  delete: { write: 'delete' },
  findAndModify: { write: 'findAndModify' },
  findandmodify: { write: 'findAndModify' },
  create: {},
  drop: {},
  createIndexes: {},
  dropIndexes: {},
  collStats: {},
  dbStats: {},
};

/** Operators and stages that run server-side JavaScript or see beyond the database. */
const FORBIDDEN_OPERATORS = new Set(['$where', '$function', '$accumulator', '$currentOp', '$listSessions', '$listLocalSessions', '$changeStream', '$planCacheStats', '$collStats', '$indexStats', '$listSearchIndexes', '$shardedDataDistribution', '$listSampledQueries', '$_internalInhibitOptimization']);
/** Stages whose spec may name another database as `{db, coll}`. */
const NAMESPACE_STAGES = new Set(['$out', '$merge', '$lookup', '$graphLookup', '$unionWith']);

/** Body fields the proxy lets through (besides the command's own): anything else is refused. */
const GENERIC_FIELDS = new Set(['$db', 'comment', 'maxTimeMS', 'readConcern', 'writeConcern', '$readPreference', 'lsid', 'txnNumber', 'apiVersion', 'apiStrict', 'apiDeprecationErrors', '$clusterTime']);

export type Decision =
  | { kind: 'local'; command: string }
  | { kind: 'forward'; command: string; collection: string | null; write: 'insert' | 'update' | 'delete' | 'findAndModify' | null; cursor: boolean; cursorIds: string[] }
  | { kind: 'refuse'; reason: string };

/** The command name: the body's first key. */
export function commandName(body: Document): string {
  for (const key in body) return key;
  return '';
}

/**
 * Decides one OP_MSG. `database` is the binding's physical database name; `ownsCursor` says
 * whether a cursor id was opened by this binding.
 */
export function decide(msg: OpMsg, database: string, authenticated: boolean, ownsCursor: (id: string) => boolean): Decision {
  const body = msg.body;
  const command = commandName(body);
  if (LOCAL_COMMANDS.has(command)) return { kind: 'local', command };
  if (!authenticated) return { kind: 'refuse', reason: `${command} needs authentication first` };
  const rule = FORWARDED[command];
  if (rule === undefined) return { kind: 'refuse', reason: `command ${JSON.stringify(command)} is not allowed on a bound database` };
  const db = body.$db;
  if (db !== database) return { kind: 'refuse', reason: `database ${JSON.stringify(String(db))} is not the bound database` };
  for (const key of Object.keys(body)) {
    if (key === command || GENERIC_FIELDS.has(key) || !key.startsWith('$')) continue;
    return { kind: 'refuse', reason: `field ${key} is not allowed` };
  }
  for (const [id, docs] of msg.sequences) {
    if (!['documents', 'updates', 'deletes'].includes(id)) return { kind: 'refuse', reason: `document sequence ${id} is not allowed` };
    if (id !== 'documents') for (const doc of docs) {
      const bad = scan(doc, database);
      if (bad !== null) return { kind: 'refuse', reason: bad };
    }
  }
  // Insert documents are data, never interpreted: not scanned (they may hold $-prefixed keys).
  for (const [key, value] of Object.entries(body)) {
    if (key === 'documents' && command === 'insert') continue;
    const bad = scan(value, database);
    if (bad !== null) return { kind: 'refuse', reason: bad };
  }
  let cursorIds: string[] = [];
  if (command === 'getMore') cursorIds = [String(body.getMore)];
  if (command === 'killCursors') cursorIds = Array.isArray(body.cursors) ? body.cursors.map(String) : [];
  for (const id of cursorIds) if (!ownsCursor(id)) return { kind: 'refuse', reason: `cursor ${id} does not belong to this binding` };
  const target = command === 'getMore' ? body.collection : body[command];
  const collection = typeof target === 'string' ? target : null;
  if (collection === null && command !== 'aggregate' && command !== 'listCollections' && command !== 'dbStats') {
    return { kind: 'refuse', reason: `${command} needs a collection name` };
  }
  if (collection !== null && (collection.startsWith('system.') || collection.includes('\0'))) return { kind: 'refuse', reason: `collection ${collection} is reserved` };
  return { kind: 'forward', command, collection, write: rule.write ?? null, cursor: rule.cursor === true, cursorIds };
}

/** A `{db, coll}` namespace naming a database other than the bound one. */
function otherDb(spec: unknown, database: string): boolean {
  if (typeof spec !== 'object' || spec === null) return false;
  const s = spec as Record<string, unknown>;
  if ('db' in s && s.db !== database) return true;
  if ('into' in s) return otherDb(s.into, database);
  if ('from' in s) return otherDb(s.from, database);
  return false;
}

/** The first forbidden thing in a value (walked recursively), or null. */
function scan(value: unknown, database: string, depth = 0): string | null {
  if (depth > 100) return 'document nested too deeply';
  if (Array.isArray(value)) {
    for (const item of value) {
      const bad = scan(item, database, depth + 1);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || (value as { _bsontype?: string })._bsontype !== undefined) {
    return (value as { _bsontype?: string } | null)?._bsontype === 'Code' ? 'server-side JavaScript is not allowed' : null;
  }
  for (const [key, inner] of Object.entries(value)) {
    if (FORBIDDEN_OPERATORS.has(key)) return `${key} is not allowed`;
    if (NAMESPACE_STAGES.has(key) && otherDb(inner, database)) return `${key} into another database is not allowed`;
    const bad = scan(inner, database, depth + 1);
    if (bad !== null) return bad;
  }
  return null;
}
