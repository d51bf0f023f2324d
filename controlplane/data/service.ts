/**
 * The data bindings of the running platform (docs/data-binding.md): which function is bound to
 * which database, the proxy socket of each, the credentials, and the run ledger. The registry asks
 * it for a bound function's runtime env when it builds the FunctionVersion; the version upload
 * asks it to check a binding before the version is stored; removal and rotation come from the API.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { bindingTarget, BOUND_DATABASE_MARK, PlatformError, workspaceOfKey, type DataBindingSpec } from '../../protocol/index.js';
import { DataCredentials, type Grant } from './credentials.js';
import { bindingUri, physicalDatabase } from './names.js';
import { backendCommand, DataProxy, DEFAULT_BACKEND_TIMEOUT_MS, type BackendAddress } from './proxy.js';
import { WriteLedger, type CollectionWrites } from './writes.js';

/** Where a sandboxed runtime finds its data socket directory (runtime/fp_sandbox/enter.py). */
export const BOX_DATA_DIR = '/run/fp-data';
const SOCKET = 'mongo.sock';

export interface DataBindingsOptions {
  backend: BackendAddress;
  /** Host directory of the socket directories (the pool's data root, bound into every box hidden). */
  socketRoot: string;
  /** True when runtimes are boxed (the URI names the in-box path); false: the host path. */
  sandboxed: boolean;
  /** The workspace of a function key (ADR 0011); default: the key's own (`<name>.<workspace>`, `<name>` in `default`). */
  workspaceOf?: (functionKey: string) => string;
  /**
   * Databases of the server that belong to no workspace although their names look like one's
   * (`<workspace>_<database>`): the platform's own store database (FP_MONGO_DB, e.g.
   * `fastapi_platform`) when the bindings' server may be the store's. No binding gets them, no
   * listing shows them, no drop reaches them.
   */
  reserved?: readonly string[];
  /** The proxy's wait for the server (connect, each reply) and the platform's own commands' (FP_DATA_BACKEND_TIMEOUT_MS). */
  backendTimeoutMs?: number;
  /** FP_DATA_MAX_DATABASE_BYTES: past it a bound database takes no more writes (default: no cap). */
  maxDatabaseBytes?: number;
  /** Bytes a database holds beside what dbStats counts, counted against maxDatabaseBytes (DataProxyOptions.walBytes). */
  walBytes?: (physical: string) => number;
  /** One write at a time per database (DataProxyOptions.serializeWrites): the embedded FerretDB. */
  serializeWrites?: boolean;
  /** DataProxyOptions.oneAccumulatorPerGroup: true for the embedded FerretDB; absent, the server is asked. */
  oneAccumulatorPerGroup?: boolean;
  /** DataProxyOptions.maxFieldsPerDocument: DEFAULT_FERRETDB_MAX_FIELDS for the embedded FerretDB. */
  maxFieldsPerDocument?: number;
  log?: (line: string) => void;
}

export interface BoundFunction {
  function: string;
  workspace: string;
  database: string;
  physical: string;
}

export class DataBindings {
  readonly credentials = new DataCredentials();
  readonly ledger = new WriteLedger();
  readonly proxy: DataProxy;
  private readonly bound = new Map<string, BoundFunction>();

  constructor(private readonly options: DataBindingsOptions) {
    this.proxy = new DataProxy({ backend: options.backend, credentials: this.credentials, ledger: this.ledger, ...(options.workspaceOf !== undefined ? { workspaceOf: options.workspaceOf } : {}), backendTimeoutMs: options.backendTimeoutMs, ...(options.maxDatabaseBytes !== undefined ? { maxDatabaseBytes: options.maxDatabaseBytes } : {}), ...(options.walBytes !== undefined ? { walBytes: options.walBytes } : {}), serializeWrites: options.serializeWrites === true, ...(options.oneAccumulatorPerGroup !== undefined ? { oneAccumulatorPerGroup: options.oneAccumulatorPerGroup } : {}), ...(options.maxFieldsPerDocument !== undefined ? { maxFieldsPerDocument: options.maxFieldsPerDocument } : {}) });
  }

  private workspaceOf(functionKey: string): string {
    return (this.options.workspaceOf ?? workspaceOfKey)(functionKey);
  }

  /** The host directory of a function's socket: short (Unix socket paths are limited to 107 bytes). */
  socketDir(functionKey: string): string {
    return join(this.options.socketRoot, createHash('sha256').update(functionKey).digest('hex').slice(0, 16));
  }

  /**
   * Checks a binding before a version that declares it is stored: a database of the function's own
   * workspace, existing unless `create` (DATA_DATABASE_FORBIDDEN, DATA_DATABASE_NOT_FOUND).
   */
  async check(functionKey: string, spec: DataBindingSpec): Promise<void> {
    const own = this.workspaceOf(functionKey);
    const target = bindingTarget(spec.database, own);
    if (target.workspace !== own) throw new PlatformError('DATA_DATABASE_FORBIDDEN', `data.mongo.database ${spec.database}: a function of workspace ${own} can only bind databases of ${own}`);
    const physical = physicalDatabase(own, target.database);
    if (this.isReserved(physical)) throw reservedError(spec.database, physical);
    if (await this.holdsStore(physical)) throw storeError(spec.database, physical);
    if (spec.create) return;
    const names = await this.listDatabases();
    if (!names.includes(physical)) throw new PlatformError('DATA_DATABASE_NOT_FOUND', `database ${target.database} does not exist in workspace ${own} (data.mongo.create is false)`);
  }

  /**
   * The env a bound function's runtime gets (FP_MONGO_URI with its credential, FP_MONGO_DATABASE)
   * and the socket directory to bind into its box; opens the function's proxy socket. Sync: the
   * socket is listening before any runtime of the version can connect (specialize comes later).
   */
  runtimeBinding(functionKey: string, spec: DataBindingSpec): { env: Record<string, string>; dataDir: string } {
    const workspace = this.workspaceOf(functionKey);
    const target = bindingTarget(spec.database, workspace);
    const physical = physicalDatabase(workspace, target.database);
    const dir = this.socketDir(functionKey);
    if (this.isReserved(physical)) {
      // Refused at upload since the name was reserved; a version stored before gets no credential (context.db raises).
      this.options.log?.(`data: ${functionKey} names ${physical}, the platform's own database: no credential`);
      return { env: {}, dataDir: dir };
    }
    const previous = this.bound.get(functionKey);
    if (previous !== undefined && previous.physical !== physical) this.credentials.revoke(functionKey); // rebound: the old database's credential ends
    const grant: Grant = { functionKey, workspace, database: target.database, physical };
    this.bound.set(functionKey, { function: functionKey, workspace, database: target.database, physical });
    // A binding new to this process is checked and marked again, now (at start-up every bound
    // function's is; loose4) and at the latest before its first command: its database may have been
    // dropped by another process since, or never marked (bound before marks existed) (ADR 0184).
    // An instance more of it is not.
    if (previous?.physical !== physical) {
      this.proxy.forgetMark(physical);
      this.proxy.markAhead(physical);
    }
    this.proxy.listen(functionKey, join(dir, SOCKET)).catch((err: unknown) => this.options.log?.(`data: cannot open the socket of ${functionKey}: ${(err as Error).message}`));
    const socketPath = this.options.sandboxed ? `${BOX_DATA_DIR}/${SOCKET}` : join(dir, SOCKET);
    return { env: { FP_MONGO_URI: bindingUri(socketPath, physical, this.credentials.credentialFor(grant)), FP_MONGO_DATABASE: physical }, dataDir: dir };
  }

  /** The binding is gone (function deleted, or a version without `data` deployed): credentials revoked, socket closed. Data stays. */
  async remove(functionKey: string): Promise<void> {
    if (!this.bound.delete(functionKey)) return;
    this.credentials.revoke(functionKey);
    await this.proxy.unlisten(functionKey);
  }

  /** New credentials for a function's binding; the old ones work for `graceMs` more. False: not bound. */
  rotate(functionKey: string, graceMs: number): boolean {
    if (!this.bound.has(functionKey)) return false;
    this.credentials.rotate(functionKey, graceMs);
    return true;
  }

  /** True when the function's proxy said DATA_BACKEND_UNAVAILABLE to it at or after `since` (Date.now()). */
  toldUnavailable(functionKey: string, since: number): boolean {
    return this.proxy.toldUnavailable(functionKey, since);
  }

  /** The function's binding, or null. */
  bindingOf(functionKey: string): BoundFunction | null {
    return this.bound.get(functionKey) ?? null;
  }

  /** Every bound function (for "which functions use a database"). */
  list(): BoundFunction[] {
    return [...this.bound.values()].sort((a, b) => a.function.localeCompare(b.function));
  }

  /**
   * The workspace's databases on the server (bound or not: a database outlives the functions that
   * used it), by their name in the workspace. DATA_BACKEND_UNAVAILABLE if the server cannot be asked.
   */
  async serverDatabases(workspace: string): Promise<string[]> {
    const prefix = physicalDatabase(workspace, '');
    const named = (await this.listDatabases()).filter((physical) => physical.startsWith(prefix) && physical.length > prefix.length && !this.isReserved(physical));
    const stores = await Promise.all(named.map((physical) => this.holdsStore(physical)));
    return named.filter((_, i) => !stores[i]).map((physical) => physical.slice(prefix.length));
  }

  /**
   * Drops a database of `workspace` and everything in it, when asked (the API's DELETE
   * /data/databases/{database}): refused while a function is bound to it (DATA_DATABASE_IN_USE),
   * DATA_DATABASE_NOT_FOUND when the server has no such database.
   */
  async drop(workspace: string, database: string): Promise<{ physical: string }> {
    const physical = physicalDatabase(workspace, database);
    const users = this.list().filter((b) => b.physical === physical).map((b) => b.function);
    if (users.length > 0) {
      throw new PlatformError('DATA_DATABASE_IN_USE', `database ${database} is bound to ${users.join(', ')}: ${users.length === 1 ? 'deploy it without data.mongo, or delete it' : 'deploy them without data.mongo, or delete them'}, first`, { functions: users });
    }
    if (this.isReserved(physical) || !(await this.listDatabases()).includes(physical) || (await this.holdsStore(physical))) {
      throw new PlatformError('DATA_DATABASE_NOT_FOUND', `database ${database} does not exist in workspace ${workspace}`);
    }
    const reply = await backendCommand(this.options.backend, this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS, { dropDatabase: 1, $db: physical });
    if (reply.ok !== 1) throw this.refused(`did not drop ${database}`, reply);
    this.proxy.forgetMark(physical);
    return { physical };
  }

  /**
   * DATA_BACKEND_UNAVAILABLE for a command the server refused: the caller (a deployer's token) gets
   * its code name, the operator's log its words. Before (ops round 3) the answer carried them: on
   * FerretDB over PostgreSQL, its call stack, PostgreSQL's address and the user it logs in as.
   */
  private refused(what: string, reply: Record<string, unknown>): PlatformError {
    this.options.log?.(`data: the database server ${what}: ${String(reply.errmsg ?? 'no reason given')}`);
    const name = typeof reply.codeName === 'string' ? reply.codeName : `code ${String(reply.code ?? '?')}`;
    return new PlatformError('DATA_BACKEND_UNAVAILABLE', `the database server ${what} (${name}; the platform's log has its answer)`);
  }

  private isReserved(physical: string): boolean {
    return (this.options.reserved ?? []).includes(physical);
  }

  /**
   * True when the database holds a platform's store (its `meta` collection has the `schema`
   * document every production store writes first: controlplane/store/production/context.ts):
   * another install's FP_MONGO_DB on the same server (`stg_platform`: database `platform` of a
   * workspace `stg`), which `reserved` (this install's own name only) does not know. Red team
   * round 14: such a workspace's function read that install's store, and its owner could drop it.
   */
  private async holdsStore(physical: string): Promise<boolean> {
    const timeout = this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
    const reply = await backendCommand(this.options.backend, timeout, { find: 'meta', filter: { _id: 'schema' }, projection: { _id: 1 }, limit: 1, $db: physical });
    if (reply.ok !== 1) throw this.refused(`could not be asked about ${physical}`, reply);
    if (((reply.cursor as { firstBatch?: unknown[] } | undefined)?.firstBatch?.length ?? 0) === 0) return false;
    // A bound database's `meta` is its functions' data, whatever they wrote (ADR 0184): a schema
    // record planted there hid the database from its workspace's listing, its drop and the
    // workspace delete's check, so it outlived the workspace (red team round 39).
    const marks = await backendCommand(this.options.backend, timeout, { listCollections: 1, filter: { name: BOUND_DATABASE_MARK }, nameOnly: true, $db: physical });
    if (marks.ok !== 1) throw this.refused(`could not be asked about ${physical}`, marks);
    return ((marks.cursor as { firstBatch?: unknown[] } | undefined)?.firstBatch?.length ?? 0) === 0;
  }

  /** What a run wrote through its function's binding; forgets it (the run record keeps it). */
  takeWrites(functionKey: string, runId: string): CollectionWrites[] {
    return this.ledger.take(functionKey, runId);
  }

  async close(): Promise<void> {
    await this.proxy.close();
  }

  /** The backend's databases, asked over a connection of the platform's own (one command, no driver). */
  private async listDatabases(): Promise<string[]> {
    const reply = await backendCommand(this.options.backend, this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS, { listDatabases: 1, nameOnly: true, $db: 'admin' });
    const dbs = (reply.databases as { name: string }[] | undefined) ?? [];
    return dbs.map((d) => d.name);
  }
}

function storeError(asked: string, physical: string): PlatformError {
  return new PlatformError('DATA_DATABASE_FORBIDDEN', `data.mongo.database ${asked}: ${physical} holds a platform's store (another install's FP_MONGO_DB on that server)`);
}

function reservedError(asked: string, physical: string): PlatformError {
  return new PlatformError('DATA_DATABASE_FORBIDDEN', `data.mongo.database ${asked}: ${physical} is the platform's own database on that server`);
}
