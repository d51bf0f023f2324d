/**
 * The control plane assembled: its API, the registry and run sink the gateway uses, retention,
 * and the bundle workers. The caller (platform/start.ts) opens the store, owns the pool and the
 * gateway, and passes them in as ports; the control plane never starts a server of its own.
 */
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { AsyncIntake, FunctionRegistry, MetricsPlatformSeries, MetricsView, MountedApi, Pairs, PlatformError, RunSink, Webhooks } from '../protocol/index.js';
import { DEFAULT_LIMIT_CEILINGS, functionLabelsOf, labelOnlyExisting } from '../protocol/index.js';
import { createApi, metricsView } from './api/index.js';
import { AsyncMetrics, AsyncRuns, InvokerRunner, type AcceptRun, type AsyncRunIndex, type CancelRun } from './async/index.js';
import { Dispatcher, type RunTimeline } from './async/index.js';
import type { Queue } from './async/index.js';
import { BundlePool, bundleLimits, type BundleLimits } from './bundles/index.js';
import type { LogFeed } from './logs/index.js';
import { StoreRegistry } from './registry/store-registry.js';
import type { DataBindings } from './data/index.js';
import { dispatcherFaults, errorWords, FaultLog, sinkOutages, sinkRefusals } from './fault-log.js';
import { RunRetention } from './runs/retention.js';
import { WarmReporter } from './runs/warm-reporter.js';
import { CodeChecker, type CodeCheckSettings } from './service/code-check.js';
import { CodeDirs } from './service/code-dirs.js';
import { DependencyBuilds, type DepsOptions } from './deps/index.js';
import { depsCollector as newDepsCollector } from './service/deps-collect.js';
import { codeCollector } from './service/code-collect.js';
import { contentCollector, DEFAULT_KEEP_VERSIONS } from './service/version-retention.js';
import { auditKeep, DEFAULT_API_WRITE_RATE, DEFAULT_AUDIT_MAX_ENTRIES } from './service/write-bounds.js';
import { keepAllWarm } from './service/warm.js';
import { finishPendingDeletes, PENDING_DELETES_SWEEP_MS } from './service/functions.js';
import type { Invoker, PoolDrain, ServiceContext } from './service/context.js';
import { KeyedLock } from './service/locks.js';
import { StagedUploads } from './service/staged-uploads.js';
import { FileReads } from './service/file-reads.js';
import { bootstrapAdminToken, loadFunctions } from './service/startup.js';
import { TokenIndex } from './service/tokens.js';
import type { Keyring } from './secrets/index.js';
import { NO_QUOTAS, PLATFORM_SINK_TUNING, RecordingRunSink, RunJournal, RunSinkMetrics, type ConfigBus, type HotMetrics, type RunSampling, type SinkStats, type Store, type WorkspaceQuotas } from './store/index.js';
import { MemoryLimiter, type AdmissionLimiter } from './limits/index.js';
import { WorkspaceRegistry } from './tenancy/workspace-registry.js';
import { LogBudget } from './runs/log-budget.js';
import { storeCatchUp } from './service/catch-up.js';
import { CONFIG_SWEEP_MS, syncListener } from './service/sync.js';
import { CronTriggers } from './async/index.js';
import type { ReplayGuard, TickLock } from './async/index.js';
import { HookRefusals, storeWebhooks } from './async/index.js';

export interface ControlPlaneOptions {
  /** Opened by the caller; closed by the caller after `close()`. */
  store: Store;
  /** The keyring the store was opened with (token digests are checked with it). */
  keyring: Keyring;
  /** Live counters and state (memory embedded, Redis in production); opened and closed by the caller. */
  metrics: HotMetrics;
  /** Changes made here go out on it; changes from other processes come in (opened and closed by the caller). */
  bus: ConfigBus;
  /** Live logs (memory embedded, Redis in production; opened and closed by the caller); none: the live-logs endpoint answers LOGS_UNAVAILABLE. */
  logs?: LogFeed;
  /** This process's id among the reporters of warm instances (stable for the process's life). */
  reporterId: string;
  /** How often warm instance counts are reported to `metrics` (default 10 s; each report lives 3×). */
  warmReportIntervalMs?: number;
  /** How long run samples wait to be written to the usage rollups together (default 5 s). */
  usageHistoryLingerMs?: number;
  /** Deployed code goes to `<stateDir>/code/<name>/<version>/`. */
  stateDir: string;
  /** How dependency builds run (docs/dependencies.md); absent: none (requirements.txt is a plain file). */
  deps?: DepsOptions;
  pool: PoolDrain;
  /** The gateway's in-process invoke; may be bound after this returns (the gateway needs `api` first). */
  invoker: Invoker;
  /** The base URL of the gateway for invoke URLs; called per answer, so it may be known late. */
  publicUrl: () => string;
  /** FP_BASE_DOMAIN (null: no host routing): answers give each function's `hostUrl` on it. */
  baseDomain?: string | null;
  /** The gateway's sync body limit (shown on contract cards, and the test invoke's limit). */
  syncPayloadBytes: number;
  asyncPayloadBytes: number;
  runRetentionMs: number;
  runPruneIntervalMs: number;
  /** How often code directories of versions no longer active are looked for (also a minute after start, or this if sooner, and after a switch); contents no version uses too. */
  codeCollectIntervalMs?: number;
  /** Versions of a function kept on deploy (FP_KEEP_VERSIONS, default 20; 0: all): docs/adr/0098-deleting-versions.md. */
  keepVersions?: number;
  /** Which runs keep a full record (controlplane/store/run-sampling.ts); default: every run. */
  runSampling?: RunSampling;
  /** The run store's size cap in bytes (RunRetention); default: none. */
  runStoreMaxBytes?: number;
  /**
   * The run journal's cap in bytes (FP_RUN_JOURNAL_MAX_BYTES): run records the sink holds are also
   * in `<stateDir>/run-journal/`, replayed at start (ADR 0220). 0: no journal; default: none either
   * (the platform's default is 64 MiB, platform/config.ts).
   */
  runJournalMaxBytes?: number;
  /**
   * The most of an async run's answer kept as its result (FP_ASYNC_RESULT_MAX_BYTES; default
   * MAX_STORED_RESULT_BYTES, 256 KiB): a larger body is not kept, its size in `x-fp-result-omitted` (ADR 0236).
   */
  asyncResultMaxBytes?: number;
  /**
   * What a workspace's kept async results may hold together (FP_ASYNC_RESULT_BYTES_PER_WORKSPACE;
   * default DEFAULT_RESULT_BYTES_PER_WORKSPACE, 64 MiB): past it the oldest are dropped (ADR 0250).
   */
  asyncResultBytesPerWorkspace?: number;
  /** How often that cap is checked, in ms (FP_RUN_STORE_CHECK_MS; default 10 000). */
  runStoreCheckMs?: number;
  /** How often a process sharing the store compares what it holds with it, in ms (default CONFIG_SWEEP_MS, 30 s; ADR 0273). No option sets it: tests. */
  configSweepMs?: number;
  /** The highest limits.maxInstances a function may ask for (default 50). */
  maxFunctionInstances?: number;
  /** The highest limits.memory a function may ask for, in bytes (default 4 GiB). */
  maxFunctionMemoryBytes?: number;
  /** The longest limits.timeout a function may ask for, in ms (default 1 h). */
  maxFunctionTimeoutMs?: number;
  /** Rate limits and calls per minute (docs/adr/0011-tenants.md); default: in this process (the embedded limiter). Closed by the caller. */
  limiter?: AdmissionLimiter;
  /** Quotas of a new workspace (FP_WORKSPACE_QUOTA_*; default none). */
  defaultQuotas?: Partial<WorkspaceQuotas>;
  /** How long audit entries are kept (FP_AUDIT_RETENTION, default 90 days). */
  /** How long repeated faults of one kind are counted before their next log line (default 60 s; controlplane/fault-log.ts). */
  faultLogIntervalMs?: number;
  auditRetentionMs?: number;
  /** The audit entries a workspace keeps at most (FP_AUDIT_MAX_ENTRIES, default 100 000; 0: no bound): docs/adr/0103-api-writes-bounded.md. */
  auditMaxEntries?: number;
  /** Changes a minute through the API per workspace, workspace tokens only (FP_API_WRITE_RATE, default 600; 0: no limit). */
  apiWriteRate?: number;
  bundleLimits?: Partial<BundleLimits>;
  /** Bundle worker threads (default min(4, cores - 1)). */
  bundleThreads?: number;
  /** How long one bundle check may run in a worker thread before the upload fails with BUNDLE_CHECK_TIMEOUT (default 30 s). */
  bundleCheckTimeoutMs?: number;
  /** Revoke every admin token and issue a new one (the old one was lost). */
  rotateAdminToken?: boolean;
  log?: (line: string) => void;
  /** The Mongo data bindings (docs/data-binding.md), opened and closed by the caller; absent: none. */
  data?: DataBindings;
  /** Without `data`: why the platform has none (FP_DATA=off, no FerretDB found, …), for DATA_BACKEND_NOT_CONFIGURED. */
  dataOffReason?: string;
  /** Where the control plane's Prometheus families go (default: a new Registry); `metricsRegistry` of the result. */
  metricsRegistry?: Registry;
  /** Who sees the platform's own series at `/metrics` (FP_METRICS_PLATFORM_SERIES; default `anyone`; api/metrics-access.ts). */
  metricsPlatformSeries?: MetricsPlatformSeries;
  /**
   * The runtime's Python and runtime/validate.py, for `POST /api/v1/validate` (docs/api.md,
   * "Validation"); none: that route answers VALIDATION_UNAVAILABLE.
   */
  codeCheck?: CodeCheckSettings;
  /** Async runs: opened by the caller (and closed by it after `close()`); none: no async intake. */
  async?: {
    queue: Queue;
    timeline: RunTimeline;
    runs: AsyncRunIndex;
    /** How a new run is written; default: index, job, timeline in that order (the embedded adapters give one transaction: platform/adapters.ts). */
    accept?: AcceptRun;
    /** How a waiting run is cancelled; default: hold, write, remove (the embedded adapters give one transaction). */
    cancel?: CancelRun;
    /** Attempts at once (default 4). */
    concurrency?: number;
    /** Must equal the queue's lease (default 30 s). */
    leaseMs?: number;
    /** How long stopping lets running attempts finish (default 10 s). */
    graceMs?: number;
    /** Cron triggers fire when given: the lock that makes each tick fire once across processes (opened and closed by the caller). */
    tickLock?: TickLock;
    /** Webhook triggers are served when given: remembers Stripe-style deliveries (opened and closed by the caller). */
    replayGuard?: ReplayGuard;
  };
}

export interface ControlPlane {
  /** Mount under /api/ of the gateway (GatewayOptions.api). */
  readonly api: MountedApi;
  /** The gateway's registry (GatewayOptions.registry). */
  readonly registry: FunctionRegistry;
  /** The gateway's run sink (GatewayOptions.runSink). */
  readonly runSink: RunSink;
  /**
   * The platform's one Prometheus registry, holding the control plane's families (run sink, async
   * wing); the gateway adds its own and serves it at /metrics (GatewayOptions.metricsRegistry).
   */
  readonly metricsRegistry: Registry;
  /**
   * What a `/metrics` scrape with these headers may see, by its token (GatewayOptions.metricsView;
   * docs/adr/0036-metrics-scope.md), or the API's error for a token that is no good.
   */
  metricsView(headers: Pairs): MetricsView | PlatformError;
  /**
   * The clear admin token when this start issued one (first start, or rotateAdminToken), handed
   * over once: the first call returns it and drops the control plane's reference; later calls
   * (and every call when none was issued) return null.
   */
  takeAdminToken(): string | null;
  /** How many functions the start loaded from the store. */
  readonly functionsLoaded: number;
  /** Where the gateway's `/async/<name>` queues calls; null without `async`. */
  readonly asyncIntake: AsyncIntake | null;
  /** Where the gateway's `/hooks/<name>/<id>` finds triggers (GatewayOptions.hooks); null without `async.replayGuard`. */
  readonly webhooks: Webhooks | null;
  /** Starts the dispatcher and the cron scheduler (call once the invoker is bound); no-op without `async`. */
  startDispatcher(): void;
  /** Stops the cron scheduler, then the dispatcher: no new claims, running attempts get the grace. Call before the gateway closes. */
  stopDispatcher(): Promise<void>;
  /** Stops retention, writes buffered runs, stops the bundle workers (checks still running fail: nobody is left to answer). Call after the gateway closed. */
  close(): Promise<void>;
}

export async function createControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { store } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tokens = await TokenIndex.load(store.tokens, options.keyring, { log, rekeyed: () => options.bus.publish({ kind: 'tokens' }) });
  const deps = new DependencyBuilds(options.deps ?? null, store.blobs, log);
  await deps.init();
  const code = new CodeDirs(join(options.stateDir, 'code'), store.blobs, (dir) => options.pool.prepare(dir), deps, (dir, entrypoint, bound) => options.pool.expect?.(dir, entrypoint, bound));
  // The workspaces before the functions: admission and the pool's caps read them from the first call.
  const workspaces = new WorkspaceRegistry(options.pool);
  workspaces.replaceAll(await store.workspaces.list());
  const limiter = options.limiter ?? new MemoryLimiter();
  const registry = new StoreRegistry(tokens, (name, version) => code.dirOf(name, version), (name, version) => deps.siteOf(name, version), { limiter, workspaces }, options.data ?? null);
  const functionsLoaded = await loadFunctions(store, registry, code, log);
  // Builds a kill interrupted start again now, not at their version's next read (ADR 0239).
  await deps.resumePending((fn, version) => store.versions.get(fn, version)).catch((err: unknown) => log(`deps: could not start the interrupted builds again: ${String(err)}`));
  // Active versions with a minWarm get their instances now, not at their first call.
  keepAllWarm({ registry, pool: options.pool });

  const limits = bundleLimits(options.bundleLimits);
  const bundles = new BundlePool({
    limits,
    log,
    ...(options.bundleThreads !== undefined ? { maxThreads: options.bundleThreads } : {}),
    ...(options.bundleCheckTimeoutMs !== undefined ? { taskTimeoutMs: options.bundleCheckTimeoutMs } : {}),
  });
  const metricsRegistry = options.metricsRegistry ?? new Registry();
  // A deleted function's late series (its dead letters, its draining instances) go to `_other`:
  // asked for again, its label was held for ever (red team round 26).
  labelOnlyExisting(metricsRegistry, (key) => registry.recordOf(key) !== null);
  const sinkMetrics = new RunSinkMetrics(metricsRegistry, (): SinkStats => runs.stats(), (): number => runs.summarized, (): number => runs.unjournaled);
  // One sink for every mode: runs to the RunStore, samples to HotMetrics, each buffered on its
  // own (a dead Redis or MongoDB never blocks a call; drops go to fp_runs_dropped_total).
  // Runs of a workspace past its logBytes quota are written without their lines (docs/adr/0011-tenants.md).
  const logBudget = new LogBudget(store.workspaces, workspaces, log);
  const sinkLog = sinkOutages(log);
  // Faults met once per run, tick, scrape or check: one line per kind a minute, with a count (fault-log.ts).
  const faults = new FaultLog(log, options.faultLogIntervalMs !== undefined ? { intervalMs: options.faultLogIntervalMs } : {});
  const refusedLog = sinkRefusals(faults);
  const journalFull = (err: unknown): void => log(`[RUN_JOURNAL_FULL] runs: run records are held in memory only until the run store takes them (a crash now loses them): ${errorWords(err)} (FP_RUN_JOURNAL_MAX_BYTES=${options.runJournalMaxBytes})`);
  const journal = openRunJournal(options.stateDir, options.runJournalMaxBytes, journalFull);
  const runs = new RecordingRunSink({
    ...(journal !== null ? { journal } : {}),
    onWrite: (target, count, seconds, ok) => {
      sinkMetrics.onWrite(target, count, seconds, ok);
      sinkLog.onWrite(target, ok);
    },
    runs: logBudget.wrap(store.runs),
    // A deleted function's records still buffered are not written (red team 5).
    exists: (key, startedAt) => (registry.recordOf(key)?.createdAt ?? Infinity) <= startedAt,
    // ... and those written carry its incarnation, which a late cleanup of an earlier one leaves (ADR 0190).
    incarnation: (key) => registry.recordOf(key)?.createdAt,
    metrics: options.metrics,
    ...(options.runSampling !== undefined ? { sampling: options.runSampling } : {}),
    ...(store.usageHistory !== undefined ? { history: store.usageHistory } : {}),
    // Runs once a second, live metrics every 100 ms, rollups every 5 s (why: PLATFORM_SINK_TUNING).
    tuning: PLATFORM_SINK_TUNING.tuning,
    metricsTuning: PLATFORM_SINK_TUNING.metricsTuning,
    historyTuning: { ...PLATFORM_SINK_TUNING.historyTuning, ...(options.usageHistoryLingerMs !== undefined ? { lingerMs: options.usageHistoryLingerMs } : {}) },
    // The first failure of an outage is told, and the first write after it; the retries between are not (the records wait, counted).
    onError: sinkLog.onError,
    // A record a store refused (not an outage) is split out, written reduced or dropped, and told (ADR 0173).
    onRefuse: (target, err, count, action) => {
      sinkMetrics.onRefuse(target, count, action);
      refusedLog(target, err, count, action);
    },
  });
  // What a process that stopped without writing them held (a crash; a stop while the store was down).
  let restored = 0;
  try {
    restored = runs.restore();
  } catch (err) {
    journalFull(err); // an unreadable journal: the platform starts without what it held
  }
  if (restored > 0) log(`runs: ${restored} run record(s) the last process held unwritten are written now (run journal)`);
  const warm = new WarmReporter(options.pool, options.metrics, options.reporterId, options.warmReportIntervalMs ?? 10_000, log, (events) => runs.recordEvents(events));
  warm.start();
  const auditRetentionMs = options.auditRetentionMs ?? 90 * 24 * 3_600_000;
  const retention = new RunRetention(store.runs, {
    retentionMs: options.runRetentionMs, intervalMs: options.runPruneIntervalMs, log, faults,
    ...(store.usageHistory !== undefined ? { history: store.usageHistory } : {}),
    ...(options.runStoreMaxBytes !== undefined ? { maxBytes: options.runStoreMaxBytes } : {}),
    ...(options.runStoreCheckMs !== undefined ? { sizeCheckMs: options.runStoreCheckMs } : {}),
    audit: { store: store.audit, retentionMs: auditRetentionMs },
  });
  retention.start();

  const asyncRuns = options.async ? new AsyncRuns(options.async.queue, options.async.timeline, options.async.runs, options.async.accept, undefined, options.async.cancel) : null;
  if (asyncRuns !== null) asyncRuns.bornOf = (fn) => registry.recordOf(fn)?.createdAt;
  const asyncMetrics = options.async
    ? new AsyncMetrics({ registry: metricsRegistry, queue: options.async.queue, onError: (err) => faults.report(`metrics: could not read the async queue: ${errorWords(err)}`, `metrics: could not read the async queue: ${errorWords(err)}`) })
    : null;
  const hookRefusals = options.async ? new HookRefusals() : null;
  const dispatcher = options.async
    ? new Dispatcher({
        queue: options.async.queue,
        timeline: options.async.timeline,
        runner: new InvokerRunner(options.invoker, options.async.runs, options.asyncResultMaxBytes, options.asyncResultBytesPerWorkspace),
        ...(options.async.concurrency !== undefined ? { concurrency: options.async.concurrency } : {}),
        ...(options.async.leaseMs !== undefined ? { leaseMs: options.async.leaseMs } : {}),
        ...(options.async.graceMs !== undefined ? { graceMs: options.async.graceMs } : {}),
        // Each function's `retry` settings (the defaults for a function without them, or one deleted
        // since), as this process holds them: the registry the attempt itself is served from, kept
        // current by the config bus. Not a store read per claim: a MongoDB outage would then lease
        // every queued job only to drop it for a full lease, logging each, while sync calls run on.
        policies: {
          policyFor: (fn) => registry.recordOf(fn)?.retry ?? {},
          createdAt: (fn) => registry.recordOf(fn)?.createdAt,
          capacity: (fn) => {
            const limits = registry.recordOf(fn)?.limits;
            return limits === undefined ? undefined : limits.maxInstances * limits.concurrency;
          },
          paused: () => registry.paused(),
        },
        onError: dispatcherFaults(log, faults),
        ...(asyncMetrics !== null ? { metrics: asyncMetrics } : {}),
        log: (line) => log(`dispatcher: ${line}`),
      })
    : null;
  if (asyncRuns !== null && dispatcher !== null) asyncRuns.onAccepted = () => dispatcher.wake();
  let dispatcherStopped: Promise<void> | null = null;
  const cron = asyncRuns && options.async?.tickLock
    ? new CronTriggers(store, options.async.tickLock, async (fn, triggerId, tickMs, body, key, at) => {
        // Paused since the schedule was last read (here, or in another process before the bus
        // told this one): no run that would only fail with FUNCTION_PAUSED.
        const now = registry.resolve(fn);
        if (now.found && now.paused) return 'paused';
        // A tick is a call: the function's rate limit and its workspace's invocationsPerMinute take
        // it (as /async does), else it is skipped. Without this, triggers firing every second ran
        // past any quota (red team, December 2026; docs/adr/0034-every-call-counts.md).
        if (now.found && (await (now.limit?.admit() ?? null)) !== null) return 'limited';
        await asyncRuns.submitTick(fn, triggerId, tickMs, body, key, at);
        return 'fired';
      }, log, asyncMetrics ?? undefined, faults)
    : null;
  const stopAll = async (): Promise<void> => {
    await cron?.stop();
    if (dispatcher) await dispatcher.stop();
  };

  // Unused dependency sites go (docs/dependencies.md, "Removal and quota"); a platform that builds none has none.
  const depsCollector = newDepsCollector({ store, deps, log }, options.deps?.keepMs ?? 0);
  if (options.deps !== undefined) depsCollector.start();
  const locks = new KeyedLock();
  // Directories of versions no longer active go once nothing runs from them (code-collect.ts).
  const versionDirs = codeCollector({ code, registry, pool: options.pool, locks, log }, options.codeCollectIntervalMs);
  versionDirs.start();
  const staged = new StagedUploads();
  // Contents no version uses go once untouched for an hour (docs/adr/0099-collecting-contents.md).
  const contents = contentCollector({ store, staged, log }, options.codeCollectIntervalMs ?? 600_000);
  contents.start();
  const ctx: ServiceContext = {
    data: options.data ?? null,
    ...(options.dataOffReason !== undefined ? { dataOffReason: options.dataOffReason } : {}),
    store,
    registry,
    tokens,
    workspaces,
    limiter,
    pool: options.pool,
    code,
    deps,
    depsCollector,
    codeCollector: versionDirs,
    blobCollector: contents,
    bundles,
    locks,
    staged,
    fileReads: new FileReads(),
    codeCheck: options.codeCheck !== undefined ? new CodeChecker(options.codeCheck, log) : null,
    runs,
    metrics: options.metrics,
    // Late: the gateway registers its families (and the registry's label cap) after this is made.
    forgetSeries: (name) => functionLabelsOf(metricsRegistry).forget(name),
    warm,
    bus: options.bus,
    logs: options.logs ?? null,
    invoker: options.invoker,
    async: asyncRuns,
    ...(asyncMetrics !== null ? { asyncMetrics } : {}),
    ...(hookRefusals !== null ? { hookRefusals } : {}),
    settings: {
      bundleLimits: limits,
      syncPayloadBytes: options.syncPayloadBytes,
      asyncPayloadBytes: options.asyncPayloadBytes,
      runRetentionMs: options.runRetentionMs,
      maxFunctionInstances: options.maxFunctionInstances ?? DEFAULT_LIMIT_CEILINGS.maxFunctionInstances,
      maxFunctionMemoryBytes: options.maxFunctionMemoryBytes ?? DEFAULT_LIMIT_CEILINGS.maxFunctionMemoryBytes,
      maxFunctionTimeoutMs: options.maxFunctionTimeoutMs ?? DEFAULT_LIMIT_CEILINGS.maxFunctionTimeoutMs,
      defaultQuotas: { ...NO_QUOTAS, ...options.defaultQuotas },
      auditRetentionMs,
      auditMaxEntries: options.auditMaxEntries ?? DEFAULT_AUDIT_MAX_ENTRIES,
      apiWriteRate: options.apiWriteRate ?? DEFAULT_API_WRITE_RATE,
      publicUrl: options.publicUrl,
      baseDomain: options.baseDomain ?? null,
      keepVersions: options.keepVersions ?? DEFAULT_KEEP_VERSIONS,
    },
    log,
    ...(cron !== null ? { cron } : {}),
  };

  await cron?.refreshAll();
  // Other processes share the store: a call for a function not served here reads it once first (ADR 0117).
  if (options.bus.local !== true) registry.catchUp = storeCatchUp(ctx);
  const listener = syncListener(ctx);
  await options.bus.start(listener);
  // A change whose process died before it published it reaches this one all the same (ADR 0273).
  const configSweeper = options.bus.local === true ? null : setInterval(() => listener.sweep(), options.configSweepMs ?? CONFIG_SWEEP_MS);
  configSweeper?.unref();
  // Deletes whose store cleanup failed after the function was gone are finished: now, and every few minutes (ADR 0156).
  const sweepDeletes = (): void => {
    finishPendingDeletes(ctx).then(
      (n) => { if (n > 0) log(`controlplane: finished the cleanup of ${n} deleted function${n === 1 ? '' : 's'}`); },
      (err: unknown) => log(`controlplane: could not finish the pending deletes (the next sweep tries again): ${String(err)}`),
    );
  };
  sweepDeletes();
  const deletesSweeper = setInterval(sweepDeletes, PENDING_DELETES_SWEEP_MS);
  deletesSweeper.unref();
  // Last: a start that fails before this issues none, and one issued here but never handed over
  // (the gateway could not listen) is revoked at close, so the next start issues another. It was
  // kept, shown to nobody, and the state directory was locked out for good.
  let adminToken = await bootstrapAdminToken(store, tokens, options.rotateAdminToken ?? false, { ...auditKeep(ctx), log: ctx.log });
  // Every other process re-reads the tokens: a rotation revoked the earlier admin tokens, which they
  // kept accepting (and refused the new one) until their own restart (ops round 1).
  if (adminToken !== null) options.bus.publish({ kind: 'tokens' });

  let closing: Promise<void> | null = null;
  return {
    api: createApi(ctx),
    registry,
    runSink: { record: (run, incarnation) => runs.record(run, incarnation), dropped: () => runs.droppedByReason() },
    metricsRegistry,
    metricsView: (headers) => metricsView(tokens, workspaces, headers, Date.now(), (key) => registry.resolve(key).found, options.metricsPlatformSeries),
    takeAdminToken() {
      const once = adminToken?.secret ?? null;
      adminToken = null;
      return once;
    },
    functionsLoaded,
    asyncIntake: asyncRuns,
    webhooks: asyncRuns && options.async?.replayGuard ? storeWebhooks(store, asyncRuns, options.async.replayGuard, asyncMetrics ?? undefined, hookRefusals ?? undefined) : null,
    startDispatcher() {
      dispatcher?.start();
      cron?.start();
    },
    stopDispatcher() {
      dispatcherStopped ??= stopAll();
      return dispatcherStopped;
    },
    close() {
      closing ??= (async () => {
        if (adminToken !== null) {
          await store.tokens.revoke(adminToken.id);
          tokens.remove(adminToken.id);
          adminToken = null;
          options.bus.publish({ kind: 'tokens' });
        }
        clearInterval(deletesSweeper);
        if (configSweeper !== null) clearInterval(configSweeper);
        await (dispatcherStopped ??= stopAll());
        faults.close();
        await retention.stop();
        await warm.stop();
        // Records still unwritten after the drain are lost: say how many, and why (reliability round, 2026-12-05).
        const left = await runs.close();
        for (const [what, stats] of [['run records', left.runs], ['run metrics', left.metrics], ['usage rollups', left.history]] as const) {
          const lost = stats?.droppedByReason.shutdown ?? 0;
          if (lost > 0) log(`controlplane: stopping with ${lost} ${what} not written (dropped): ${stats?.lastError !== null && stats?.lastError !== undefined ? `last write failed: ${stats.lastError}` : 'the store did not take them within the drain time'}`);
        }
        await bundles.close();
        ctx.codeCheck?.close();
        await depsCollector.stop();
        await versionDirs.stop();
        await contents.stop();
        await deps.close();
      })();
      return closing;
    },
  };
}

/** The run journal in `<stateDir>/run-journal/` (ADR 0220); null when off (`maxBytes` 0 or absent) or its folder cannot be made (told). */
function openRunJournal(stateDir: string, maxBytes: number | undefined, onFull: (err: unknown) => void): RunJournal | null {
  if (maxBytes === undefined || maxBytes <= 0) return null;
  try {
    return new RunJournal(join(stateDir, 'run-journal'), { maxBytes, onFull });
  } catch (err) {
    onFull(err);
    return null;
  }
}
