/**
 * The mark of a data binding's database (ADR 0184). Functions write what they like into their bound
 * database; a database holding a production store's collections and schema record is, to a
 * platform starting on it, that platform's store. A tenant of one install whose database's name is
 * another install's FP_MONGO_DB on the same server (`stg_platform`: database `platform` of workspace
 * `stg`) wrote a schema-1 record and an admin token document there, and that install's first start
 * upgraded the planted token into a live admin token (red team round 39).
 *
 * So the data proxy writes this collection into a bound database before a function's first write
 * that can create it reaches the server, no function may name it (read, write, drop, or a
 * pipeline stage), and a production store refuses to open a database that has it, whatever else it holds.
 */
export const BOUND_DATABASE_MARK = 'fastapi-platform.binding';

/** The mark's one document. */
export const BOUND_DATABASE_MARK_ID = 'binding';
