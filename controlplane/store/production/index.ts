/**
 * The production store: every port of ../types.ts on MongoDB (any MongoDB-wire server; tests use
 * FerretDB 1.24 with its SQLite backend), through the official `mongodb` driver. Hot counters and
 * latency windows live in Redis behind their own port (./redis-metrics.ts, ../metrics/).
 * Why this shape: docs/adr/0006-production-stores.md. Collections and gaps: docs/stores.md.
 */
import { mongoAcceptances } from './acceptances.js';
import { MongoClient, MongoServerError } from 'mongodb';
import type { Keyring } from '../../secrets/index.js';
import { StoreError } from '../errors.js';
import type { KeyUsage, Store } from '../types.js';
import { mongoBlobStore } from './blobs.js';
import { collections, ensureSchema, platformIdentity, SCHEMA_VERSION, type MongoContext, type MongoTestHooks } from './context.js';
import { mongoDeployStore, mongoFunctionStore } from './functions.js';
import { mongoSecretKeys } from './keys.js';
import { mongoRunStore, sweepExpiredLogs } from './runs.js';
import { mongoTokenStore } from './tokens.js';
import { StoreHealth } from './health.js';
import { unavailableAsStoreError } from './unavailable.js';
import { boundDatabase, dataWithoutSchema, foreignDatabase, isBoundDatabase } from './unmarked.js';
import { mongoUsageHistory } from './usage-history.js';
import { mongoVersionStore } from './versions.js';
import { mongoDraftStore, mongoTestCaseStore } from './workbench.js';
import { liveFunction } from './functions.js';
import { mongoAuditStore, mongoBlobGrants, mongoWorkspaceStore } from './workspaces.js';

export { RedisHotMetrics, type RedisHotMetricsOptions } from './redis-metrics.js';
export { connectRedis, connectRedisSubscriber, openRedis, redisReady, REDIS_CLIENT_OPTIONS } from './redis-client.js';

export const DEFAULT_DATABASE = 'fastapi_platform';
/** How soon a MongoDB call fails when no server answers, unless `serverSelectionTimeoutMs` says otherwise. */
export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2000;
/** How often the MongoDB driver checks the server (its default is 10 s). */
export const DEFAULT_HEARTBEAT_MS = 1000;
/** A command unanswered this long has failed (./index.ts `socketTimeoutMs`; ADR 0210). */
export const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;
/**
 * A retention prune's command unanswered this long has failed (the `long` client of MongoContext):
 * deleting a day of runs over FerretDB/PostgreSQL outlasts the 30 s above (loose ends round 13
 * measured 200,000 old runs: the prune failed at 30 s every time, and the backlog only grew).
 */
export const MAINTENANCE_SOCKET_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_LOG_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface MongoStoreOptions {
  /** A `mongodb://` URL. */
  url: string;
  /** Seals secrets and keys token digests; every process on one database needs the same keys (docs/secrets.md). */
  keyring: Keyring;
  /** Default `fastapi_platform`. */
  database?: string;
  /** The clock for createdAt/updatedAt/at fields (tests pass a fake one). Default Date.now. */
  now?: () => number;
  /** How long run logs are kept (TTL). Default 7 days. */
  logRetentionMs?: number;
  /**
   * How soon a call fails when no server answers, so a dead MongoDB surfaces as an error quickly
   * (callers on the hot path never wait for it: they go through a BufferedRecorder). Default
   * DEFAULT_SERVER_SELECTION_TIMEOUT_MS (2000).
   */
  serverSelectionTimeoutMs?: number;
  /** How often the server is checked; a hang is noticed within this plus the timeout. Default DEFAULT_HEARTBEAT_MS (1000). */
  heartbeatMs?: number;
  /**
   * How long a command may go without an answer before it fails STORE_UNAVAILABLE (its connection
   * closed). The server check above does not see a FerretDB whose PostgreSQL hangs (FerretDB answers
   * its `hello`), and such a command waited minutes (ADR 0210). Default DEFAULT_SOCKET_TIMEOUT_MS (30 000).
   */
  socketTimeoutMs?: number;
  /** Where the server has no TTL indexes (FerretDB), expired logs are deleted this often. Default 10 min. */
  logSweepIntervalMs?: number;
  /** How long a batch of run records waits for its superseded bookkeeping (runs.ts, SUPERSEDE_BUDGET_MS). */
  supersedeBudgetMs?: number;
  /** Tests only: where a test stops a server between a write's steps (context.ts MongoTestHooks). */
  testHooks?: MongoTestHooks;
  /**
   * Run on what each key protects in an existing database as found, before this open writes to it
   * (its schema upgrades, indexes, identity): a start it refuses (SECRETS_KEY_UNKNOWN) leaves the
   * database as the older build had it (ADR 0171).
   */
  checkBeforeWrite?: (usage: KeyUsage[]) => void;
  /**
   * Start in a database that has no schema record but holds data (FP_MONGO_DB_ADOPT): without it
   * such an open is refused, STORE_DATABASE_FOREIGN, before anything is written (ADR 0183).
   */
  adoptDatabase?: boolean;
  /**
   * Called once when this open moved the database's schema forward (from, to): an older build's
   * process refuses it from then on at its start (STORE_SCHEMA_TOO_NEW), as for `platform.db`.
   */
  onUpgraded?: (from: number, to: number) => void;
}

export async function openMongoStore(options: MongoStoreOptions): Promise<Store> {
  const timeout = options.serverSelectionTimeoutMs ?? DEFAULT_SERVER_SELECTION_TIMEOUT_MS;
  const client = new MongoClient(options.url, {
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: timeout,
    // How often the driver checks the server. A hung server (connections open, nothing answered)
    // is noticed at a failed check, which also fails the calls waiting on it: at the default 10 s
    // the first calls after a hang waited up to 12 s (reliability round 4). One `hello` a second.
    heartbeatFrequencyMS: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    // A server that answers its check but not a command (FerretDB over a PostgreSQL that hangs: a
    // stopped process, a frozen VM) held API calls for minutes: a command unanswered this long fails.
    socketTimeoutMS: options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    // Absent optional fields stay absent (the default would store them as null).
    ignoreUndefined: true,
    appName: 'fastapi-platform',
  });
  // Connected at its first command (the prunes'), with the same settings but the long socket timeout.
  const longClient = new MongoClient(options.url, {
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: timeout,
    heartbeatFrequencyMS: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    socketTimeoutMS: Math.max(MAINTENANCE_SOCKET_TIMEOUT_MS, options.socketTimeoutMs ?? 0),
    ignoreUndefined: true,
    maxPoolSize: 2,
    appName: 'fastapi-platform-prune',
  });
  let closed = false;
  let sweeper: NodeJS.Timeout | null = null;
  const check = (): void => {
    if (closed) throw new StoreError('STORE_CLOSED', 'the store is closed');
  };
  try {
    await connect(client, options.url, timeout);
    const db = client.db(options.database ?? DEFAULT_DATABASE);
    const col = collections(db);
    const now = options.now ?? Date.now;
    const ctx: MongoContext = { db, col, long: collections(longClient.db(db.databaseName)), ring: options.keyring, now, check, logRetentionMs: options.logRetentionMs ?? DEFAULT_LOG_RETENTION_MS, ...(options.testHooks !== undefined ? { testHooks: options.testHooks } : {}) };
    // A data binding's database is never a store, whatever schema record its functions wrote (ADR 0184).
    if (await isBoundDatabase(db)) throw boundDatabase(db.databaseName);
    const found = await col.meta.findOne({ _id: 'schema' });
    // No schema record: a new database, or data this platform did not write there (another
    // application's, another platform's whose record is gone). The second is refused before the
    // schema, indexes and identity go in (ADR 0183); it skipped the key check below, and was written to.
    const unmarked = found === null ? await dataWithoutSchema(db) : [];
    if (unmarked.length > 0 && options.adoptDatabase !== true) throw foreignDatabase(db.databaseName, unmarked);
    if (options.checkBeforeWrite !== undefined && (found === null ? unmarked.length > 0 : found.version <= SCHEMA_VERSION)) {
      // Before schema 2, clear webhook secrets are the upgrade's to seal: only keyed values count.
      const usage = await mongoSecretKeys(ctx).usage();
      options.checkBeforeWrite(found !== null && found.version < 2 ? usage.map((u) => (u.keyId === null ? { ...u, fields: 0 } : u)) : usage);
    }
    const { ttl } = await ensureSchema(col, now(), options.keyring);
    if (found !== null && found.version < SCHEMA_VERSION) options.onUpgraded?.(found.version, SCHEMA_VERSION);
    if (found === null) await options.testHooks?.afterSchemaWrite?.(db.databaseName);
    // A data proxy that marked the database while this first start wrote its schema record (ADR
    // 0184): one of the two sees the other, and neither uses the database.
    if (found === null && await isBoundDatabase(db)) throw boundDatabase(db.databaseName);
    const identity = await platformIdentity(db, now());
    if (!ttl) {
      sweeper = setInterval(() => {
        sweepExpiredLogs(ctx).catch(() => {
          // Best effort: the next sweep (or RunStore.prune) tries again.
        });
      }, options.logSweepIntervalMs ?? 10 * 60 * 1000);
      sweeper.unref();
    }
    const blobs = mongoBlobStore(ctx);
    // Callers see STORE_UNAVAILABLE, never the driver's words, when MongoDB does not answer.
    const health = new StoreHealth();
    const guard = <P extends object>(port: P): P => unavailableAsStoreError(port, health);
    // The probe: one small read, through the guard, that reaches FerretDB's PostgreSQL too (a `ping` does not).
    const probe = guard({ read: () => col.meta.findOne({ _id: 'schema' }, { projection: { _id: 1 } }) });
    health.probe = probe.read;
    return {
      functions: guard(mongoFunctionStore(ctx)),
      versions: guard(mongoVersionStore(ctx, blobs)),
      deploys: guard(mongoDeployStore(ctx)),
      runs: guard(mongoRunStore(ctx, options.supersedeBudgetMs)),
      tokens: guard(mongoTokenStore(ctx)),
      keys: guard(mongoSecretKeys(ctx)),
      drafts: guard(mongoDraftStore(ctx)),
      testCases: guard(mongoTestCaseStore(ctx)),
      usageHistory: guard(mongoUsageHistory(ctx)),
      workspaces: guard(mongoWorkspaceStore(ctx, async (key) => (await liveFunction(ctx, key)) !== null)),
      audit: guard(mongoAuditStore(ctx)),
      blobGrants: guard(mongoBlobGrants(ctx)),
      acceptances: guard(mongoAcceptances(ctx)),
      blobs: guard(blobs),
      identity,
      health,
      async close() {
        if (closed) return;
        closed = true;
        if (sweeper !== null) clearInterval(sweeper);
        await Promise.all([client.close(), longClient.close()]);
      },
    };
  } catch (err) {
    await Promise.all([client.close().catch(() => {}), longClient.close().catch(() => {})]);
    throw err;
  }
}

/**
 * Connects, or fails with STORE_UNAVAILABLE naming the server (by address, never its password) and
 * why, in words an operator can act on; the driver's error stays as the cause.
 */
async function connect(client: MongoClient, url: string, timeoutMs: number): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0]!.trim() : String(err);
    const auth = err instanceof MongoServerError && (err.code === 18 || /auth/i.test(message));
    const why = auth
      ? `it refused the credentials in the URL (${message})`
      : /ECONNREFUSED/.test(message)
        ? 'connection refused (nothing listens there)'
        : /ENOENT/.test(message)
          ? `no socket at that path (${message}): is the server running? It makes its socket when it starts`
          : message;
    throw new StoreError('STORE_UNAVAILABLE', `MongoDB at ${mongoAddress(url)} could not be used (waited up to ${timeoutMs} ms): ${why}`, {}, err);
  }
}

/** The URL's hosts (or socket path) without credentials or options, for messages. */
/** The server part of a MongoDB URL, for operators (never its credentials). */
export function mongoAddress(url: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/)(?:[^@/]*@)?([^/?]*)/.exec(url);
  if (match === null) return 'mongodb (unparsable URL)';
  return `${match[1]}${decodeURIComponent(match[2]!)}`;
}
