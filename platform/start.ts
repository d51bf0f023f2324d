/**
 * The composition root: opens the adapters of the configured mode (platform/adapters.ts, the one
 * place that chooses embedded or production), starts the pool, assembles the control plane and
 * mounts its API in the gateway — one process, one port. `platform/main.ts` calls it for the
 * `node dist/platform/main.js` process (directory mode is platform/directory.ts); the CLI's `up`
 * loads it through the platform's door (platform/index.ts).
 *
 *   const platform = await startPlatform({ stateDir: '.state', port: 8080 });
 *   platform.url;              // http://127.0.0.1:8080  (invoke: /fn/<name>/, API: /api/v1/)
 *   platform.takeAdminToken(); // only on the first start of a state directory, and only once: show it
 *   await platform.close();
 *
 * Wiring decisions: docs/adr/0004-controlplane-in-gateway.md.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { checkKeys, createControlPlane, reencryptSecrets, refuseUnopenable, type ControlPlane, type DataBindings, type KeyReport, type KeyUsage } from '../controlplane/index.js';
import { dataOffReason, embeddedDataFiles, missingDataWarning, startData } from './data.js';
import { fileURLToPath } from 'node:url';
import { depsOptions } from './deps.js';
import { checkSocketPaths } from './socket-paths.js';
import { lockStateDir, stateDirWarnings } from './state-lock.js';
import { createGateway, loadStaticSite, uwsIsNative, UwsFallbackError, type Gateway } from '../gateway/index.js';
import type { Isolation } from '../poolmgr/index.js';
import { PlatformError, type LogLine, type LogTap, type RunRecord, type RunSink } from '../protocol/index.js';
import { openAdapters } from './adapters.js';
import { exposureWarnings } from './exposure.js';
import { ConfigError, gatewaySettings, parseOptions, type PlatformConfig, type PlatformOptions } from './config.js';
import { codeCheckSettings, reachable, startPool } from './pool.js';
import { idsNoOneHolds, watchHostIds } from './host-ids.js';
import { consoleUrlOf } from './console-url.js';
import { explainUnknownKey, openKeyring } from './secrets.js';
import { stderrLog } from './log-format.js';
import { survivingLogStreams } from './log-streams.js';

/** Where scripts/build-console.ts writes the console: `dist/console`, beside `dist/platform`. */
const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));

export interface StartOptions extends PlatformOptions {
  /** Operator messages (store or worker failures); default stderr. */
  log?: (line: string) => void;
  /** Revoke every admin token and issue a new one (handed over by `takeAdminToken`). */
  rotateAdminToken?: boolean;
  /**
   * Rotate the secrets key before serving: add a fresh current key to the key file (with
   * FP_SECRETS_KEY: use its first key), re-seal every stored secret with it, report in `secrets.keys`.
   */
  rotateSecretsKey?: boolean;
  /**
   * Where runtime processes take PATH and LANG from (nothing else of it reaches user code).
   * Default: a minimal PATH. platform/main.ts passes its own environment.
   */
  runtimeEnv?: Record<string, string | undefined>;
  /** Sees the calls from inside the process (the CLI's `dev` prints them); see RunObserver. */
  observer?: RunObserver;
  /**
   * Where dependency sites are built and kept (docs/dependencies.md); default `<stateDir>/deps`.
   * The CLI's `dev` keeps one per folder across its starts. One platform at a time may use it.
   */
  depsRoot?: string;
  /**
   * Answer only requests whose Host names this machine (421 HOST_NOT_LOCAL otherwise): the CLI's
   * `dev` and `up` set it when they listen on loopback, against DNS rebinding (docs/adr/0122-what-the-cli-trusts.md).
   */
  localHostsOnly?: boolean;
  /** Tests only: how often a process of a cluster compares what it holds with the store (default 30 s; ADR 0273). */
  configSweepMs?: number;
  /** Tests only: where a test stops a server between a production store write's steps (MongoStoreOptions.testHooks). */
  storeTestHooks?: { afterTombstone?(name: string): Promise<void>; beforeUpdateWrite?(name: string): Promise<void>; beforePurgeSteps?(name: string): Promise<void> };
}

/**
 * Sees the platform's calls from inside the process: the lines running calls stream, as they
 * arrive (`logs`), then every run as the gateway records it (`run`, its logs complete: the lines
 * already streamed are the same objects). A listener that throws breaks nothing.
 */
export interface RunObserver {
  logs?(fn: string, runId: string, lines: readonly LogLine[]): void;
  run?(record: RunRecord): void;
}

export interface StartedPlatform {
  /** `http://<host>:<port>`: invoke at `/fn/<name>/`, the API at `/api/v1/`. */
  readonly url: string;
  /** The web console: `http://console.<base domain>:<port>/console/` (its own origin; behind FP_PUBLIC_URL its scheme and port), or `/console/` of the public or listening URL with host routing off (platform/console-url.ts). */
  readonly consoleUrl: string;
  readonly port: number;
  /** The absolute state directory. */
  readonly stateDir: string;
  /**
   * The clear admin token when this start issued it (first start, or rotateAdminToken), handed
   * over once: the first call returns it and the platform forgets it; then undefined.
   */
  takeAdminToken(): string | undefined;
  /** The secrets keyring in use (docs/secrets.md). */
  readonly secrets: {
    /** `FP_SECRETS_KEY` or the key file's path. */
    where: string;
    /** This start created the key file: back it up. */
    created: boolean;
    /** What each key protects; after `rotateSecretsKey`, what was re-sealed and which old keys are still needed. */
    keys: KeyReport;
    /** Set when `rotateSecretsKey` ran. */
    rotated: boolean;
  };
  /** Functions found in the state directory at start. */
  readonly functions: number;
  /** The configuration in effect (defaults filled). */
  readonly config: PlatformConfig;
  /** How functions are isolated; mode 'off' (--unsafe-no-sandbox) must be shown to the operator. */
  readonly isolation: Isolation;
  /** What serves data bindings (`context.db`): null when nothing does (no FerretDB found, FP_DATA off, Kubernetes). */
  readonly data: { backend: 'external' | 'ferretdb' } | null;
  /** Stop taking calls, let in-flight ones finish (shutdownGraceMs), write pending runs, stop everything. */
  close(): Promise<void>;
}

export async function startPlatform(options: StartOptions = {}): Promise<StartedPlatform> {
  const { log: logOption, rotateAdminToken, rotateSecretsKey, runtimeEnv, observer, depsRoot: depsRootOption, localHostsOnly, storeTestHooks, configSweepMs, ...settings } = options;
  const parsed = parseOptions(settings);
  if (parsed.functionsDir !== undefined) {
    throw new ConfigError([{ key: 'functionsDir', message: 'directory mode is started by startDirectory (node dist/platform/main.js --functions DIR), not over a store' }]);
  }
  const log = logOption ?? stderrLog(parsed.logFormat);
  // Root mode: the ids functions and builds run as must be no other user's of the host (ADR 0160).
  const config = idsNoOneHolds(parsed, log);
  // A full log disk or a closed pipe drops lines instead of ending the process.
  survivingLogStreams(config.logFormat);
  // Before anything is spawned: no native uWS binary, no start.
  if (!uwsIsNative()) throw new UwsFallbackError();
  const stateDir = resolve(config.stateDir);
  const depsRoot = depsRootOption === undefined ? join(stateDir, 'deps') : resolve(depsRootOption);
  // Before anything is made: a state directory too long for the sockets under it is refused, named.
  checkSocketPaths(stateDir);
  // One process per state directory (STATE_DIR_IN_USE), before anything in it is opened.
  const lock = lockStateDir(stateDir);
  for (const warning of stateDirWarnings(stateDir)) log(`platform: warning: ${warning}`);

  const cleanup: (() => Promise<void>)[] = [async () => lock.release()];
  // Ids someone on the host comes to hold after this start are told (ADR 0164).
  const stopIdsWatch = watchHostIds(config, log);
  cleanup.push(async () => stopIdsWatch());
  // A deps root of its own (the CLI's dev keeps one per folder) is one platform's at a time too.
  if (depsRootOption !== undefined) {
    try {
      const depsLock = lockStateDir(depsRoot);
      cleanup.push(async () => depsLock.release());
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const unwind = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch((err: unknown) => log(`platform: shutdown step failed: ${String(err)}`));
  };
  try {
    const keys = await openKeyring(config, stateDir, rotateSecretsKey ?? false);
    const { keyring } = keys;
    const reporterId = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    // Which adapters (embedded or production) is decided there, once: everything below sees the ports.
    // What a restored state directory brought (before anything creates files): platform.db, the bindings' databases.
    const restoredStore = config.store === 'embedded' && existsSync(join(stateDir, 'platform.db'));
    const dataFilesBefore = embeddedDataFiles(stateDir);
    // The key check runs on the store as found, before its migrations write (ADR 0171): an upgrade
    // refused SECRETS_KEY_UNKNOWN left a migrated store the older build then refused.
    const checkBeforeWrite = (usage: KeyUsage[]): void => refuseUnopenable(usage, keyring, keys.where);
    const adapters = await openAdapters({ config, stateDir, keyring, origin: reporterId, log, checkBeforeWrite, ...(storeTestHooks !== undefined ? { storeTestHooks } : {}) })
      .catch(async (err: unknown) => {
        throw await explainUnknownKey(err, keys, runtimeEnv ?? {});
      });
    cleanup.push(() => adapters.close());
    const { store } = adapters;
    // Never serve with secrets this keyring cannot open: refuse to start instead (SECRETS_KEY_UNKNOWN).
    const keyReport = rotateSecretsKey
      ? await reencryptSecrets(store, keyring)
      : await checkKeys(store, keyring, keys.where).catch(async (err: unknown) => {
          throw await explainUnknownKey(err, keys, runtimeEnv ?? {});
        });
    // The observer (the CLI's dev) sees every streamed line; the feed only its tailed functions'.
    const logTap = observer?.logs ? observedTap(adapters.logs, observer.logs.bind(observer)) : adapters.logs;
    const pool = await startPool(config, [join(stateDir, 'code')], runtimeEnv, { log, reporterId, depsRoot, dataRoot: join(stateDir, 'data', 'sock'), logTap });
    cleanup.push(() => pool.close());
    // Issue 13: the database server behind data bindings, and their proxy (docs/data-binding.md).
    // Pods have no socket of the platform's to bind (docs/data-binding.md): no bindings on Kubernetes yet.
    const data = pool.isolation.mode === 'pod' ? null : await startData(config, stateDir, pool.isolation.mode !== 'off', runtimeEnv?.['PATH'], log);
    if (data !== null) cleanup.push(() => data.close());
    for (const warning of pool.isolation.warnings) log(`platform: warning: ${warning}`);
    for (const warning of exposureWarnings(config, pool.isolation.mode !== 'off')) log(`platform: warning: ${warning}`);

    // The gateway needs the control plane's API to start, and the control plane needs the
    // gateway for test invokes and its URL: both are bound late, through this variable.
    let gateway: Gateway | null = null;
    const deps = depsOptions(config, depsRoot, runtimeEnv?.['PATH'], pool.isolation.mode);
    const controlPlane: ControlPlane = await createControlPlane({
      store,
      keyring,
      metrics: adapters.metrics,
      bus: adapters.bus,
      logs: adapters.logs,
      reporterId,
      warmReportIntervalMs: config.warmReportIntervalMs,
      stateDir,
      deps, // issue 10
      pool,
      invoker: {
        invoke: (name, request, trigger) => (gateway ? gateway.invoke(name, request, trigger) : Promise.reject(new PlatformError('SHUTTING_DOWN', 'the gateway is not running'))),
        admit: (name) => (gateway ? gateway.admit(name) : new PlatformError('SHUTTING_DOWN', 'the gateway is not running')),
      },
      publicUrl: () => config.publicUrl?.replace(/\/+$/, '') ?? (gateway ? reachable(gateway.url) : ''),
      baseDomain: config.baseDomain,
      syncPayloadBytes: config.maxBodyBytes,
      asyncPayloadBytes: config.asyncMaxBodyBytes,
      runRetentionMs: config.runRetentionMs,
      runPruneIntervalMs: config.runPruneIntervalMs,
      codeCollectIntervalMs: config.codeCollectIntervalMs,
      keepVersions: config.keepVersions,
      runSampling: { keepPerMinute: config.runKeepPerMinute, sampleOneIn: config.runSampleOneIn },
      runStoreMaxBytes: config.runStoreMaxBytes,
      runJournalMaxBytes: config.runJournalMaxBytes,
      asyncResultMaxBytes: config.asyncResultMaxBytes,
      metricsPlatformSeries: config.metricsPlatformSeries,
      asyncResultBytesPerWorkspace: config.asyncResultBytesPerWorkspace,
      runStoreCheckMs: config.runStoreCheckMs,
      ...(configSweepMs !== undefined ? { configSweepMs } : {}),
      maxFunctionInstances: config.maxFunctionInstances,
      maxFunctionMemoryBytes: config.maxFunctionMemoryBytes,
      maxFunctionTimeoutMs: config.maxFunctionTimeoutMs,
      limiter: adapters.limiter,
      defaultQuotas: {
        functions: config.workspaceQuotaFunctions ?? null,
        instances: config.workspaceQuotaInstances ?? null,
        invocationsPerMinute: config.workspaceQuotaInvocationsPerMinute ?? null,
        codeBytes: config.workspaceQuotaCodeBytes ?? null,
        logBytes: config.workspaceQuotaLogBytes ?? null,
      },
      auditRetentionMs: config.auditRetentionMs,
      auditMaxEntries: config.auditMaxEntries,
      apiWriteRate: config.apiWriteRate,
      bundleLimits: { maxTotalBytes: config.maxBundleBytes, maxFiles: config.maxBundleFiles, maxFileBytes: config.maxFileBytes },
      ...(config.bundleThreads !== undefined ? { bundleThreads: config.bundleThreads } : {}),
      bundleCheckTimeoutMs: config.bundleCheckTimeoutMs,
      rotateAdminToken: rotateAdminToken ?? false,
      codeCheck: codeCheckSettings(config, deps),
      log,
      ...(data !== null ? { data: data.bindings } : { dataOffReason: dataOffReason(config, pool.isolation.mode === 'pod') }),
      async: {
        queue: adapters.queue,
        timeline: adapters.timeline,
        runs: adapters.runs,
        accept: adapters.accept,
        cancel: adapters.cancel,
        concurrency: config.dispatchConcurrency,
        leaseMs: config.dispatchLeaseMs,
        graceMs: config.shutdownGraceMs,
        tickLock: adapters.tickLock,
        replayGuard: adapters.replayGuard,
      },
    });
    cleanup.push(() => controlPlane.close());
    if (restoredStore && data?.backend === 'ferretdb') {
      const warning = missingDataWarning(stateDir, dataFilesBefore, data.bindings.list());
      if (warning !== null) log(warning);
    }
    const started = await createGateway({
      config: { ...gatewaySettings(config), ...(localHostsOnly === true ? { localHostsOnly: true } : {}) },
      pool,
      registry: controlPlane.registry,
      runSink: withWrites(observer?.run ? observed(controlPlane.runSink, observer.run.bind(observer)) : controlPlane.runSink, data?.bindings ?? null),
      metricsRegistry: controlPlane.metricsRegistry,
      // /metrics by token: none, the platform's series; a workspace's, its functions too; the root's, all (ADR 0036).
      metricsView: (headers) => controlPlane.metricsView(headers),
      api: controlPlane.api,
      // The web console, built next to this file by scripts/build-console.ts (dist/console).
      console: await loadStaticSite(CONSOLE_DIR),
      ...(controlPlane.asyncIntake !== null ? { async: { intake: controlPlane.asyncIntake, maxBodyBytes: config.asyncMaxBodyBytes } } : {}),
      ...(controlPlane.webhooks !== null ? { hooks: controlPlane.webhooks } : {}),
      // E.g. a Redis that does not persist the async queue: /readyz says so (docs/platform.md, "Production mode").
      readiness: () => adapters.readiness(),
      logTap: adapters.logs,
      ...(data !== null ? { dataOutage: (key: string, since: number) => data.bindings.toldUnavailable(key, since) } : {}),
      log,
    });
    gateway = started;
    cleanup.push(() => started.close());
    // Runs after the gateway is up (attempts invoke through it), with the cron scheduler. At close
    // the gateway refuses new calls first (/readyz 503 at once), then the dispatcher's attempts and
    // the gateway's calls in flight finish side by side, within one grace (they took two in turn,
    // while /readyz said ready and new calls were taken: reliability probe 2026-12-04); the queue
    // closes long after.
    controlPlane.startDispatcher();
    cleanup.push(async () => {
      started.stopAccepting();
      // An attempt that ends after the gateway's close has its record handed on at once (RunBatcher.closeBatching).
      await Promise.all([controlPlane.stopDispatcher(), started.close()]);
    });

    let closing: Promise<void> | null = null;
    return {
      url: reachable(started.url),
      consoleUrl: consoleUrlOf(config.baseDomain, config.publicUrl, reachable(started.url), started.port),
      port: started.port,
      stateDir,
      takeAdminToken: () => controlPlane.takeAdminToken() ?? undefined,
      secrets: { where: keys.where, created: keys.created, keys: keyReport, rotated: rotateSecretsKey ?? false },
      functions: controlPlane.functionsLoaded,
      config,
      isolation: pool.isolation,
      data: data === null ? null : { backend: data.backend },
      close() {
        // Reverse order: the gateway drains its calls and flushes run records into the control
        // plane's sink, which writes them before the pool and the store go.
        closing ??= unwind();
        return closing;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/**
 * Runs tied to their writes: a bound function's run record gets what the proxy saw it write
 * (docs/data-binding.md, "Runs and writes"), taken when the run is recorded.
 */
function withWrites(sink: RunSink, data: DataBindings | null): RunSink {
  if (data === null) return sink;
  return {
    record(run, incarnation) {
      sink.record(data.bindingOf(run.function) === null ? run : { ...run, writes: data.takeWrites(run.function, run.runId) }, incarnation);
    },
    ...(sink.dropped ? { dropped: () => sink.dropped!() } : {}),
  };
}

/** The sink, and then the observer (whose errors are not the sink's: they count as no lost run). */
function observed(sink: RunSink, onRun: (record: RunRecord) => void): RunSink {
  return {
    record(run, incarnation) {
      sink.record(run, incarnation);
      try {
        onRun(run);
      } catch {
        // An observer's bug must not fail the recording.
      }
    },
    ...(sink.dropped ? { dropped: () => sink.dropped!() } : {}),
  };
}

/** The feed, and then the observer, which sees every function's streamed lines (its errors are ignored). */
function observedTap(feed: LogTap, onLines: (fn: string, runId: string, lines: readonly LogLine[]) => void): LogTap {
  return {
    wants: () => true,
    lines(batch) {
      if (feed.wants(batch.function)) feed.lines(batch);
      try {
        onLines(batch.function, batch.runId, batch.lines);
      } catch {
        // An observer's bug must not reach the pool's message handling.
      }
    },
    end: (run) => feed.end(run),
  };
}
