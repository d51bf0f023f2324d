/**
 * A database without the platform's schema record (`meta` `schema`), as found at open: new (empty,
 * or what an interrupted first start of this platform wrote), or holding data this platform did not
 * write there — another application's collections, or another platform's whose record is gone.
 * The open writes its schema into the database, so it refuses the second kind unless the operator
 * said to use that database anyway (ADR 0183).
 */
import type { Db } from 'mongodb';
import { BOUND_DATABASE_MARK } from '../../../protocol/index.js';
import { StoreError } from '../errors.js';
import { collections, type Collections } from './context.js';

/** What an interrupted first start writes before the schema record: the default workspace, the platform's id. */
const FIRST_START_DOCS: Partial<Record<keyof Collections, string[]>> = { workspaces: ['default/1'], meta: ['platform'] };

/** At most this many of the collections are named in the refusal. */
const NAMED = 5;

/**
 * The collections of `db` that hold what a new database would not: any collection but the
 * platform's own, and the platform's own holding documents (but those of an interrupted first
 * start). Empty: the database is new. Read only.
 */
export async function dataWithoutSchema(db: Db): Promise<string[]> {
  const ours = new Map(Object.entries(collections(db)).map(([key, col]) => [col.collectionName, key as keyof Collections]));
  const found: string[] = [];
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (name.startsWith('system.')) continue;
    const key = ours.get(name);
    if (key === undefined) {
      found.push(name);
      continue;
    }
    const expected = FIRST_START_DOCS[key] ?? [];
    const other = await db.collection<{ _id: string }>(name).findOne(expected.length > 0 ? { _id: { $nin: expected } } : {}, { projection: { _id: 1 } });
    if (other !== null) found.push(name);
  }
  return found.sort();
}

/** STORE_DATABASE_FOREIGN: the database, and (some of) the collections that made it so. */
export function foreignDatabase(database: string, found: readonly string[]): StoreError {
  const named = found.slice(0, NAMED).join(', ') + (found.length > NAMED ? `, … (${found.length} in all)` : '');
  return new StoreError('STORE_DATABASE_FOREIGN',
    `the MongoDB database "${database}" has no fastapi-platform schema record but holds data (${named}): it is another application's or another platform's, and this start wrote nothing to it; `
    + 'set FP_MONGO_DB to a database of its own (a new name is created empty), or FP_MONGO_DB_ADOPT=1 to start in this one anyway (the platform then adds its collections beside the others)',
    { database, collections: found.slice(0, NAMED), count: found.length });
}

/**
 * True when `db` is a data binding's: the data proxy marks a bound database before a function's
 * first write (ADR 0184). What a function wrote there may be a planted store (a schema record, an
 * admin token document that a schema-1 upgrade would key), so no start uses it, adopted or not.
 */
export async function isBoundDatabase(db: Db): Promise<boolean> {
  return (await db.listCollections({}, { nameOnly: true }).toArray()).some(({ name }) => name === BOUND_DATABASE_MARK);
}

/** STORE_DATABASE_FOREIGN for a data binding's database (ADR 0184). */
export function boundDatabase(database: string): StoreError {
  return new StoreError('STORE_DATABASE_FOREIGN',
    `the MongoDB database "${database}" is a data binding's (its collection ${BOUND_DATABASE_MARK} says so): functions of a platform on that server write into it, whatever it holds, so this start wrote nothing to it and never uses it (FP_MONGO_DB_ADOPT does not change that); set FP_MONGO_DB to a database of its own (a new name is created empty)`,
    { database, collections: [BOUND_DATABASE_MARK], count: 1, binding: true });
}
