/** Shapes of the dependency builds (docs/dependencies.md). */
import type { ErrorCode } from '../../protocol/index.js';

/** Wire enums: a version's dependency state, and what a running build is doing. */
export const DEPS_STATES = ['building', 'ready', 'failed'] as const;
export type DepsState = (typeof DEPS_STATES)[number];
export const BUILD_PHASES = ['queued', 'resolving', 'installing', 'compiling'] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number];

/** How builds run; every value comes from the platform's options (platform/config.ts, "dependencies"). */
export interface DepsOptions {
  /** `<stateDir>/deps`: sites at `<root>/<lock>/`, records in `.inputs/`, builds in `.staging/`. */
  root: string;
  /** The runtime's interpreter (the .venv's Python): deps are resolved for it and by it. */
  pythonPath: string;
  /** The runtime directory (deps_build.py, requirements.txt with the runtime's own pins). */
  runtimeDir: string;
  /** PATH for the builder process. */
  path: string;
  /**
   * The pool's sandbox mode: the builder gets the same kind of box (none with 'off'). `pod`: the
   * runtimes are Kubernetes Pods, which cannot see a site built here, so every build fails.
   */
  sandbox: 'root' | 'userns' | 'off' | 'pod';
  /** The builder's uid and gid in root mode (outside the function uid range). */
  builderUid: number;
  /**
   * User-namespace mode with the platform user's subordinate ids (poolmgr/host/subids.ts
   * `builderIdMap`): the build runs as that host uid, not the platform's, and its files are given
   * back to the platform once its box is gone (docs/adr/0147-what-round-17-left-open.md). Null: the
   * platform's uid (no such ids, or not user-namespace mode).
   */
  idmap?: { uid: number; gid: number; newuidmap: string; newgidmap: string } | null;
  /** Null: no index (only `findLinks`). */
  indexUrl: string | null;
  extraIndexUrls: string[];
  /** A local directory of wheels (bound read-only into the box). */
  findLinks: string | null;
  allowSdist: boolean;
  /** CA bundle for the index's TLS (used when the file exists). */
  caFile: string | null;
  /** More `host[:port]` the builder may reach besides the index hosts. */
  allowHosts: string[];
  timeoutMs: number;
  /** Largest site directory (and largest file, and the box's /tmp is twice this). */
  maxBytes: number;
  /** Address space of the builder's processes. */
  memoryBytes: number;
  /** Builds running at once; the others wait (phase `queued`). */
  concurrency: number;
  /**
   * A site no stored version uses, and a build record no version declares, is removed once it is
   * this old (FP_DEPS_KEEP_MS; controlplane/service/deps-collect.ts says when it looks).
   */
  keepMs: number;
  /**
   * Each build's cgroup leaves (root mode: poolmgr's Cgroups), limiting the whole build's memory and
   * tasks; null: the rlimits are the only limits (each process has the address-space limit).
   */
  cgroups: BuildCgroups | null;
}

/** Processes and threads of one build (its cgroup's pids.max and its RLIMIT_NPROC). */
export const BUILD_TASKS = 1024;

/** Where a build's cgroup leaves come from (poolmgr's Cgroups is one). */
export interface BuildCgroups {
  /** Makes the leaves of build `id` with `memoryBytes` for all of it; their cgroup.procs files (its keeper joins them). */
  forBuild(id: string, memoryBytes: number): string[];
  /** Removes the leaves once the build's processes are gone. */
  release(id: string): Promise<void>;
  /** Removes what is left (the platform stops). */
  close(): void;
}

export interface PackagePin {
  name: string;
  version: string;
  /** The top-level modules the installed distribution ships, as its build found them (absent: a build before 2026-12-06). */
  modules?: string[];
}

export interface DepsError {
  code: ErrorCode;
  message: string;
}

export interface BuildOutcome {
  ok: boolean;
  /** sha256 of the lock: the site's directory name. */
  lock: string | null;
  packages: PackagePin[];
  bytes: number;
  /** The site existed already (same lock from another function or version): nothing installed. */
  skipped: boolean;
  error: DepsError | null;
  /** The build's output (pip, the proxy's refusals), its last 64 KiB. */
  log: string;
}

/** A version's dependencies as the API shows them (`deps` of a version; null: it declares none). */
export interface DepsStatus {
  state: DepsState;
  /** sha256 of what was declared (the files) and the platform's build options. */
  key: string;
  /** While building. */
  phase: BuildPhase | null;
  /** sha256 of the lock (ready); the site is `<stateDir>/deps/<lock>/site`. Null when nothing needs installing. */
  lock: string | null;
  packages: PackagePin[];
  bytes: number;
  error: DepsError | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** What `.inputs/<key>.json` keeps of a finished build. */
export interface DepsRecord {
  state: 'ready' | 'failed';
  lock: string | null;
  packages: PackagePin[];
  bytes: number;
  error: DepsError | null;
  startedAt: number;
  finishedAt: number;
  log: string;
}
