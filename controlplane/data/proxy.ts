/**
 * The data proxy (ADR 0021): a MongoDB-wire server on one Unix socket per bound function, bound
 * into that function's box, standing between the function and the real database server. It
 * enforces the binding's scope outside the function's process: authentication with the binding's
 * credential (SASL PLAIN over the local socket), then every command checked by policy.ts before
 * it is forwarded, on a backend connection of the proxy's own, byte for byte. Replies come back
 * byte for byte too; the proxy only reads a few numbers in them (cursor ids it must own, write
 * counts for the run ledger). Refusals are ordinary command errors; anything malformed, too large
 * or of another opcode closes that connection and nothing else.
 */
import { mkdirSync, rmSync, chmodSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { BSON, type Document } from 'bson';
import { BOUND_DATABASE_MARK, BOUND_DATABASE_MARK_ID, PlatformError, workspaceOfKey, type ErrorCode } from '../../protocol/index.js';
import type { DataCredentials, Grant } from './credentials.js';
import { readCommand, type Command } from './command.js';
import { decide, GROUP_ACCUMULATORS_REFUSED, type Decision } from './policy.js';
import { decodeOpMsg, decodeOpQuery, encodeOpMsg, encodeOpReply, FrameReader, HEADER_BYTES, OP_MSG, OP_QUERY, readHeader, summarizeReply, WireError } from './wire.js';
import { runIdOfComment, type WriteLedger } from './writes.js';

/** Where the real server listens: a Unix socket path, or host and port. */
export type BackendAddress = { path: string } | { host: string; port: number };

export interface DataProxyOptions {
  backend: BackendAddress;
  credentials: DataCredentials;
  ledger: WriteLedger;
  /** Largest message accepted from a function (default 16 MiB + 16 KiB, MongoDB's document cap plus room). */
  maxMessageBytes?: number;
  /** Cursors remembered per binding (oldest forgotten first). */
  maxCursors?: number;
  /**
   * Cursors open at once on one database, all its connections together (default
   * DEFAULT_MAX_OPEN_CURSORS); a command that would open one more is refused (DATA_TOO_MANY_CURSORS).
   */
  maxOpenCursors?: number;
  /** Connections one function may hold open at once (default 256); more are closed at once. */
  maxConnectionsPerFunction?: number;
  /**
   * Connections one workspace's functions may hold open at once, all together (default
   * DEFAULT_MAX_CONNECTIONS_PER_WORKSPACE); more are closed at once. Each one is two of the
   * platform's descriptors (the function's and, once it asked something, the server's).
   */
  maxConnectionsPerWorkspace?: number;
  /** The workspace of a function key (default: workspaceOfKey). */
  workspaceOf?: (functionKey: string) => string;
  /**
   * Bytes the proxy may hold for one function's connections together: messages not yet complete
   * or not yet handled, and replies its sockets have not taken yet (default 256 MiB). A connection
   * that takes its function past it, or the proxy past `maxHeldBytes`, is closed.
   */
  maxHeldBytesPerFunction?: number;
  /** The same for all functions together (default 1 GiB). */
  maxHeldBytes?: number;
  /**
   * The same for all the functions of one workspace together (default half of `maxHeldBytes`):
   * without it, four functions of one workspace at their 256 MiB filled the proxy's 1 GiB, and
   * every other workspace's connection was closed at its next message (red team round 46).
   */
  maxHeldBytesPerWorkspace?: number;
  /**
   * How long the proxy waits for the database server: to connect, and for each reply (no byte of
   * it for that long). Past it the proxy asks the server for a `ping` on a connection of its own:
   * answered (in at most LIVENESS_PROBE_MS), the server is alive and the command merely slow (a
   * big aggregation), so the wait goes on, the function's own timeout bounding it; not answered,
   * the command is answered DATA_BACKEND_UNAVAILABLE and the backend connection dropped; the next
   * command reconnects. Default DEFAULT_BACKEND_TIMEOUT_MS.
   */
  backendTimeoutMs?: number;
  /**
   * FP_DATA_MAX_DATABASE_BYTES: a bound database at or past this size (the server's dbStats, data
   * and indexes) takes no more writes that can grow it (DATA_QUOTA_EXCEEDED); reads and deletes go
   * on. Absent: no cap.
   */
  maxDatabaseBytes?: number;
  /**
   * Bytes the database holds on disk beside what dbStats counts, added to each measure for
   * maxDatabaseBytes: the embedded FerretDB's SQLite WAL file (platform/data.ts). A function that
   * keeps a cursor open holds a read, SQLite cannot start the WAL over meanwhile, and a write and
   * delete in turn grew it without bound while dbStats stayed near zero (wal1). Absent: dbStats alone (a server the platform does not run).
   */
  walBytes?: (physical: string) => number;
  /**
   * One write command at a time per database on the server (the next one is sent when the server
   * has answered the one before), for a server that does not make a single document's update
   * atomic: FerretDB 1.x reads the document, applies `$inc` or `$set` in its own code and writes it
   * back with no transaction, so two calls incrementing a counter at once both read the old value
   * (120 `find_one_and_update` `$inc` from 8 callers at once gave 30 distinct numbers, and
   * concurrent upserts of one `_id` E11000). The embedded FerretDB's SQLite takes one writer per
   * database anyway. Set for the embedded FerretDB (platform/data.ts); one process only.
   */
  serializeWrites?: boolean;
  /**
   * Whether the server answers a `$group` of more than one accumulator wrongly, so the proxy refuses
   * one (DATA_PIPELINE_UNSUPPORTED, ADR 0177): FerretDB 1.x hands the group's documents to its first
   * accumulator, and every one after it answers 0 (`{"total": {"$sum": "$price"}, "n": {"$sum": 1}}`
   * gave `n: 0`), on SQLite and PostgreSQL alike. True for the embedded FerretDB (platform/data.ts);
   * absent, the server's `buildInfo` is asked once, at the first such pipeline (`ferretdbVersion` v1.*).
   */
  oneAccumulatorPerGroup?: boolean;
  /**
   * The most fields one document of a command may have (DATA_DOCUMENT_TOO_WIDE), for a server whose
   * work grows with the square of a document's fields: FerretDB 1.x took 23 s to insert one
   * document of 80 000 fields and 36 s to read it back, and a 16 MiB message holds 1.4 million
   * (hours of the server's CPU, every tenant's, from one insert: red team round 46). Arrays'
   * elements do not count. DEFAULT_FERRETDB_MAX_FIELDS for the embedded FerretDB (platform/data.ts);
   * absent, no bound.
   */
  maxFieldsPerDocument?: number;
  /**
   * Default true: mark each bound database before its binding's first command (ADR 0184). False only
   * for a stand-in server that answers the commands its test scripts and nothing else.
   */
  markBindings?: boolean;
}

/** MongoDB error codes used in refusals (the driver raises OperationFailure with them). */
const CODE = { unauthorized: 13, authFailed: 18, hostUnreachable: 6, commandNotFound: 59, exceededStorage: 14031, tooManyCursors: 2, notImplemented: 238, badValue: 2 } as const;

/** DataProxyOptions.maxFieldsPerDocument for the embedded FerretDB. */
export const DEFAULT_FERRETDB_MAX_FIELDS = 4096;

/**
 * Cursors open at once per database. FerretDB's SQLite backend gives a database at most 100
 * connections of its pool, and every open cursor holds one: the 101st `find` of a function that
 * kept 100 open (never exhausted, never closed) waited for ever, its connection with it, and every
 * later command on that database hung, the platform's `listDatabases` (for every workspace)
 * included (red team of 2026-12-04). Below that bound, with room for the platform's own commands.
 */
const DEFAULT_MAX_OPEN_CURSORS = 64;
/**
 * Connections open at once for all the functions of one workspace. The per-function bound alone
 * (256) let a workspace hold 512 of the platform's descriptors per bound function: 39 functions
 * of one workspace, each opening its 256 connections and asking one command on each, filled this
 * host's 20 000 and every tenant's calls, uploads and connections failed (red team round 46).
 */
export const DEFAULT_MAX_CONNECTIONS_PER_WORKSPACE = 1024;
/** How old a database's measured size may be before a write measures it again (one dbStats at a time per database). */
const SIZE_REFRESH_MS = 1_000;

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 16 * 1024;
/**
 * Held bytes (DataProxyOptions.maxHeldBytesPerFunction, maxHeldBytes). Before them (red team 3) a
 * function took the platform from 100 MB to 1.1 GB in 1.3 s by opening 60 connections that each
 * sent 16 MiB of a message and stopped (256 were allowed per function), and to 550 MB in 9 s by
 * pipelining `find`s of a 15 MB document without reading the replies, without bound (docs/adr/0043-red-team-3-bounds.md).
 */
export const DEFAULT_MAX_HELD_BYTES_PER_FUNCTION = 256 * 1024 * 1024;
export const DEFAULT_MAX_HELD_BYTES = 1024 * 1024 * 1024;
/**
 * FP_DATA_BACKEND_TIMEOUT_MS's default: a hung server costs a command this, not the function's
 * whole timeout. Under the templates' function timeout (10 s) with room to answer the call.
 */
export const DEFAULT_BACKEND_TIMEOUT_MS = 5_000;
/**
 * How long the liveness `ping` of a silent server may take (at most half the backend timeout): a
 * live server answers it in milliseconds, even while it runs a slow command for another connection.
 */
const LIVENESS_PROBE_MS = 1_000;
/** How long after a timeout commands are answered at once (long enough for a driver's immediate retry). */
const HUNG_WINDOW_MS = 1_000;
/** The system code of a wait that ran out (an errno, not a registry code: `unreachable` words it). */
const ETIMEDOUT = 'ETIMEDOUT';

/** An errno-like error for a database server that did not answer in time. */
export function timedOut(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('timed out');
  err.code = ETIMEDOUT;
  return err;
}

const TIMED_OUT = timedOut();

/**
 * What the proxy says about itself in `hello`: a plain primary (standalone: no retryable writes),
 * no compression. Sessions are offered (`logicalSessionTimeoutMinutes`), transactions are not
 * (policy.ts refuses them): without it pymongo's `start_session()` raised ConfigurationError and
 * ODMantic, which saves in a session, could save nothing (apps round 25, ADR 0223).
 */
function helloReply(connectionId: number): Document {
  return {
    helloOk: true, ismaster: true, isWritablePrimary: true, maxBsonObjectSize: 16 * 1024 * 1024, maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000, logicalSessionTimeoutMinutes: 30, localTime: new Date(), minWireVersion: 0, maxWireVersion: 17, readOnly: false,
    connectionId, ok: 1,
  };
}

function errorDoc(code: number, platformCode: ErrorCode, message: string): Document {
  const codeName = Object.entries(CODE).find(([, c]) => c === code)?.[0] ?? 'Error';
  // `fpCode`: the platform's code as a field (pymongo keeps the reply as OperationFailure.details), so the
  // runtime classes the failure by code, never by the message's text (runtime/fp_runtime/errors.py).
  return { ok: 0, errmsg: `${platformCode}: ${message}`, code, codeName: codeName[0]!.toUpperCase() + codeName.slice(1), fpCode: platformCode };
}

interface Listener {
  server: Server;
  path: string;
  connections: Set<Socket>;
  /** Bytes held for this function's connections. */
  held: number;
}

/** Cursor ids a binding opened (so another binding's ids are refused). */
class CursorSet {
  private readonly ids = new Set<string>();
  constructor(private readonly max: number) {}
  add(id: string): void {
    if (id === '0') return;
    if (this.ids.size >= this.max) this.ids.delete(this.ids.values().next().value!);
    this.ids.add(id);
  }
  has(id: string): boolean {
    return this.ids.has(id);
  }
  delete(id: string): void {
    this.ids.delete(id);
  }
}

export class DataProxy {
  private readonly listeners = new Map<string, Listener>();
  /** Connections open now per workspace, all its functions' listeners together. */
  private readonly workspaceConnections = new Map<string, number>();
  /** Bytes held now per workspace (see `charge` in serve). */
  private readonly workspaceHeld = new Map<string, number>();
  private readonly cursors = new Map<string, CursorSet>();
  /** Cursors open now per physical database, over all its connections (a cursor lives on its connection). */
  private readonly openCursors = new Map<string, number>();
  private readonly maxMessageBytes: number;
  private nextConnectionId = 1;
  private nextRequestId = 1;
  /**
   * Per function, until when (Date.now()) its commands get DATA_BACKEND_UNAVAILABLE at once, for a
   * moment after one of them was not answered in time, instead of a wait of their own. A driver
   * retries a read that failed with code 6 at once (pymongo, the Node driver): without this a hung
   * server cost a read two waits, as long as a 10 s function's whole timeout. Per function: one
   * function's slow command (a heavy scan) must not make every other function's commands fail.
   */
  private readonly hungUntil = new Map<string, number>();
  /** Counters for /metrics and tests: refusals by reason kind and closed frames. */
  readonly stats = { forwarded: 0, refused: 0, closed: 0, overHeld: 0 };
  /** groupFlawed: the server's answer, or the question out; undefined: not asked (or not answered). */
  private groupFlaw: boolean | Promise<boolean> | undefined;
  /** Bytes held for all connections (see `charge` in serve). */
  private held = 0;
  /** When each function was last told DATA_BACKEND_UNAVAILABLE (Date.now()), so its claim of one can be checked. */
  private readonly outages = new Map<string, number>();
  /**
   * Each written database's size as last measured (dbStats on a connection of the proxy's own),
   * for FP_DATA_MAX_DATABASE_BYTES. Before it, a function wrote into its database until the state
   * directory's disk was full, for every function and the platform (red team, December 2026).
   */
  private readonly sizes = new Map<string, { bytes: number; written: number; at: number; measuring: boolean }>();
  /**
   * The bound databases this proxy has marked (BOUND_DATABASE_MARK, ADR 0184): true once the server
   * has the mark, the check and write of it while they are out (or a refusal as a store, for a
   * while). One forgotten (`forgetMark`: a function bound to it anew, the database dropped) is
   * checked and marked again at its binding's next command.
   */
  private readonly marked = new Map<string, true | Promise<MarkRefusal | null>>();
  /** serializeWrites: per database, the writes waiting for the one the server has in hand (present while one is out). */
  private readonly writeQueues = new Map<string, (() => void)[]>();
  /** markAhead: the databases waiting for their mark, and how many marks are out (MARKS_AHEAD at most). */
  private readonly ahead: string[] = [];
  private aheadOut = 0;

  constructor(private readonly options: DataProxyOptions) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Opens (or returns) the function's socket at `path`; connectable by anyone who can reach the file (the box). */
  async listen(functionKey: string, path: string): Promise<string> {
    const found = this.listeners.get(functionKey);
    if (found !== undefined) return found.path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    rmSync(path, { force: true });
    const listener: Listener = { server: createServer(), path, connections: new Set(), held: 0 };
    listener.server.on('connection', (socket) => this.serve(functionKey, socket, listener));
    this.listeners.set(functionKey, listener);
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(path, () => resolve());
    });
    chmodSync(path, 0o666); // the function's uid must connect; only its box shows the file
    return path;
  }

  /** Closes a function's socket and its connections (function removed, or its binding). */
  async unlisten(functionKey: string): Promise<void> {
    const listener = this.listeners.get(functionKey);
    if (listener === undefined) return;
    this.listeners.delete(functionKey);
    for (const socket of listener.connections) socket.destroy();
    await new Promise<void>((resolve) => listener.server.close(() => resolve()));
    rmSync(listener.path, { force: true });
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((key) => this.unlisten(key)));
  }

  /**
   * True when this proxy answered DATA_BACKEND_UNAVAILABLE to the function at or after `since`
   * (Date.now()). A runtime's report of that failure comes from the function's own process, which
   * could raise it unprovoked (its failures then counted as the platform's): the host believes it
   * only when the proxy did say so during the call.
   */
  toldUnavailable(functionKey: string, since: number): boolean {
    return (this.outages.get(functionKey) ?? -Infinity) >= since;
  }

  private cursorsOf(grant: Grant): CursorSet {
    const key = `${grant.functionKey}\0${grant.physical}`;
    let set = this.cursors.get(key);
    if (set === undefined) {
      set = new CursorSet(this.options.maxCursors ?? 10_000);
      this.cursors.set(key, set);
    }
    return set;
  }

  private serve(functionKey: string, socket: Socket, listener: Listener): void {
    if (listener.connections.size >= (this.options.maxConnectionsPerFunction ?? 256)) {
      this.stats.closed += 1;
      socket.destroy();
      return;
    }
    const workspace = (this.options.workspaceOf ?? workspaceOfKey)(functionKey);
    const inWorkspace = this.workspaceConnections.get(workspace) ?? 0;
    if (inWorkspace >= (this.options.maxConnectionsPerWorkspace ?? DEFAULT_MAX_CONNECTIONS_PER_WORKSPACE)) {
      this.stats.closed += 1;
      socket.destroy();
      return;
    }
    this.workspaceConnections.set(workspace, inWorkspace + 1);
    listener.connections.add(socket);
    const connectionId = this.nextConnectionId++;
    let grant: Grant | null = null;
    /** The binding's cursor ids, looked up once at authentication (not per command). */
    let cursors: CursorSet | null = null;
    /** The cursors this connection opened and has not exhausted or killed, and their database. */
    const open = new Set<string>();
    let openOn: string | null = null;
    const forgetOpen = (): void => {
      if (openOn !== null) this.countOpen(openOn, -open.size);
      open.clear();
    };
    let user: string | null = null;
    let backend: BackendConnection | null = null;
    const reader = new FrameReader(this.maxMessageBytes);
    let busy = false;
    const queue: Buffer[] = [];
    let queuedBytes = 0;
    let handling = 0;
    let waitingDrain = false;
    let charged = 0;
    const maxPerFunction = this.options.maxHeldBytesPerFunction ?? DEFAULT_MAX_HELD_BYTES_PER_FUNCTION;
    const maxTotal = this.options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES;
    const maxPerWorkspace = this.options.maxHeldBytesPerWorkspace ?? Math.floor(maxTotal / 2);
    /**
     * Charges what this connection holds (a message coming in, messages waiting, the one handled,
     * replies not yet taken by the function) to its function, its workspace and the proxy; false past a bound.
     */
    const charge = (): boolean => {
      const now = socket.destroyed ? 0 : reader.pending + queuedBytes + handling + socket.writableLength;
      listener.held += now - charged;
      this.held += now - charged;
      const inWorkspace = (this.workspaceHeld.get(workspace) ?? 0) + now - charged;
      if (inWorkspace > 0) this.workspaceHeld.set(workspace, inWorkspace);
      else this.workspaceHeld.delete(workspace);
      charged = now;
      return listener.held <= maxPerFunction && inWorkspace <= maxPerWorkspace && this.held <= maxTotal;
    };

    const close = (): void => {
      if (!socket.destroyed) this.stats.closed += 1;
      socket.destroy();
      charge();
    };
    const overHeld = (): void => {
      this.stats.overHeld += 1;
      close();
    };
    socket.on('close', () => {
      listener.connections.delete(socket);
      const left = (this.workspaceConnections.get(workspace) ?? 1) - 1;
      if (left > 0) this.workspaceConnections.set(workspace, left);
      else this.workspaceConnections.delete(workspace);
      backend?.close();
      forgetOpen(); // the server closes a connection's cursors with it
      charge();
    });
    socket.on('error', () => undefined);

    const reply = (doc: Document, responseTo: number, legacy = false): void => {
      const requestId = this.nextRequestId++;
      socket.write(legacy ? encodeOpReply(doc, requestId, responseTo) : encodeOpMsg(doc, requestId, responseTo));
    };

    // The hot path is synchronous up to the backend write and continues in the backend's reply
    // callback: no promise per message (ADR 0024). `done` is called once per frame.
    const handle = (frame: Buffer, done: () => void): void => {
      const header = readHeader(frame);
      if (header.opCode === OP_QUERY) {
        // Only the legacy handshake (hello/isMaster on admin.$cmd) is answered; nothing else.
        const query = decodeOpQuery(frame);
        const name = Object.keys(query.query)[0] ?? '';
        if (query.collection !== 'admin.$cmd' || !['hello', 'ismaster', 'isMaster'].includes(name)) throw new WireError('OP_QUERY is only accepted for the handshake');
        reply(helloReply(connectionId), header.requestId, true);
        return done();
      }
      if (header.opCode !== OP_MSG) throw new WireError(`opcode ${header.opCode} is not accepted`);
      const command = readCommand(frame, grant?.physical ?? '');
      if (command.flags !== 0) throw new WireError('OP_MSG flags (checksum, moreToCome, exhaust) are not accepted');
      if (user !== null && !this.options.credentials.live(user)) {
        this.stats.refused += 1;
        reply(errorDoc(CODE.unauthorized, 'DATA_CREDENTIALS_REVOKED', 'this binding credential was revoked or rotated out'), header.requestId);
        grant = null;
        cursors = null;
        user = null;
        return done();
      }
      const decision: Decision = decide(command, grant?.physical ?? '', grant !== null, (id) => cursors?.has(id) ?? false);
      if (decision.kind === 'refuse') {
        this.stats.refused += 1;
        reply(errorDoc(CODE.unauthorized, 'DATA_SCOPE_FORBIDDEN', decision.reason), header.requestId);
        return done();
      }
      if (decision.kind === 'local') {
        this.answerLocally(decision.command, decodeOpMsg(frame).body, functionKey, header.requestId, connectionId, reply, (found) => {
          grant = found.grant;
          cursors = this.cursorsOf(found.grant);
          user = found.user;
        });
        return done();
      }
      // The one answer for a server that cannot serve the command; remembered, so the function's
      // report of it can be believed (toldUnavailable).
      const unavailable = (reason: string): void => {
        this.outages.set(functionKey, Date.now());
        reply(errorDoc(CODE.hostUnreachable, 'DATA_BACKEND_UNAVAILABLE', reason), header.requestId);
      };
      if (grows(decision, command, frame) && this.full(grant!.physical, frame.length)) {
        this.stats.refused += 1;
        reply(errorDoc(CODE.exceededStorage, 'DATA_QUOTA_EXCEEDED', `the database is over its ${this.options.maxDatabaseBytes} bytes (FP_DATA_MAX_DATABASE_BYTES): delete data, and close cursors left open, to write again`), header.requestId);
        return done();
      }
      if (decision.cursor && decision.command !== 'getMore' && (this.openCursors.get(grant!.physical) ?? 0) >= (this.options.maxOpenCursors ?? DEFAULT_MAX_OPEN_CURSORS)) {
        this.stats.refused += 1;
        reply(errorDoc(CODE.tooManyCursors, 'DATA_TOO_MANY_CURSORS', `${this.options.maxOpenCursors ?? DEFAULT_MAX_OPEN_CURSORS} cursors are open on this database: read them to the end or close them (cursor.close()) before opening more`), header.requestId);
        return done();
      }
      if (command.widest > (this.options.maxFieldsPerDocument ?? Infinity)) {
        this.stats.refused += 1;
        reply(errorDoc(CODE.badValue, 'DATA_DOCUMENT_TOO_WIDE', `a document of this command has ${command.widest} fields, over the ${this.options.maxFieldsPerDocument} this database server takes (its work grows with the square of a document's fields): keep such data in an array of {key, value} documents, or in several documents`), header.requestId);
        return done();
      }
      // A server that answers a pipeline wrongly (ADR 0177): refused, not passed on, so no wrong number is
      // returned as if it were right. Asked of the server once, off the path of every other command.
      const refuseGroup = (): void => {
        this.stats.refused += 1;
        reply(errorDoc(CODE.notImplemented, 'DATA_PIPELINE_UNSUPPORTED', GROUP_ACCUMULATORS_REFUSED), header.requestId);
        done();
      };
      const forward = (): void => {
        if (this.hung(functionKey)) {
          unavailable(unreachable(TIMED_OUT));
          return done();
        }
        if (backend?.dead === true) backend = null;
        const connection = (backend ??= new BackendConnection(this.options.backend, this.maxMessageBytes * 4, this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS, () => this.alive()));
        const serialized = this.options.serializeWrites === true && decision.write !== null ? grant!.physical : null;
        // The function's listing leaves out its database's mark (ADR 0184), as if it were not there.
        const sent = decision.command === 'listCollections' ? listingWithoutMark(frame) : frame;
        const send = (): void => connection.roundTrip(sent, (err, answer) => {
          if (serialized !== null) this.writeDone(serialized);
          try {
            if (err !== null) {
              connection.close();
              if (backend === connection) backend = null;
              forgetOpen(); // the server's connection, and its cursors, are gone
              if ((err as NodeJS.ErrnoException).code === ETIMEDOUT) this.markHung(functionKey);
              // The reason without the server's address (a socket path, a host and port): a function
              // learns nothing of where the platform keeps its database server.
              unavailable(unreachable(err));
              return done();
            }
            this.stats.forwarded += 1;
            // The backend answers our frame; the function sees its own request id in responseTo (the same bytes).
            socket.write(answer!);
            if (!charge()) return overHeld();
            const change = this.account(grant!, decision, command, answer!, cursors!);
            for (const id of change.closed) if (open.delete(id)) this.countOpen(openOn!, -1);
            if (change.opened !== null && !open.has(change.opened)) {
              if (openOn !== grant!.physical) forgetOpen(); // authenticated again, on another binding
              openOn = grant!.physical;
              open.add(change.opened);
              this.countOpen(openOn, 1);
            }
          } catch {
            return close(); // never thrown into the backend socket's event: this connection ends, nothing else
          }
          done();
        });
        const go = (): void => {
          if (serialized === null) send();
          else this.writeTurn(serialized, send);
        };
        // A binding's first command waits for its database's mark (ADR 0184); once marked, none waits.
        if (this.options.markBindings === false || this.marked.get(grant!.physical) === true) return go();
        void this.mark(grant!.physical).then((refused) => {
          if (refused === null) return go();
          if ('store' in refused) {
            this.stats.refused += 1;
            reply(errorDoc(CODE.unauthorized, 'DATA_DATABASE_FORBIDDEN', refused.store), header.requestId);
          } else {
            if (refused.unavailable === TIMED_OUT_TEXT) this.markHung(functionKey);
            unavailable(refused.unavailable);
          }
          done();
        }).catch(() => close()); // never a rejection left unhandled (it would end the process): this connection ends
      };
      if (command.groupAccumulators < 2) return forward();
      const flawed = this.groupFlawed();
      if (typeof flawed === 'boolean') return flawed ? refuseGroup() : forward();
      flawed.then((yes) => (yes ? refuseGroup() : forward())).catch(() => close());
    };

    // A loop, not recursion: frames answered at once (refusals, the handshake) are handled in turn
    // without growing the stack however many a client sends in one chunk.
    const pump = (): void => {
      while (!busy) {
        // One reply at a time waits in the socket for the function to read it: a function that
        // pipelines commands and never reads their replies held them all in the platform (red team 3).
        if (socket.writableNeedDrain) {
          if (!waitingDrain) {
            waitingDrain = true;
            socket.pause();
            socket.once('drain', () => {
              waitingDrain = false;
              charge();
              pump();
            });
          }
          return;
        }
        const frame = queue.shift();
        if (frame === undefined) {
          if (socket.isPaused()) socket.resume();
          return;
        }
        queuedBytes -= frame.length;
        handling = frame.length;
        busy = true;
        let inHandle = true;
        try {
          handle(frame, () => {
            busy = false;
            handling = 0;
            charge();
            if (!inHandle) pump();
          });
        } catch {
          close(); // malformed, or not a message the proxy accepts: this connection ends
          return;
        }
        inHandle = false;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      try {
        const frames = reader.push(chunk);
        for (const frame of frames) {
          queue.push(frame);
          queuedBytes += frame.length;
        }
      } catch {
        close(); // too large or nonsense: nothing more of it is read
        return;
      }
      // Messages begun and never finished, on many connections, were held without bound (red team 3).
      if (!charge()) return overHeld();
      // One message is handled at a time; while one waits behind it (or a reply waits to be read),
      // nothing more is read, so a client that pipelines holds at most about two messages of the
      // proxy's memory.
      if (queue.length > 0 && (busy || waitingDrain)) socket.pause();
      pump();
    });
  }

  /**
   * True when the database, as last measured plus the bytes of the growing commands sent since,
   * is at or past maxDatabaseBytes; else counts this command's `bytes` and lets it through.
   * Measures again (off this command's path) when the last measure is older than
   * SIZE_REFRESH_MS, which takes in deletes and what a command really added. A measure that
   * fails keeps the last one.
   */
  private full(physical: string, bytes: number): boolean {
    const max = this.options.maxDatabaseBytes;
    if (max === undefined) return false;
    let size = this.sizes.get(physical);
    if (size === undefined) this.sizes.set(physical, (size = { bytes: 0, written: 0, at: 0, measuring: false }));
    if (!size.measuring && Date.now() - size.at >= SIZE_REFRESH_MS) {
      const entry = size;
      const writtenBefore = entry.written;
      entry.measuring = true;
      backendCommand(this.options.backend, this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS, { dbStats: 1, $db: physical })
        .then((stats) => {
          const measured = Number(stats.dataSize ?? 0) + Number(stats.indexSize ?? 0) + (this.options.walBytes?.(physical) ?? 0);
          if (!Number.isFinite(measured)) return;
          // What was sent before the measure began is in it (one connection per function command at a time: nearly).
          entry.bytes = measured;
          entry.written -= writtenBefore;
        })
        .catch(() => undefined)
        .finally(() => {
          entry.measuring = false;
          entry.at = Date.now();
        });
    }
    if (size.bytes + size.written >= max) return true;
    size.written += bytes;
    return false;
  }

  /**
   * Marks a bound database (ADR 0184) before its binding's first command, on connections of the
   * proxy's own; null once marked. A database holding a store (the `meta` `schema` record) and no
   * mark is another install's, started on it since the binding was made: never marked (its next
   * start would refuse it) nor served, `store` says why. Otherwise the mark is inserted (a duplicate
   * key: marked already; FerretDB's concurrent upserts of one _id can fail), and a schema record
   * found after a fresh mark was written by a store's first start at the same moment, which finds
   * the mark after its own record and stops: refused too. `unavailable`: the server did not answer.
   */
  private mark(physical: string): Promise<MarkRefusal | null> {
    const found = this.marked.get(physical);
    if (found === true) return Promise.resolve(null);
    if (found !== undefined) return found;
    const writing: Promise<MarkRefusal | null> = this.markNow(physical).catch((err: Error) => ({ unavailable: err.message })).then((refused) => {
      if (refused === null) this.marked.set(physical, true);
      else if ('store' in refused) {
        // The verdict stands a while: each command of a binding refused so cost two commands on
        // connections of their own, which a function could send in a loop.
        setTimeout(() => {
          if (this.marked.get(physical) === writing) this.marked.delete(physical);
        }, STORE_VERDICT_MS).unref();
      } else this.marked.delete(physical);
      return refused;
    });
    this.marked.set(physical, writing);
    return writing;
  }

  private async markNow(physical: string): Promise<MarkRefusal | null> {
    const timeout = this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
    const ask = (command: Record<string, unknown>): Promise<Record<string, unknown>> => backendCommand(this.options.backend, timeout, { ...command, $db: physical });
    const found = (reply: Record<string, unknown>): boolean => ((reply.cursor as { firstBatch?: unknown[] } | undefined)?.firstBatch?.length ?? 0) > 0;
    const notAnswered: MarkRefusal = { unavailable: 'the database server did not answer the binding\'s check' };
    const asStore: MarkRefusal = { store: `${physical} holds a platform's store (another install's FP_MONGO_DB on that server): this binding is not served` };
    const schema = (): Promise<Record<string, unknown>> => ask({ find: 'meta', filter: { _id: 'schema' }, projection: { _id: 1 }, limit: 1 });
    const before = await schema();
    if (before.ok !== 1) return notAnswered;
    if (found(before)) {
      const marks = await ask({ listCollections: 1, filter: { name: BOUND_DATABASE_MARK }, nameOnly: true });
      if (marks.ok !== 1) return notAnswered;
      return found(marks) ? null : asStore; // marked: the schema record is its functions' data
    }
    const inserted = await ask({ insert: BOUND_DATABASE_MARK, documents: [{ _id: BOUND_DATABASE_MARK_ID, at: Date.now() }] });
    if (inserted.ok !== 1 || !((inserted.writeErrors as { code?: number }[] | undefined) ?? []).every((e) => e.code === DUPLICATE_KEY)) return notAnswered;
    if (inserted.n !== 1) return null; // marked before: a binding's database
    const after = await schema();
    if (after.ok !== 1) return notAnswered;
    return found(after) ? asStore : null;
  }

  /** The database is checked and marked again before its binding's next command (a function bound to it anew, the database dropped). */
  forgetMark(physical: string): void {
    if (this.marked.get(physical) === true) this.marked.delete(physical);
  }

  /**
   * Marks a bound database now, not at its binding's first command (loose4): at start-up, where the
   * registry takes every bound function, and at a deploy that binds one. A database a binding was
   * given before marks existed (an upgrade) was marked only at its next command, so another
   * install's store could start on it meanwhile (red39, ADR 0184). MARKS_AHEAD at a time (a start-up
   * with many bindings is not a burst on the server); a refusal or a silent server is met again,
   * and said, by the binding's first command, as before.
   */
  markAhead(physical: string): void {
    if (this.options.markBindings === false || this.marked.has(physical) || this.ahead.includes(physical)) return;
    this.ahead.push(physical);
    this.nextAhead();
  }

  private nextAhead(): void {
    while (this.aheadOut < MARKS_AHEAD && this.ahead.length > 0) {
      const physical = this.ahead.shift()!;
      this.aheadOut++;
      void this.mark(physical).finally(() => {
        this.aheadOut--;
        this.nextAhead();
      });
    }
  }

  /**
   * oneAccumulatorPerGroup, or what the server's `buildInfo` says (a FerretDB 1.x: `ferretdbVersion`
   * v1.*), asked once; a server that does not answer is asked again at the next such pipeline, which
   * meanwhile goes through (it would fail on such a server anyway).
   */
  private groupFlawed(): boolean | Promise<boolean> {
    if (this.options.oneAccumulatorPerGroup !== undefined) return this.options.oneAccumulatorPerGroup;
    if (this.groupFlaw !== undefined) return this.groupFlaw;
    const asking = backendCommand(this.options.backend, this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS, { buildInfo: 1, $db: 'admin' }).then(
      (info) => (this.groupFlaw = typeof info.ferretdbVersion === 'string' && /^v?1\./.test(info.ferretdbVersion)),
      () => {
        this.groupFlaw = undefined;
        return false;
      },
    );
    this.groupFlaw = asking;
    return asking;
  }

  /** True when the server answers a `ping` on a fresh connection in time: it is alive, a silent command of it is slow, not hung. */
  private alive(): Promise<boolean> {
    const timeout = Math.min(LIVENESS_PROBE_MS, Math.ceil((this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS) / 2));
    return backendCommand(this.options.backend, timeout, { ping: 1, $db: 'admin' }).then((reply) => reply.ok === 1, () => false);
  }

  private markHung(functionKey: string): void {
    const timeout = this.options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS;
    // On the monotonic clock: a wall clock stepped back 10 minutes answered the function's every
    // command at once, unasked, for those 10 minutes (chaos round 9).
    this.hungUntil.set(functionKey, performance.now() + Math.min(HUNG_WINDOW_MS, timeout));
  }

  private hung(functionKey: string): boolean {
    const until = this.hungUntil.get(functionKey);
    if (until === undefined) return false;
    if (performance.now() < until) return true;
    this.hungUntil.delete(functionKey);
    return false;
  }

  /** Answers a command the proxy handles itself (the handshake, authentication, ping). */
  private answerLocally(command: string, body: Document, functionKey: string, requestId: number, connectionId: number, reply: (doc: Document, responseTo: number) => void, authenticated: (found: { grant: Grant; user: string }) => void): void {
    if (command === 'saslStart') {
      const found = this.authenticate(body, functionKey);
      if (found === null) return reply(errorDoc(CODE.authFailed, 'DATA_AUTH_FAILED', 'authentication failed'), requestId);
      authenticated(found);
      return reply({ conversationId: 1, done: true, payload: new BSON.Binary(Buffer.alloc(0)), ok: 1 }, requestId);
    }
    if (command === 'buildInfo' || command === 'buildinfo') reply({ version: '6.0.0', versionArray: [6, 0, 0, 0], ok: 1 }, requestId);
    else if (command === 'getParameter') reply(errorDoc(CODE.unauthorized, 'DATA_SCOPE_FORBIDDEN', 'getParameter is not allowed'), requestId);
    else if (command === 'ping' || command === 'endSessions') reply({ ok: 1 }, requestId);
    else reply(helloReply(connectionId), requestId);
  }

  private authenticate(body: Document, functionKey: string): { grant: Grant; user: string } | null {
    if (body.mechanism !== 'PLAIN' || body.$db !== '$external') return null;
    const payload = body.payload as { buffer?: Uint8Array } | undefined;
    if (payload?.buffer === undefined) return null;
    const parts = Buffer.from(payload.buffer).toString('utf8').split('\0');
    if (parts.length !== 3) return null;
    const [, user, password] = parts as [string, string, string];
    const grant = this.options.credentials.check(user, password);
    // A credential works only on its own function's socket.
    if (grant === null || grant.functionKey !== functionKey) return null;
    return { grant, user };
  }

  /**
   * The binding's cursors and the run's writes after a reply. Returns the cursor the command
   * opened (`opened`) and those it ended (exhausted by a getMore, killed), for the open count.
   */
  private account(grant: Grant, decision: Extract<Decision, { kind: 'forward' }>, command: Command, answer: Buffer, cursors: CursorSet): CursorChange {
    const change: CursorChange = { opened: null, closed: [] };
    if (!decision.cursor && decision.write === null && decision.command !== 'killCursors') return change;
    const summary = summarizeReply(answer);
    if (summary === null || !summary.ok) return change;
    // Only what the server says it closed: one asked to kill a cursor of another collection answers
    // ok with it in `cursorsNotFound`, and the cursor stays open (red team, second round: the count
    // went to 0 while 110 cursors held the database's pool).
    if (decision.command === 'killCursors') change.closed = summary.cursorsKilled.filter((id) => decision.cursorIds.includes(id));
    if (decision.cursor && summary.cursorId !== null) {
      if (summary.cursorId === '0') change.closed = decision.cursorIds;
      else change.opened = summary.cursorId;
    }
    for (const id of change.closed) cursors.delete(id);
    if (change.opened !== null) cursors.add(change.opened);
    if (decision.write === null || decision.collection === null) return change;
    const runId = runIdOfComment(command.comment);
    if (runId === null) return change;
    const n = summary.n ?? 0;
    const counts =
      decision.write === 'insert' ? { inserted: n }
        : decision.write === 'delete' ? { deleted: n }
          : decision.write === 'update' ? { updated: summary.nModified ?? 0, upserted: summary.upserted }
            : command.remove ? { deleted: summary.lastErrorN ?? 0 }
              // An upserting findAndModify that inserted says so in lastErrorObject.upserted (n is 1 either way).
              : summary.lastErrorUpserted ? { upserted: summary.lastErrorN ?? 0 } : { updated: summary.lastErrorN ?? 0 };
    this.options.ledger.record(grant.functionKey, runId, grant.physical, decision.collection, counts);
    return change;
  }

  /** serializeWrites: runs `send` now if no write to `physical` is out, else after the ones before it. */
  private writeTurn(physical: string, send: () => void): void {
    const waiting = this.writeQueues.get(physical);
    if (waiting !== undefined) return void waiting.push(send);
    this.writeQueues.set(physical, []);
    send();
  }

  /** serializeWrites: the server answered (or failed) the write out on `physical`: the next one goes. */
  private writeDone(physical: string): void {
    const next = this.writeQueues.get(physical)?.shift();
    if (next === undefined) this.writeQueues.delete(physical);
    else next();
  }

  /** Adds `delta` to the cursors open on `database`. */
  private countOpen(database: string, delta: number): void {
    const n = (this.openCursors.get(database) ?? 0) + delta;
    if (n > 0) this.openCursors.set(database, n);
    else this.openCursors.delete(database);
  }
}

/** What a reply did to the cursors: the one it opened, the ones it ended. */
interface CursorChange {
  opened: string | null;
  closed: string[];
}

/**
 * A `listCollections` frame whose filter leaves out the bound database's mark (ADR 0184): the
 * function lists its collections as before the mark. The one body section is read (types kept as
 * they are), its filter and-ed with `name != mark`, and written again under the same request id. A
 * frame of another shape (none a driver sends) goes as it is: it shows the mark's name, nothing more.
 */
export function listingWithoutMark(frame: Buffer): Buffer {
  const at = HEADER_BYTES + 4;
  if (frame.length < at + 5 || frame.readUInt32LE(HEADER_BYTES) !== 0 || frame[at] !== 0 || at + 1 + frame.readInt32LE(at + 1) !== frame.length) return frame;
  const body = BSON.deserialize(frame.subarray(at + 1), { promoteValues: false, promoteBuffers: false, bsonRegExp: true });
  const hidden = { name: { $ne: BOUND_DATABASE_MARK } };
  body.filter = body.filter === undefined || body.filter === null ? hidden : { $and: [body.filter, hidden] };
  const header = readHeader(frame);
  return encodeOpMsg(body, header.requestId, header.responseTo);
}

/** A command that can make its database bigger: inserts, updates, upserting findAndModify, new collections and indexes. */
function grows(decision: Extract<Decision, { kind: 'forward' }>, command: Command, frame: Buffer): boolean {
  if (decision.write === 'insert' || decision.write === 'update') return true;
  if (decision.write === 'findAndModify') return !command.remove;
  // A pipeline ending in $out or $merge writes a collection server-side, as large as what it reads
  // (a whole collection copied by one small command): at the cap it is refused like an insert
  // (red team 2). Found as a BSON element name ("$out\0"); a string value ending in the same
  // bytes is refused too, at the cap only (fail closed).
  if (decision.command === 'aggregate') return frame.includes(OUT_STAGE) || frame.includes(MERGE_STAGE);
  return decision.command === 'create' || decision.command === 'createIndexes';
}
const OUT_STAGE = Buffer.from('$out\0', 'latin1');
/** Why a binding's first command was not served (DataProxy.mark): its database is a store, or the server did not answer. */
type MarkRefusal = { store: string } | { unavailable: string };

/** How long a binding refused as another install's store stays refused before its database is asked again. */
const STORE_VERDICT_MS = 5000;
/** DataProxy.markAhead: the marks out at once. */
const MARKS_AHEAD = 4;

/** The server's duplicate key error: the mark written already. */
const DUPLICATE_KEY = 11000;
const MERGE_STAGE = Buffer.from('$merge\0', 'latin1');
/**
 * Where every backend connection's reads land (`onread`), copied out before the next read: one
 * event loop, so one buffer serves them all. 64 KiB, what Node allocates per read otherwise.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** One connection to the real server, one request at a time (the client side is sequential too). */
class BackendConnection {
  private readonly socket: Socket;
  private pending: ((err: Error | null, frame: Buffer | null) => void) | null = null;
  private readonly reader: FrameReader;
  /** Closed or failed: the proxy opens a new one for the next command. */
  dead = false;
  /** A liveness ping is out for this connection's silent command. */
  private probing = false;

  /**
   * Connects at once; writes made before the connection is up are buffered by the socket.
   * `timeoutMs`: the socket's idle timer (connecting counts, every write and every chunk read
   * re-arms it), so it fires only when the server has said nothing for that long. One timer per
   * connection that Node re-arms itself: no timer per command on the hot path (ADR 0024). When it
   * fires with a command outstanding, `alive()` decides: a server that answers its ping is kept
   * waiting for (the timer fires again after the next silent spell, and asks again).
   */
  constructor(address: BackendAddress, maxReplyBytes: number, timeoutMs: number, private readonly alive: () => Promise<boolean>) {
    this.reader = new FrameReader(maxReplyBytes);
    // `onread`: the server's bytes land in one buffer the proxy keeps, not in a fresh 64 KiB one
    // per read pushed through a stream (ADR 0033). They are copied out at once: the buffer is
    // shared by every backend connection, and the next read overwrites it.
    const onread = { buffer: READ_BUFFER, callback: (bytes: number, buffer: Uint8Array): boolean => this.onData(Buffer.from(buffer.subarray(0, bytes))) };
    this.socket = 'path' in address ? createConnection({ path: address.path, onread }) : createConnection({ port: address.port, host: address.host, onread });
    this.socket.setNoDelay?.(true);
    this.socket.setTimeout(timeoutMs);
    // `on`, not setTimeout's callback (a `once` listener): the timer fires again after an idle spell.
    this.socket.on('timeout', () => {
      // Idle with nothing asked is no failure (a pooled driver connection between commands).
      if (this.socket.connecting) return this.fail(TIMED_OUT);
      if (this.pending === null || this.probing) return;
      const waiting = this.pending;
      this.probing = true;
      void this.alive().then((alive) => {
        this.probing = false;
        // Still the same command outstanding (it may have been answered, or failed, meanwhile).
        if (this.pending !== waiting) return;
        if (!alive) return this.fail(TIMED_OUT);
        this.socket.setTimeout(timeoutMs); // alive: wait another spell, then ask again
      });
    });
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Sends one request frame; `callback` gets its reply frame, or the error that ended the connection. */
  roundTrip(frame: Buffer, callback: (err: Error | null, frame: Buffer | null) => void): void {
    if (this.dead) return callback(new Error('connection closed'), null);
    this.pending = callback;
    this.socket.write(frame);
  }

  /** A chunk of the server's bytes (the proxy's own copy); always true: keep reading. */
  private onData(chunk: Buffer): boolean {
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch {
      this.fail(new Error('bad reply size'));
      return true;
    }
    for (const frame of frames) {
      const pending = this.pending;
      this.pending = null;
      pending?.(null, frame);
    }
    return true;
  }

  private fail(err: Error): void {
    this.dead = true;
    const pending = this.pending;
    this.pending = null;
    pending?.(err, null);
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Why the database server could not be reached, as callers may read it: the error's code
 * (ECONNREFUSED), never its message, which names the server's address or socket path.
 */
/** What a function is told of a command the server did not answer in time. */
const TIMED_OUT_TEXT = 'the database server did not answer in time (ETIMEDOUT)';
const CLOSED_TEXT = 'the database server closed the connection before it answered';

export function unreachable(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === ETIMEDOUT) return TIMED_OUT_TEXT;
  return `the database server cannot be reached (${code ?? err.message})`;
}

/** One OP_MSG command on a fresh backend connection; DATA_BACKEND_UNAVAILABLE if it cannot be reached. */
export async function backendCommand(address: BackendAddress, timeoutMs: number, command: Record<string, unknown>): Promise<Record<string, unknown>> {
  const body = BSON.serialize(command);
  const frame = Buffer.alloc(21 + body.length);
  frame.writeInt32LE(frame.length, 0);
  frame.writeInt32LE(1, 4);
  frame.writeInt32LE(2013, 12);
  frame.set(body, 21);
  return new Promise((resolve, reject) => {
    const socket = 'path' in address ? createConnection(address.path) : createConnection(address.port, address.host);
    let data = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(timedOut()));
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 4 && data.length >= data.readInt32LE(0)) {
        socket.end();
        resolve(BSON.deserialize(data.subarray(21, data.readInt32LE(0))));
      }
    });
    socket.on('error', (err) => reject(new PlatformError('DATA_BACKEND_UNAVAILABLE', unreachable(err))));
    // A server that closes the connection before its answer (killed or restarted mid-command: a
    // FIN, no error) is unavailable now, not after the timeout: a binding's mark made ahead at a
    // deploy held its first command for it (CI, a FerretDB killed right after the deploy).
    socket.on('close', () => reject(new PlatformError('DATA_BACKEND_UNAVAILABLE', CLOSED_TEXT)));
  });
}
