/**
 * The pool both modes of the platform run (platform/start.ts, platform/directory.ts): its options
 * from the platform's configuration, its runtimes local processes or Pods (FP_RUNTIME_HOST,
 * platform/kube.ts), started with the sandbox's failure explained.
 */
import { access, constants } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ControlPlaneOptions, DepsOptions } from '../controlplane/index.js';
import { defaultPoolConfig, PoolManager, RedisFleetView, runtimeChildEnv, type FleetView, type PoolConfig } from '../poolmgr/index.js';
import { PlatformError, type LogTap } from '../protocol/index.js';
import type { PlatformConfig } from './config.js';
import { checkInstallPath } from './install-path.js';
import type { KubeSetup } from './kube.js';
import { functionOutputSink, stderrLog } from './log-format.js';

export interface PoolSetup {
  /** Operator messages (the Kubernetes host's). */
  log?: (line: string) => void;
  /**
   * The control plane's reporter id: in production mode minWarm then counts across gateways,
   * from their warm reports (poolmgr/fleet.ts). Without it each gateway keeps minWarm itself.
   */
  reporterId?: string;
  /** Where dependency sites are built (docs/dependencies.md): bound hidden at spawn, the version's own at specialize. */
  depsRoot?: string;
  /** Where the data binding sockets live (docs/data-binding.md): bound hidden at spawn, the function's own at specialize. */
  dataRoot?: string;
  /** Where running calls publish their log lines for live tails (the log feed). */
  logTap?: LogTap;
}

/**
 * A started pool whose runtimes may run code under `codeRoots`. `runtimeEnv` gives runtimes their
 * PATH, LANG, TLS trust settings and the variables FP_FUNCTION_HOST_ENV names (poolmgr's
 * runtimeChildEnv: nothing else of it reaches user code); `logTap` gets the lines of tailed functions.
 */
export async function startPool(config: PlatformConfig, codeRoots: string[], runtimeEnv: Record<string, string | undefined> | undefined, setup: PoolSetup = {}): Promise<PoolManager> {
  const log = setup.log ?? stderrLog(config.logFormat);
  if (config.runtimeHost !== 'kubernetes') {
    await interpreterUsable(config);
    const { python, script } = codeCheckSettings(config);
    // The state directory and key files too: a box that showed them would let every function read them.
    const own = [config.stateDir, config.secretsKeyFile, config.adminTokenFile].filter((p): p is string => p !== undefined);
    if (!config.unsafeNoSandbox) await checkInstallPath(python, dirname(script), own);
  }
  // Several gateways on one Redis: minWarm counts the instances of all of them (the pool closes it).
  const fleet: FleetView | undefined = config.store === 'production' && setup.reporterId !== undefined
    ? await RedisFleetView.open({ redisUrl: config.redisUrl!, prefix: config.redisPrefix, reporterId: setup.reporterId })
    : undefined;
  let kube: KubeSetup | null;
  try {
    // Runtimes as local processes (default) or as Pods (docs/kubernetes.md); the pool closes the host.
    // Loaded only then: the Kubernetes client costs ~0.5 s and ~70 MB at start (platform/kube.ts).
    kube = config.runtimeHost === 'kubernetes' ? await (await import('./kube.js')).openKubeHost(config, codeRoots, log) : null;
  } catch (err) {
    await fleet?.close();
    throw err;
  }
  const pool = new PoolManager(
    defaultPoolConfig(
      {
        poolSize: config.poolSize,
        warmNext: config.poolWarmNext,
        idleTimeoutMs: config.idleTimeoutMs,
        debug: config.debug,
        // A function's output outside its calls, in the platform's log format (its own records in json: ADR 0123).
        functionOutput: functionOutputSink(config.logFormat),
        // Runtimes that could not start and zygotes bypassed, in the operator's log (reliability round 8).
        hostLog: log,
        ...(config.pythonPath !== undefined ? { pythonPath: config.pythonPath } : {}),
        ...sandboxOptions(config, codeRoots, setup.depsRoot),
        ...(setup.dataRoot !== undefined ? { dataRoot: setup.dataRoot } : {}),
        ...kube?.pool,
        childEnv: runtimeChildEnv(runtimeEnv ?? {}, names(config.functionHostEnv)),
      },
    ),
    kube?.host,
    { ...(fleet ? { fleet } : {}), ...(setup.logTap ? { logTap: setup.logTap } : {}) },
  );
  try {
    await pool.start();
  } catch (err) {
    await pool.close().catch(() => {});
    const missing = /ModuleNotFoundError: No module named '([^']+)'/.exec((err as Error).message)?.[1];
    if (missing !== undefined && pool.isolation.mode !== 'pod') throw interpreterLacks(codeCheckSettings(config).python, missing);
    throw pool.isolation.mode === 'off' || pool.isolation.mode === 'pod' ? err : sandboxUnavailable(pool.isolation.mode, err as Error);
  }
  return pool;
}

/** The pool's sandbox settings from the platform's (docs/security.md). */
function sandboxOptions(config: PlatformConfig, codeRoots: string[], depsRoot: string | undefined): Partial<PoolConfig> {
  const [first, last] = config.sandboxUids.split('-').map(Number) as [number, number];
  return {
    sandbox: config.unsafeNoSandbox ? 'off' : config.sandbox,
    codeRoots,
    ...(depsRoot !== undefined ? { depsRoot } : {}),
    uidRange: [first, last],
    tmpBytes: config.sandboxTmpBytes,
    tasksMax: config.sandboxTasks,
    ...(config.sandboxSocketBytes !== undefined ? { socketBytesTotal: config.sandboxSocketBytes } : {}),
    ...(config.sandboxMemoryBytes !== undefined ? { memoryBytesTotal: config.sandboxMemoryBytes } : {}),
    openFiles: config.sandboxOpenFiles,
    maxInstancesTotal: config.maxInstances,
    maxHeldCalls: config.maxHeldCalls,
    crashStartBurst: config.crashStartBurst,
    crashStartsPerMinute: config.crashStartsPerMinute,
    maxFrameBytesInFlight: config.maxFrameBytesInFlight,
    zygotes: config.zygotes,
    ...(config.templates ? {} : { templateMinInitMs: 0 }),
  };
}

/**
 * START_FAILED when this process cannot run the runtimes' interpreter (FP_PYTHON, else the
 * repository's .venv). Ops round 3: a platform started as a service user on a checkout whose .venv
 * links to a Python under root's 0700 home failed SANDBOX_UNAVAILABLE ("run as root, or pass
 * --unsafe-no-sandbox"), after three zygote restarts; neither helped, the interpreter was the cause.
 */
async function interpreterUsable(config: PlatformConfig): Promise<void> {
  const python = codeCheckSettings(config).python;
  try {
    await access(python, constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const uid = process.getuid?.();
    throw new PlatformError(
      'START_FAILED',
      `the runtimes' Python interpreter ${python} cannot be run by this process${uid === undefined ? '' : ` (uid ${uid})`}: ${code}` +
        (code === 'ENOENT' ? ' (it, or the interpreter a .venv link points to, does not exist)' : ' (the file, or a folder on its path, is not executable for this user: `namei -l <path>` shows which)') +
        '. Set FP_PYTHON to a Python 3.11 this user can run, or set the repository up as this user (`bash scripts/setup.sh`: its .venv links to the Python it was made with).',
      { python, code },
    );
  }
}

/** START_FAILED: the runtimes' interpreter runs but lacks the runtime's own packages (FP_PYTHON set to a system Python; ops round 3). */
function interpreterLacks(python: string, module: string): PlatformError {
  return new PlatformError(
    'START_FAILED',
    `the runtimes' Python interpreter ${python} has no module ${module}, which the runtime needs: ` +
      'FP_PYTHON must be a Python 3.11 with runtime/requirements.txt and runtime/requirements-presets.txt installed ' +
      '(the repository\'s .venv, made by `bash scripts/setup.sh`)',
    { python, module },
  );
}

/** SANDBOX_UNAVAILABLE: the platform could not start its first sandboxed runtimes; says why and what to do. */
export function sandboxUnavailable(mode: string, cause: Error): PlatformError {
  // A refused unshare means the kernel does not let this user build the box; anything else is in the message.
  const refused = /unshare|Operation not permitted|EPERM/.test(cause.message);
  return new PlatformError(
    'SANDBOX_UNAVAILABLE',
    `the function sandbox (${mode} mode) could not start a runtime: ${cause.message}\n` +
      (mode === 'userns' && refused
        ? 'Not running as root, the sandbox needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0; ' +
          'on Debian before 11 kernel.unprivileged_userns_clone=1; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0). '
        : '') +
      // Already root: "run as root" is no advice (ops round 3).
      `${mode === 'root' ? 'Pass' : 'Run as root, or pass'} --unsafe-no-sandbox (FP_UNSAFE_NO_SANDBOX=1) to run functions WITHOUT isolation (docs/security.md).`,
    { mode },
  );
}

/** A URL a local client can call: a wildcard bind address becomes loopback. */
export function reachable(url: string): string {
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
}

/** The runtime's interpreter and runtime/validate.py, for the API's code check (same Python as the functions). */
/** The API's code check: the runtime's interpreter, in the dependency builder's kind of box (its uid, id map and cgroups). */
export function codeCheckSettings(config: PlatformConfig, deps?: DepsOptions): NonNullable<ControlPlaneOptions['codeCheck']> {
  const defaults = defaultPoolConfig(config.pythonPath !== undefined ? { pythonPath: config.pythonPath } : {});
  return {
    python: defaults.pythonPath,
    script: join(dirname(defaults.runtimeEntry), 'validate.py'),
    ...(deps !== undefined ? { box: { mode: deps.sandbox, uid: deps.builderUid, idmap: deps.idmap ?? null, cgroups: deps.cgroups } } : {}),
  };
}

/** The names of a comma-separated list (FP_FUNCTION_HOST_ENV). */
function names(list: string): string[] {
  return list.split(',').map((n) => n.trim()).filter((n) => n !== '');
}
