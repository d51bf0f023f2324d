/**
 * The one place that chooses the adapters behind the control plane's ports (FP_STORE,
 * docs/platform.md): embedded — SQLite files in the state directory and memory — or production —
 * MongoDB and Redis, whose drivers are imported only here and only then, so the embedded default
 * never loads them. Everything past this module sees the ports.
 *
 *   const adapters = await openAdapters({ config, stateDir, keyring, origin, log });
 *   adapters.store; adapters.queue; …
 *   await adapters.close();   // every adapter, in the reverse order of opening
 */
import {
  acceptInOrder,
  Reacceptor,
  recordedAccept,
  recordingQueue,
  cancelInOrder,
  admitFirst,
  ASYNC_DB_FILE,
  LocalConfigBus,
  loadProductionStore,
  MemoryHotMetrics,
  MemoryLimiter,
  MemoryLogFeed,
  openRedisQueue,
  openSqliteAsync,
  openSqliteStore,
  openSqliteReplayGuard,
  openSqliteTickLock,
  RedisAsyncRuns,
  LIMITER_CLIENT_OPTIONS,
  RedisLimiter,
  RedisLogFeed,
  RedisRunTimeline,
  redisReplayGuard,
  redisTickLock,
  type AcceptRun,
  type CancelRun,
  type AdmissionLimiter,
  type AsyncRunIndex,
  type ConfigBus,
  type HotMetrics,
  type Keyring,
  type KeyUsage,
  type LogFeed,
  type Queue,
  type ReplayGuard,
  type RunTimeline,
  type Store,
  type TickLock,
} from '../controlplane/index.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { redisKeys, type ReadinessProblem } from '../protocol/index.js';
import type { PlatformConfig } from './config.js';
import { stateDiskProblem } from './state-disk.js';

/** Every port the platform needs, opened for one mode. */
export interface Adapters {
  readonly mode: PlatformConfig['store'];
  /** Functions, versions, deploys, runs, tokens (SQLite + blob files | MongoDB). */
  readonly store: Store;
  /** Live counters and latency windows (memory | Redis). */
  readonly metrics: HotMetrics;
  /** Config changes between processes (nobody to tell | Redis pub/sub). */
  readonly bus: ConfigBus;
  /** The async queue, run timeline and run index (one SQLite file | Redis). */
  readonly queue: Queue;
  readonly timeline: RunTimeline;
  readonly runs: AsyncRunIndex;
  /** Accepts a run into the three (one SQLite transaction | in an order that never shows an unqueued run). */
  readonly accept: AcceptRun;
  /** Cancels a waiting run (one SQLite transaction | hold, write, remove: a claim finishes one whose process stopped halfway). */
  readonly cancel: CancelRun;
  /** What keeps this process from being ready now, read on every /readyz (e.g. a Redis that does not persist the queue). */
  readiness(): ReadinessProblem[];
  /** Claims cron ticks once across processes (SQLite file | Redis SET NX). */
  readonly tickLock: TickLock;
  /** Remembers accepted webhook deliveries (memory | Redis). */
  readonly replayGuard: ReplayGuard;
  /** Rate limits and workspace calls per minute (this process | one Lua script in Redis, exact across processes). */
  readonly limiter: AdmissionLimiter;
  /** Live log lines of running calls (memory | Redis streams: a tail on any process sees every process's calls). */
  readonly logs: LogFeed;
  /** Closes every adapter in the reverse order of opening; a failing step is logged, the others still run. */
  close(): Promise<void>;
}

export interface AdapterSettings {
  config: PlatformConfig;
  /** The absolute state directory. */
  stateDir: string;
  /** Seals secrets and keys token digests (docs/secrets.md). */
  keyring: Keyring;
  /** This process's id on the config bus (its own changes are not echoed back). */
  origin: string;
  log: (line: string) => void;
  /** The checks that refuse a start on what the store holds, run before anything is written to it (ADR 0171). */
  checkBeforeWrite?: (usage: KeyUsage[]) => void;
  /** Tests only: the production store's fault points (MongoStoreOptions.testHooks). */
  storeTestHooks?: { afterTombstone?(name: string): Promise<void>; beforeUpdateWrite?(name: string): Promise<void>; beforePurgeSteps?(name: string): Promise<void> };
}

type Closable = { close(): Promise<void> | void };

/** What was opened so far, closed in reverse: on `close()`, or at once when a later adapter fails to open. */
class Opened {
  private readonly steps: (() => Promise<void> | void)[] = [];
  constructor(private readonly log: (line: string) => void) {}

  keep<T extends Closable>(adapter: T): T {
    this.steps.push(() => adapter.close());
    return adapter;
  }

  onClose(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  async close(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        this.log(`platform: closing an adapter failed: ${String(err)}`);
      }
    }
  }
}

type Ports = Omit<Adapters, 'mode' | 'close'>;

export async function openAdapters(settings: AdapterSettings): Promise<Adapters> {
  const opened = new Opened(settings.log);
  try {
    const ports = settings.config.store === 'production' ? await production(settings, opened) : await embedded(settings, opened);
    let closing: Promise<void> | null = null;
    return { mode: settings.config.store, ...ports, close: () => (closing ??= opened.close()) };
  } catch (err) {
    await opened.close();
    throw err;
  }
}

/** Embedded: `platform.db`, `async.db` (queue, timeline, run index), `cron-ticks.db` (tick locks, accepted webhook deliveries) in the state directory; the rest in memory. */
async function embedded({ config, stateDir, keyring, log, checkBeforeWrite }: AdapterSettings, opened: Opened): Promise<Ports> {
  warnAsyncDbMissing(stateDir, log);
  const onUpgraded = (from: number, to: number): void => log(
    `platform: upgraded ${join(stateDir, 'platform.db')} from schema ${from} to ${to}: an older build now refuses this state ` +
      'directory (STORE_SCHEMA_TOO_NEW); going back needs the backup taken before (docs/platform.md, "Upgrading")',
  );
  const store = opened.keep(await openSqliteStore({ stateDir, keyring, onUpgraded, ...(checkBeforeWrite !== undefined ? { checkBeforeWrite } : {}) }));
  const metrics = opened.keep(new MemoryHotMetrics());
  // The live usage is in this process's memory: taken over from the last one, handed to the next
  // (closed before the store and the metrics: steps close in reverse).
  const live = store.liveUsage;
  if (live !== undefined) {
    const since = MemoryHotMetrics.keptSince(Date.now());
    metrics.restore(await live.load(since.hours, since.minutes));
    opened.onClose(() => live.save(metrics.snapshot()));
  }
  const bus = opened.keep(new LocalConfigBus());
  const { queue, timeline, runs, accept, cancel } = opened.keep(await openSqliteAsync({ stateDir, leaseMs: config.dispatchLeaseMs, retentionMs: config.runRetentionMs, pruneIntervalMs: config.runPruneIntervalMs }));
  const tickLock = opened.keep(openSqliteTickLock({ stateDir }));
  const replayGuard = opened.keep(openSqliteReplayGuard({ stateDir }));
  const limiter = opened.keep(new MemoryLimiter());
  const logs = opened.keep(new MemoryLogFeed());
  // A full state directory disk refuses async calls and API writes: /readyz says so, degraded.
  const readiness = (): ReadinessProblem[] => [stateDiskProblem(stateDir)].filter((problem) => problem !== null);
  return { store, metrics, bus, queue, timeline, runs, accept, cancel, readiness, tickLock, replayGuard, limiter, logs };
}

/**
 * A platform.db without its async.db beside it is a state directory restored from a backup that
 * left async.db out (docs/stores.md used to name platform.db and blobs/ only; ops round 1): the
 * start then made an empty one, and every async run, cron tick and webhook delivery accepted before
 * (queued, running, or its result) was gone without a word. Said once, before async.db is created.
 * A directory from before async.db (its queue.db, or queue.db.migrated) is not one.
 */
function warnAsyncDbMissing(stateDir: string, log: (line: string) => void): void {
  const has = (file: string) => existsSync(join(stateDir, file));
  if (!has('platform.db') || has(ASYNC_DB_FILE) || has('queue.db') || has('queue.db.migrated')) return;
  log(
    `platform: WARNING: ${join(stateDir, ASYNC_DB_FILE)} is missing beside an existing platform.db: it is created empty, so ` +
      'async runs accepted before (queued, running, their status and results) are not here. A state directory restored ' +
      'from a backup needs async.db and cron-ticks.db too (docs/stores.md, "Backup and restore"); stop, put them back, start again',
  );
}

/**
 * How long an acceptance record is left alone before a pass may queue its run again: an accept
 * writes its record, then Redis, within milliseconds (ADR 0225).
 */
const REACCEPT_GRACE_MS = 5_000;

/**
 * Production: MongoDB for the store; Redis for everything live and shared by every process. The
 * schema of PlatformConfig refuses production without both URLs, hence the `!`s.
 */
async function production({ config, keyring, origin, log, storeTestHooks, checkBeforeWrite }: AdapterSettings, opened: Opened): Promise<Ports> {
  const { openMongoStore, mongoAddress, RedisHotMetrics, RedisConfigBus, connectRedis, connectRedisSubscriber, openRedis, RedisDurability, PrefixClaim } = await loadProductionStore();
  const redisUrl = config.redisUrl!;
  const prefix = config.redisPrefix;

  // Said as for platform.db: in a rolling upgrade, an old process that restarts now refuses the database (ops round 2).
  const onUpgraded = (from: number, to: number): void => log(
    `platform: upgraded the MongoDB database '${config.mongoDatabase}' at ${mongoAddress(config.mongoUrl!)} from schema ${from} to ${to}: ` +
      'a process of an older build refuses it from its next start (STORE_SCHEMA_TOO_NEW), so finish the rollout; going back needs ' +
      'the backup taken before (docs/platform.md, "Upgrading")',
  );
  const store = opened.keep(await naming('FP_MONGO_URL', openMongoStore({ url: config.mongoUrl!, database: config.mongoDatabase, adoptDatabase: config.mongoDatabaseAdopt, keyring, onUpgraded, ...(storeTestHooks !== undefined ? { testHooks: storeTestHooks } : {}), ...(checkBeforeWrite !== undefined ? { checkBeforeWrite } : {}) })));
  // Returns at once even when Redis is down: its calls fail fast until Redis answers (the run sink's recorders absorb that).
  const metrics = opened.keep(new RedisHotMetrics({ client: connectRedis(redisUrl), ownsClient: true, prefix }));
  const bus = opened.keep(new RedisConfigBus({ redisUrl, prefix, origin, log }));
  // The queue owns its connection, watched for persistence (at start and after every reconnect):
  // every way a run enters is an enqueue, refused while that Redis would lose it (ASYNC_QUEUE_NOT_DURABLE).
  const queueClient = await naming('FP_REDIS_URL', openRedis(redisUrl));
  let onDataLoss = (): void => undefined;
  const durability = new RedisDurability({ client: queueClient, url: redisUrl, allowVolatile: config.redisAllowVolatile, log, markKey: redisKeys(prefix).durabilityMark(), onDataLoss: () => onDataLoss() });
  opened.onClose(() => durability.close());
  // The prefix is this platform's (its database's id), or nothing under it is touched: another
  // platform's queue is there (REDIS_PREFIX_IN_USE, docs/adr/0130). Before the queue opens, so no
  // dispatcher of this process ever claims that platform's runs.
  const claim = new PrefixClaim({ client: queueClient, key: redisKeys(prefix).owner(), prefix, mine: { id: store.identity!, database: `'${config.mongoDatabase}' at ${mongoAddress(config.mongoUrl!)}` }, log });
  opened.onClose(() => claim.close());
  try {
    await durability.start();
    await claim.start();
  } catch (err) {
    claim.close();
    queueClient.disconnect();
    throw err;
  }
  const redisQueue = opened.keep(await openRedisQueue({ client: queueClient, ownsClient: true, prefix, leaseMs: config.dispatchLeaseMs, log, onGroupMissing: () => onDataLoss(), deadRetentionMs: config.runRetentionMs, pruneIntervalMs: config.runPruneIntervalMs }));
  opened.onClose(() => durability.close()); // again, so it stops watching before the queue disconnects
  const gated = admitFirst(redisQueue, async () => {
    claim.admit();
    await durability.admit();
  }, () => claim.owned());
  // Each accepted run has a record in MongoDB until it ends, so a Redis that lost its data loses no
  // run accepted (202) and not yet run: they are queued again, with their ids (ADR 0225).
  const records = store.acceptances!;
  const queue = recordingQueue(gated, records);
  // The run timeline and the run index share another connection.
  const shared = await openRedis(redisUrl);
  opened.onClose(() => shared.disconnect());
  const runStores = { client: shared, prefix, retentionMs: config.runRetentionMs };
  const timeline = new RedisRunTimeline(runStores);
  const runs = new RedisAsyncRuns(runStores);
  const reacceptor = new Reacceptor({ records, queue: gated, timeline, runs, graceMs: REACCEPT_GRACE_MS, claimedForgetMs: 2 * config.dispatchLeaseMs + REACCEPT_GRACE_MS, log });
  onDataLoss = () => reacceptor.lost();
  reacceptor.start();
  opened.onClose(() => reacceptor.close());
  const readiness = (): ReadinessProblem[] => {
    return [durability.problem(), claim.problem(), store.health?.problem() ?? null].filter((problem) => problem !== null);
  };
  // Each owns its connection.
  const tickLock = opened.keep(redisTickLock({ client: await openRedis(redisUrl), ownsClient: true, prefix }));
  const replayGuard = opened.keep(redisReplayGuard({ client: await openRedis(redisUrl), ownsClient: true, prefix }));
  // Its own connection, never behind the queue's traffic (LIMITER_CLIENT_OPTIONS: auto-pipelined).
  const limiter = opened.keep(new RedisLimiter({ client: await openRedis(redisUrl, undefined, { ...LIMITER_CLIENT_OPTIONS }), ownsClient: true, prefix, log }));
  // Live logs own three connections: commands, the blocking XREAD (its timeout past the block), tail announcements.
  const logs = opened.keep(new RedisLogFeed({
    client: connectRedis(redisUrl),
    reader: connectRedis(redisUrl, { commandTimeout: 15_000 }),
    subscriber: connectRedisSubscriber(redisUrl),
    prefix,
    log,
  }));
  return { store, metrics, bus, queue, timeline, runs, accept: recordedAccept(records, acceptInOrder(queue, timeline, runs), { onUnrecorded: unrecorded(log) }), cancel: cancelInOrder(queue, timeline), readiness, tickLock, replayGuard, limiter, logs };
}

/**
 * Says, at most once a minute, that async runs were accepted without their acceptance record (the
 * store down or slow): Redis alone holds them, and a loss of its data would lose them (ADR 0225).
 */
function unrecorded(log: (line: string) => void): (err: unknown) => void {
  let saidAt = -Infinity;
  let since = 0;
  return (err) => {
    since += 1;
    if (performance.now() - saidAt < 60_000) return;
    saidAt = performance.now();
    log(`platform: WARNING: ${since} async run(s) accepted without their acceptance record in MongoDB (${err instanceof Error ? err.message : String(err)}): Redis alone holds them, and would lose them with its data (ADR 0225)`);
    since = 0;
  };
}

/** A server that cannot be used at start: its error, with the setting to check appended (the code kept). */
async function naming<T>(setting: string, opening: Promise<T>): Promise<T> {
  try {
    return await opening;
  } catch (err) {
    if (err instanceof Error) err.message = `${err.message} (check ${setting})`;
    throw err;
  }
}
