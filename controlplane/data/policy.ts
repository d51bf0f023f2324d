/**
 * What a bound function may ask of its database (ADR 0021, "The proxy's rules"): an allow list of
 * commands, every one on the bound database only, no stage or operator that reaches another
 * database or runs code on the server, cursors only of the same binding. Pure: the proxy asks,
 * this answers. Anything not named here is refused. What a command carries (its fields, and the
 * forbidden operators and stages looked for in it) is read from its bytes by command.ts.
 */
import type { Command } from './command.js';
import { isReservedCollection } from './names.js';

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

/** Body fields the proxy lets through (besides the command's own): anything else is refused. */
const GENERIC_FIELDS = new Set(['$db', 'comment', 'maxTimeMS', 'readConcern', 'writeConcern', '$readPreference', 'lsid', 'txnNumber', 'apiVersion', 'apiStrict', 'apiDeprecationErrors', '$clusterTime']);

/**
 * What starts, continues or ends a multi-document transaction: refused with a message that says so
 * (ADR 0223). Sessions are offered, transactions are not: FerretDB 1.x has none (it answered
 * `startTransaction` with FailedToParse `unknown field`), and MongoDB has none on a standalone.
 */
const TRANSACTION_FIELDS = new Set(['startTransaction', 'autocommit']);
const TRANSACTION_COMMANDS = new Set(['commitTransaction', 'abortTransaction']);
export const TRANSACTIONS_REFUSED =
  'transactions are not offered by data bindings (sessions are): write without start_transaction(), e.g. one document holding what must change together';

/**
 * The answer to a `$group` of more than one accumulator on a server that answers it wrongly
 * (DataProxyOptions.oneAccumulatorPerGroup, ADR 0177), which says how to write it instead.
 */
export const GROUP_ACCUMULATORS_REFUSED =
  'this database server (FerretDB 1.x) answers 0 for every accumulator of a $group after the first, so the pipeline is refused: give each $group one accumulator, one aggregate() per value (it has no $facet), e.g. [{"$group": {"_id": "$cat", "total": {"$sum": "$price"}}}] and then [{"$group": {"_id": "$cat", "n": {"$sum": 1}}}]';

export type Decision =
  | { kind: 'local'; command: string }
  | { kind: 'forward'; command: string; collection: string | null; write: 'insert' | 'update' | 'delete' | 'findAndModify' | null; cursor: boolean; cursorIds: string[] }
  | { kind: 'refuse'; reason: string };

/**
 * Decides one command (read by command.ts). `database` is the binding's physical database name
 * (the one the command was read for); `ownsCursor` says whether a cursor id was opened by this binding.
 */
export function decide(cmd: Command, database: string, authenticated: boolean, ownsCursor: (id: string) => boolean): Decision {
  const command = cmd.name;
  if (LOCAL_COMMANDS.has(command)) return { kind: 'local', command };
  if (!authenticated) return { kind: 'refuse', reason: `${command} needs authentication first` };
  if (TRANSACTION_COMMANDS.has(command) || cmd.keys.some((key) => TRANSACTION_FIELDS.has(key))) return { kind: 'refuse', reason: TRANSACTIONS_REFUSED };
  const rule = Object.hasOwn(FORWARDED, command) ? FORWARDED[command] : undefined;
  if (rule === undefined) return { kind: 'refuse', reason: `command ${JSON.stringify(command)} is not allowed on a bound database` };
  if (cmd.duplicate !== null) return { kind: 'refuse', reason: `field ${cmd.duplicate} is given twice` };
  if (cmd.db !== database) return { kind: 'refuse', reason: `database ${JSON.stringify(String(cmd.db))} is not the bound database` };
  for (const key of cmd.keys) {
    if (key === command || GENERIC_FIELDS.has(key) || !key.startsWith('$')) continue;
    return { kind: 'refuse', reason: `field ${key} is not allowed` };
  }
  for (const id of cmd.sequences) if (!['documents', 'updates', 'deletes'].includes(id)) return { kind: 'refuse', reason: `document sequence ${id} is not allowed` };
  if (cmd.forbidden !== null) return { kind: 'refuse', reason: cmd.forbidden };
  const cursorIds = command === 'getMore' ? [cmd.getMore] : command === 'killCursors' ? cmd.cursors : [];
  for (const id of cursorIds) if (!ownsCursor(id)) return { kind: 'refuse', reason: `cursor ${id} does not belong to this binding` };
  const collection = command === 'getMore' ? cmd.collection : cmd.target;
  if (collection === null && command !== 'aggregate' && command !== 'listCollections' && command !== 'dbStats') {
    return { kind: 'refuse', reason: `${command} needs a collection name` };
  }
  if (collection !== null && isReservedCollection(collection)) return { kind: 'refuse', reason: `collection ${collection} is reserved` };
  return { kind: 'forward', command, collection, write: rule.write ?? null, cursor: rule.cursor === true, cursorIds };
}
