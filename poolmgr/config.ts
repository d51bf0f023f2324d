/**
 * Pool manager options, with their defaults. Units are in the names (`…Ms`).
 * `defaultPoolConfig` is the one place the pool reads the environment (FP_DEBUG, FP_ZYGOTES, FP_TEMPLATES, PATH, LANG);
 * it takes the environment as an argument so callers and tests can pass their own.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_FRAME_BYTES_IN_FLIGHT } from './frame-joins.js';
import type { HostedRuntime, SandboxMode } from './host/types.js';

export interface PoolConfig {
  /** Reads the host's open-file table (poolmgr/file-table.ts; default /proc/sys/fs/file-nr). Tests give a smaller one. */
  fileTable?: () => { allocated: number; max: number } | null;
  /** Python interpreter that runs the runtime (default `<repo>/.venv/bin/python`). */
  pythonPath: string;
  /** The runtime's bootstrap script (default `<repo>/runtime/bootstrap.py`). */
  runtimeEntry: string;
  /** Generic runtimes kept ready to specialize (default 3). */
  poolSize: number;
  /** A specialized instance with no call for this long is shut down (default 300 000). */
  idleTimeoutMs: number;
  /** How often the reaper looks for idle instances (default 1 000). */
  reapIntervalMs: number;
  /** Time a new process has to say hello (default 10 000); past it: RUNTIME_UNAVAILABLE. */
  spawnTimeoutMs: number;
  /** Time a specialization may take (default 10 000), or the function's timeout when longer; past it: FUNCTION_INIT_FAILED. */
  initTimeoutMs: number;
  /** Delay before the pool replaces a generic runtime it handed out (default 30; why: poolmgr/generic-pool.ts). */
  refillDelayMs: number;
  /**
   * One generic runtime, the next a cold start takes, writes a specialize's pages while it waits:
   * that cold start's specialize ~0.7× the time, that runtime ~1.2 MiB more (default false;
   * docs/adr/0114-specialize-pages-written-ahead.md).
   */
  warmNext: boolean;
  /**
   * Calls a ready instance may hold beyond its `concurrency` once its version is at
   * maxInstances: sent ahead so the runtime never idles between calls (default 16; 0 = off).
   */
  pipelineDepth: number;
  /**
   * A call that finds every instance busy but one of them only finishing (its calls answered in
   * full, a `yield` dependency's teardown or a background task still running) waits this long for
   * that slot before a new instance is started (default 50; 0 = start one at once).
   * docs/adr/0045-finishing-calls.md.
   */
  finishingWaitMs: number;
  /**
   * Bytes of runtime frames being read (a frame past 64 KiB is held whole until its last byte),
   * all runtimes together; a workspace's runtimes at most half (default 1 GiB;
   * FP_MAX_FRAME_BYTES_IN_FLIGHT; poolmgr/frame-joins.ts). A runtime whose frame does not fit is killed.
   */
  maxFrameBytesInFlight: number;
  /** After a shutdown request, time before SIGKILL (default 2 000). */
  shutdownGraceMs: number;
  /** The whole environment of a runtime process; function env vars are added at specialize. */
  childEnv: Record<string, string>;
  /** Forward runtime stdout/stderr to our stderr (default: FP_DEBUG is set and not '0'). */
  debug: boolean;
  /** Where a function's output outside its calls goes, bounded (poolmgr/host/function-output.ts); default: our stderr. Tests give their own. */
  functionOutput?: (line: string) => void;
  /** The operator's log for the host's own news (runtimes that could not start, a zygote bypassed); default: our stderr. */
  hostLog?: (line: string) => void;
  /** Sees each piece of a runtime's output outside its calls as the host receives it, before any bound (tests measure what reaches the host). */
  onOutput?: (rt: HostedRuntime, stream: 'stdout' | 'stderr', text: string) => void;
  /**
   * How runtimes are boxed (docs/security.md): 'auto' (default) is 'root' when the platform runs
   * as root, else 'userns'; 'off' runs user code unsandboxed and is only for --unsafe-no-sandbox.
   */
  sandbox: 'auto' | SandboxMode;
  /** Directories that hold function versions (a version's `dir` must be under one of them). */
  codeRoots: string[];
  /** The directory holding dependency sites (docs/dependencies.md); a version's `depsDir` must be under it. Null: none. */
  depsRoot: string | null;
  /** The directory holding the data binding sockets (docs/data-binding.md); a version's `dataDir` must be under it. Null: none. */
  dataRoot: string | null;
  /** First and last uid given to functions in root mode (default 600000-699999). */
  uidRange: [number, number];
  /** Size of each instance's /tmp and /dev/shm, and the largest file it may write (default 64 MiB). */
  tmpBytes: number;
  /** Processes and threads per instance (default 256). */
  tasksMax: number;
  /**
   * Socket buffer bytes of all the instances together (cgroup v1: the platform directory's
   * memory.kmem.tcp.limit_in_bytes). Unset: half of the host's TCP pressure threshold (`hostSocketShare`).
   */
  socketBytesTotal?: number;
  /**
   * Memory of all the instances together (the platform directory's memory limit, hierarchical).
   * Unset: what the platform's cgroup may have less a quarter, at least 1 GiB (`hostMemoryShare`).
   */
  memoryBytesTotal?: number;
  /** Open files per process of a function (default 1024). */
  openFiles: number;
  /** CPU weight of each function, v1 shares scale (default 1024). */
  cpuShares: number;
  /** Specialized instances of all functions together (default 64); past it idle ones of other functions are stopped first. */
  maxInstancesTotal: number;
  /**
   * Calls one workspace's functions may have in hand at once, all together: waiting, pipelined,
   * running or streaming (default 4096); the platform takes an eighth more for the other
   * workspaces. Each holds its client's connection: without a bound, one client queued 20 000 calls
   * on a public function, or ran 27 000 at once on one with `concurrency: 1000`, and the gateway ran
   * out of file descriptors for every tenant (red team of 2026-12-04, both rounds).
   */
  maxHeldCalls: number;
  /**
   * Fork runtimes from a zygote per preset instead of spawning interpreters (default true;
   * `FP_ZYGOTES=0` turns it off). docs/adr/0019-zygotes.md.
   */
  zygotes: boolean;
  /**
   * A version whose cold start's init (module import) took at least this long gets a template,
   * made in the background, that forks its scale-out instances with the module already imported
   * (default 50; 0 = no templates; `FP_TEMPLATES=0` turns them off). Local process host, sandboxed
   * modes only. docs/adr/0030-function-templates.md.
   */
  templateMinInitMs: number;
  /**
   * The start budget after crashes (docs/adr/0158-a-start-budget-after-crashes.md; default 10, 0 =
   * off): instances of a version that may end by no doing of the platform's (an exit, a signal, an
   * out-of-memory kill, a timeout kill, a failed load) back to back before its next instance waits
   * for the budget; the workspace's is four times this. Optional: a config made before it existed gets the default.
   */
  crashStartBurst?: number;
  /** Starts the budget gains back a minute (default 30), the workspace's four times this. */
  crashStartsPerMinute?: number;
  /**
   * The shortest call timeout whose kill while the call's body was still going out spends no start
   * budget (default CLIENT_PACED_MIN_TIMEOUT_MS, 30 s; ADR 0167). No option sets it: a test of the
   * behaviour sets a shorter one so as not to wait 30 s for it (docs/adr/0169-test-time-in-the-console-and-checks.md).
   */
  clientPacedMinTimeoutMs?: number;
}

/** The sandbox mode 'auto' stands for here. */
export function resolveSandbox(mode: PoolConfig['sandbox']): SandboxMode {
  if (mode !== 'auto') return mode;
  return process.geteuid?.() === 0 ? 'root' : 'userns';
}

/**
 * TLS trust settings runtimes get from the platform's environment: paths, never secrets, and only
 * when they name something that exists. Behind a TLS-inspecting proxy whose CA the host trusts
 * through them, a function's outgoing HTTPS failed (certifi's bundle) where the same app under
 * uvicorn worked (helper round, 2026-12-05). The function's own env overrides them.
 */
export const TRUST_ENV = ['SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'] as const;

/**
 * The environment of every runtime: PATH and LANG, the TLS trust settings (TRUST_ENV), and the
 * variables the operator named in `passThrough` (FP_FUNCTION_HOST_ENV: e.g. HTTPS_PROXY, which
 * every function can then read). Nothing else of the platform's environment reaches user code.
 */
export function runtimeChildEnv(env: Readonly<Record<string, string | undefined>>, passThrough: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = { PATH: runtimePath(env['PATH']), LANG: env['LANG'] ?? 'C.UTF-8' };
  for (const name of TRUST_ENV) {
    const value = env[name];
    if (value !== undefined && value.startsWith('/') && existsSync(value)) out[name] = value;
  }
  for (const name of passThrough) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * The operator's PATH without what npm put before it to run the platform (`node_modules/.bin`
 * directories, npm's own `node-gyp-bin`): a function's `PATH` named the platform's install paths,
 * which the box does not even hold (apps round 6 of 2026-12-05). Empty: the usual default.
 */
export function runtimePath(path: string | undefined): string {
  const kept = (path ?? '').split(':').filter((dir) => dir !== '' && !dir.includes('/node_modules/') && !dir.endsWith('/node_modules'));
  return kept.length > 0 ? kept.join(':') : '/usr/local/bin:/usr/bin:/bin';
}

/** Options with their defaults, paths resolved against the repository root. */
export function defaultPoolConfig(
  overrides: Partial<PoolConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): PoolConfig {
  const root = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
  const config: PoolConfig = {
    pythonPath: join(root, '.venv', 'bin', 'python'),
    runtimeEntry: join(root, 'runtime', 'bootstrap.py'),
    poolSize: 3,
    idleTimeoutMs: 300_000,
    reapIntervalMs: 1_000,
    spawnTimeoutMs: 10_000,
    initTimeoutMs: 10_000,
    refillDelayMs: 30,
    warmNext: false,
    // 16, not 4: measured 1.5× the requests/s at 0.77× the CPU per request (docs/adr/0018-pipeline-depth.md).
    pipelineDepth: 16,
    // A teardown takes a millisecond or so; a cold start tens to hundreds (docs/adr/0045-finishing-calls.md).
    finishingWaitMs: 50,
    shutdownGraceMs: 2_000,
    maxFrameBytesInFlight: DEFAULT_MAX_FRAME_BYTES_IN_FLIGHT,
    // Only what an interpreter needs: the platform's own secrets stay out of user code's reach.
    childEnv: runtimeChildEnv(env),
    debug: env['FP_DEBUG'] !== undefined && env['FP_DEBUG'] !== '' && env['FP_DEBUG'] !== '0',
    sandbox: 'auto',
    codeRoots: [],
    depsRoot: null,
    dataRoot: null,
    uidRange: [600_000, 699_999],
    tmpBytes: 64 * 1024 * 1024,
    tasksMax: 256,
    openFiles: 1024,
    cpuShares: 1024,
    maxInstancesTotal: 64,
    maxHeldCalls: 4096,
    zygotes: env['FP_ZYGOTES'] !== '0',
    templateMinInitMs: env['FP_TEMPLATES'] === '0' ? 0 : 50,
    ...overrides,
  };
  return Object.freeze(config);
}

/**
 * The repository root: the nearest ancestor holding both package.json and runtime/.
 * Works from the sources (poolmgr/) and from the build (dist/poolmgr/) alike.
 */
export function findRepoRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'runtime'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // No marker found: assume the usual layout, <root>/poolmgr or <root>/dist/poolmgr.
  const up = resolve(from, '..');
  return basename(up) === 'dist' ? dirname(up) : up;
}
