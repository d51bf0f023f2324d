/**
 * The composition root: opens the embedded store, starts the pool, assembles the control plane
 * and mounts its API in the gateway — one process, one port. `platform/main.ts` calls it for the
 * `node dist/platform/main.js` process; the CLI's `up` command imports it.
 *
 *   const platform = await startPlatform({ stateDir: '.state', port: 8080 });
 *   platform.url;              // http://127.0.0.1:8080  (invoke: /fn/<name>/, API: /api/v1/)
 *   platform.takeAdminToken(); // only on the first start of a state directory, and only once: show it
 *   await platform.close();
 *
 * Wiring decisions: docs/adr/0004-controlplane-in-gateway.md.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { checkKeys, createControlPlane, type DepsOptions, openAsyncStores, openConfigBus, openHotMetrics, openStore, openReplayGuard, openTickLock, reencryptSecrets, type ControlPlane, type HotMetrics, type KeyReport, type Store } from '../controlplane/index.js';
import { createGateway, uwsIsNative, UwsFallbackError, type Gateway } from '../gateway/index.js';
import { defaultPoolConfig, PoolManager, type Isolation, type PoolConfig } from '../poolmgr/index.js';
import { PlatformError } from '../protocol/index.js';
import { parseOptions, type PlatformConfig, type PlatformOptions } from './config.js';
import { openKeyring } from './secrets.js';

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
}

export interface StartedPlatform {
  /** `http://<host>:<port>`: invoke at `/fn/<name>/`, the API at `/api/v1/`. */
  readonly url: string;
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
  /** Stop taking calls, let in-flight ones finish (shutdownGraceMs), write pending runs, stop everything. */
  close(): Promise<void>;
}

export async function startPlatform(options: StartOptions = {}): Promise<StartedPlatform> {
  const { log: logOption, rotateAdminToken, rotateSecretsKey, runtimeEnv, ...settings } = options;
  const config = parseOptions(settings);
  const log = logOption ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Before anything is spawned: the JavaScript fallback of uWS is refused outright.
  if (!uwsIsNative()) throw new UwsFallbackError();
  const stateDir = resolve(config.stateDir);

  const cleanup: (() => Promise<void>)[] = [];
  const unwind = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch((err: unknown) => log(`platform: shutdown step failed: ${String(err)}`));
  };
  try {
    // The only place that knows which adapters are in use: everything below sees the ports.
    // (The config schema refuses production without both URLs, hence the `!`s.)
    const keys = await openKeyring(config, stateDir, rotateSecretsKey ?? false);
    const { keyring } = keys;
    const store: Store = await openStore(
      config.store === 'production' ? { kind: 'production', mongoUrl: config.mongoUrl!, database: config.mongoDatabase, keyring } : { kind: 'embedded', stateDir, keyring },
    );
    cleanup.push(() => store.close());
    // Never serve with secrets this keyring cannot open: refuse to start instead (SECRETS_KEY_UNKNOWN).
    const keyReport = rotateSecretsKey ? await reencryptSecrets(store, keyring) : await checkKeys(store, keyring, keys.where);
    const metrics: HotMetrics = await openHotMetrics(
      config.store === 'production' ? { kind: 'production', redisUrl: config.redisUrl!, prefix: config.redisPrefix } : { kind: 'embedded' },
    );
    cleanup.push(() => metrics.close());
    const reporterId = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const bus = await openConfigBus(
      config.store === 'production' ? { kind: 'production', redisUrl: config.redisUrl!, prefix: config.redisPrefix, origin: reporterId, log } : { kind: 'embedded' },
    );
    cleanup.push(() => bus.close());
    // The async queue, run timeline and run index (Redis in production, SQLite files embedded).
    const asyncStores = await openAsyncStores(
      config.store === 'production'
        ? { kind: 'production', leaseMs: config.dispatchLeaseMs, redisUrl: config.redisUrl!, prefix: config.redisPrefix, retentionMs: config.runRetentionMs }
        : { kind: 'embedded', stateDir, leaseMs: config.dispatchLeaseMs },
    );
    cleanup.push(() => asyncStores.close());
    // Cron ticks are claimed here (one claim per tick across processes); closed after the control plane.
    const tickLock = await openTickLock(config.store === 'production' ? { kind: 'production', redisUrl: config.redisUrl!, prefix: config.redisPrefix } : { kind: 'embedded', stateDir });
    cleanup.push(() => tickLock.close());
    // Stripe-style webhook deliveries are remembered here (Redis: shared by all gateways).
    const replayGuard = await openReplayGuard(config.store === 'production' ? { kind: 'production', redisUrl: config.redisUrl!, prefix: config.redisPrefix } : { kind: 'embedded' });
    cleanup.push(() => replayGuard.close());
    const pool = new PoolManager(
      defaultPoolConfig(
        {
          poolSize: config.poolSize,
          idleTimeoutMs: config.idleTimeoutMs,
          debug: config.debug,
          ...(config.pythonPath !== undefined ? { pythonPath: config.pythonPath } : {}),
          ...sandboxOptions(config, stateDir),
        },
        { PATH: runtimeEnv?.['PATH'], LANG: runtimeEnv?.['LANG'] },
      ),
    );
    cleanup.push(() => pool.close());
    await pool.start().catch((err: unknown) => {
      throw pool.isolation.mode === 'off' ? err : new SandboxStartError(pool.isolation.mode, err as Error);
    });
    for (const warning of pool.isolation.warnings) log(`platform: warning: ${warning}`);

    // The gateway needs the control plane's API to start, and the control plane needs the
    // gateway for test invokes and its URL: both are bound late, through this variable.
    let gateway: Gateway | null = null;
    const controlPlane: ControlPlane = await createControlPlane({
      store,
      keyring,
      metrics,
      bus,
      reporterId,
      warmReportIntervalMs: config.warmReportIntervalMs,
      stateDir,
      deps: depsOptions(config, stateDir, runtimeEnv?.['PATH'], pool.isolation.mode), // issue 10
      pool,
      invoker: {
        invoke: (name, request, trigger) => (gateway ? gateway.invoke(name, request, trigger) : Promise.reject(new PlatformError('SHUTTING_DOWN', 'the gateway is not running'))),
      },
      publicUrl: () => config.publicUrl?.replace(/\/+$/, '') ?? (gateway ? reachable(gateway.url) : ''),
      syncPayloadBytes: config.maxBodyBytes,
      asyncPayloadBytes: config.asyncMaxBodyBytes,
      runRetentionMs: config.runRetentionMs,
      runPruneIntervalMs: config.runPruneIntervalMs,
      maxFunctionInstances: config.maxFunctionInstances,
      bundleLimits: { maxTotalBytes: config.maxBundleBytes, maxFiles: config.maxBundleFiles, maxFileBytes: config.maxFileBytes },
      ...(config.bundleThreads !== undefined ? { bundleThreads: config.bundleThreads } : {}),
      bundleCheckTimeoutMs: config.bundleCheckTimeoutMs,
      rotateAdminToken: rotateAdminToken ?? false,
      log,
      async: {
        queue: asyncStores.queue,
        timeline: asyncStores.timeline,
        runs: asyncStores.runs,
        accept: asyncStores.accept,
        concurrency: config.dispatchConcurrency,
        leaseMs: config.dispatchLeaseMs,
        graceMs: config.shutdownGraceMs,
        tickLock,
        replayGuard,
      },
    });
    cleanup.push(() => controlPlane.close());
    const started = await createGateway({
      config: { host: config.host, port: config.port, maxBodyBytes: config.maxBodyBytes, shutdownGraceMs: config.shutdownGraceMs },
      pool,
      registry: controlPlane.registry,
      runSink: controlPlane.runSink,
      api: controlPlane.api,
      ...(controlPlane.asyncIntake !== null ? { async: { intake: controlPlane.asyncIntake, maxBodyBytes: config.asyncMaxBodyBytes } } : {}),
      ...(controlPlane.webhooks !== null ? { hooks: controlPlane.webhooks } : {}),
      log,
    });
    gateway = started;
    cleanup.push(() => started.close());
    // Runs after the gateway is up (attempts invoke through it), with the cron scheduler; both stopped first at close, before
    // the gateway refuses calls and long before the queue closes.
    controlPlane.startDispatcher();
    cleanup.push(() => controlPlane.stopDispatcher());

    let closing: Promise<void> | null = null;
    return {
      url: reachable(started.url),
      port: started.port,
      stateDir,
      takeAdminToken: () => controlPlane.takeAdminToken() ?? undefined,
      secrets: { where: keys.where, created: keys.created, keys: keyReport, rotated: rotateSecretsKey ?? false },
      functions: controlPlane.functionsLoaded,
      config,
      isolation: pool.isolation,
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

/** The pool's sandbox settings from the platform's (docs/security.md). */
function sandboxOptions(config: PlatformConfig, stateDir: string): Partial<PoolConfig> {
  const [first, last] = config.sandboxUids.split('-').map(Number) as [number, number];
  return {
    sandbox: config.unsafeNoSandbox ? 'off' : config.sandbox,
    codeRoots: [join(stateDir, 'code')],
    depsRoot: join(stateDir, 'deps'),
    uidRange: [first, last],
    tmpBytes: config.sandboxTmpBytes,
    tasksMax: config.sandboxTasks,
    openFiles: config.sandboxOpenFiles,
    maxInstancesTotal: config.maxInstances,
  };
}

/** How dependency builds run (docs/dependencies.md): the runtime's interpreter, the pool's kind of box. */
function depsOptions(config: PlatformConfig, stateDir: string, path: string | undefined, sandbox: DepsOptions['sandbox']): DepsOptions {
  const list = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  // The pool's interpreter and runtime directory, as the pool resolves them.
  const pool = defaultPoolConfig({ ...(config.pythonPath !== undefined ? { pythonPath: config.pythonPath } : {}) }, { PATH: path });
  return {
    root: join(stateDir, 'deps'),
    pythonPath: pool.pythonPath,
    runtimeDir: dirname(pool.runtimeEntry),
    path: pool.childEnv['PATH'] ?? '/usr/bin:/bin',
    sandbox,
    builderUid: config.depsBuilderUid,
    indexUrl: config.depsIndexUrl === 'none' ? null : config.depsIndexUrl,
    extraIndexUrls: list(config.depsExtraIndexUrls),
    findLinks: config.depsFindLinks ?? null,
    allowSdist: config.depsAllowSdist,
    caFile: config.depsIndexCa,
    allowHosts: list(config.depsAllowHosts),
    timeoutMs: config.depsTimeoutMs,
    maxBytes: config.depsMaxBytes,
    memoryBytes: config.depsMemoryBytes,
    concurrency: config.depsConcurrency,
  };
}

/** The platform could not start its first sandboxed runtimes: say why and what to do. */
export class SandboxStartError extends Error {
  readonly code = 'SANDBOX_UNAVAILABLE';
  constructor(mode: string, cause: Error) {
    // A refused unshare means the kernel does not let this user build the box; anything else is in the message.
    const refused = /unshare|Operation not permitted|EPERM/.test(cause.message);
    super(
      `the function sandbox (${mode} mode) could not start a runtime: ${cause.message}\n` +
      (mode === 'userns' && refused
        ? 'Not running as root, the sandbox needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0; ' +
          'on Debian before 11 kernel.unprivileged_userns_clone=1; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0). '
        : '') +
      'Run as root, or pass --unsafe-no-sandbox (FP_UNSAFE_NO_SANDBOX=1) to run functions WITHOUT isolation (docs/security.md).',
    );
  }
}

/** A URL a local client can call: a wildcard bind address becomes loopback. */
function reachable(url: string): string {
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
}
