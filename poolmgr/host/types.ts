/**
 * The port between the pool and wherever runtimes live. The pool never spawns a process itself:
 * it asks a RuntimeHost for a generic runtime, talks frames over the channel the host gives it,
 * and tells the host when a runtime takes on a function (`place`), must stop (`signal`), or is
 * done with (`destroy`). The local process host (process-host.ts) is the first adapter; a
 * Kubernetes host later implements the same verbs. Every adapter passes
 * test/conformance/runtime-host-suite.ts. Decisions: docs/adr/0010-sandbox.md.
 */
import type { Duplex } from 'node:stream';
import type { BoxSpec } from '../../protocol/index.js';
import type { StartsFailing } from '../start-streak.js';

/** How a host isolates runtimes: `root` (namespaces, one uid per function, cgroups when offered),
 * `userns` (the same box inside a user namespace, for a platform not running as root), or `off`
 * (no sandbox: only with the explicit --unsafe-no-sandbox). */
export type SandboxMode = 'root' | 'userns' | 'off';

/** What a host reports about its isolation (readyz, the CLI, the console). */
export interface Isolation {
  /** The process host's sandbox mode, or `pod`: each runtime is alone in its own Kubernetes Pod (the Pod is the box). */
  mode: SandboxMode | 'pod';
  /** 'v1' | 'v2' when per-instance memory/process limits and CPU weights use cgroups; null: rlimits only. */
  cgroups: 'v1' | 'v2' | null;
  /** True when the seccomp filter is applied (x86_64). */
  seccomp: boolean;
  /** True when a box's inet `bind()` is refused (cgroup BPF, runtime/fp_sandbox/bindguard.py): no host port can be taken. */
  bindGuard?: boolean;
  /** The function uid range (root mode), e.g. [600000, 699999]. */
  uidRange: [number, number] | null;
  /** Things an operator should know (a missing controller, an unsandboxed platform). */
  warnings: string[];
}

export interface RuntimeExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when the kernel killed the runtime (or a process of its box) for exceeding its memory limit. */
  oomKilled: boolean;
  /** What else the host knows of the end, for messages (e.g. `the Pod fp-x was evicted: …`). */
  reason?: string;
}

/** A runtime the host started. Opaque to the pool apart from these fields. */
export interface HostedRuntime {
  /** Unique within the host, e.g. `r17`. */
  readonly id: string;
  /**
   * The host process id of the process the host watches (0 when the spawn failed); a host whose
   * runtimes are not local processes gives a positive number unique within the host instead.
   */
  readonly pid: number;
}

/** What the pool knows, at spawn, of the function a runtime is spawned for (nothing for the generic pool). */
export interface SpawnHint {
  /** The function's memory limit (0 = none of its own): a host with sized runtimes picks one that fits. */
  memoryBytes: number;
  /** The runtime preset the function gets on (poolmgr/preset.ts); absent: 'default'. A host without it starts a default runtime. */
  preset?: 'default' | 'fastapi';
  /** The function's dependency site: a host does not start it on a preset whose packages the site ships. */
  depsDir?: string;
  /**
   * A ready template of the version (docs/adr/0030-function-templates.md): the host forks the
   * runtime from it, already specialized, when it can, and starts a generic one otherwise (the
   * runtime says which with `forked` in its `specialized` reply).
   */
  template?: HostedRuntime;
}

/** What the pool knows of the function a runtime is about to take on. */
export interface Placement {
  name: string;
  version: string;
  /** The version's code directory on the host. */
  dir: string;
  /** The version's dependency site directory on the host (under the host's deps root); absent: none. */
  depsDir?: string;
  /** The function's data socket directory on the host (under the host's data root); absent: none. */
  dataDir?: string;
  /** Memory the function may use on top of the runtime's baseline; 0 = no limit of its own. */
  memoryBytes: number;
  /** The function's instance ceiling (sizes per-uid limits). */
  maxInstances: number;
  /** The runtime becomes the version's template: its box gets the socket its forks connect to. */
  template?: boolean;
}

/** A runtime's resource use, read from its cgroups; null fields are not measured by this host. */
export interface RuntimeStats {
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  /** Processes and threads in the box now, and the limit. */
  tasks: number | null;
  tasksLimit: number | null;
  /**
   * The most processes and threads the box had at once (cgroup `pids.peak`; null on a kernel without
   * it, or unmeasured): under its limit, a refused fork was the platform's total's doing, not the box's.
   */
  tasksPeak: number | null;
  /** How often a fork or thread creation was refused at the limit (cumulative). */
  tasksLimitHits: number;
  /** How often the kernel killed a process of the box for memory (cumulative). */
  oomKills: number;
  /** CPU time used by the whole box, in nanoseconds. */
  cpuNs: number | null;
}

export interface RuntimeEvents {
  /** The watched process exited (the box is gone or going). Called once. */
  onExit(exit: RuntimeExit): void;
}

export interface RuntimeHost {
  readonly isolation: Isolation;
  /**
   * How long after the channel closes this host may take to report the runtime's exit (default
   * 100 ms): a remote host learns of an exit later than the connection drops.
   */
  readonly exitReportMs?: number;
  /** True when this host can make templates (Placement.template, SpawnHint.template); absent: it cannot. */
  readonly templates?: boolean;
  /** Starts a generic runtime. Never throws: a failed start is reported through onExit. */
  spawn(events: RuntimeEvents, hint?: SpawnHint): HostedRuntime;
  /**
   * The runtime's frame channel (both directions). A remote host may hand out a channel that
   * connects later: what is written before is sent once it does, and it closes if it never does.
   */
  connect(rt: HostedRuntime): Duplex;
  /**
   * The box for one function: what the runtime must apply before importing its code (sent with
   * `specialize`), or null when this host does not sandbox. A host whose runtimes cannot see the
   * platform's files writes the function's code to the channel here, ahead of `specialize`.
   * Throws a PlatformError when the function cannot be placed (its code is outside the host's
   * code roots, no uid left, no room for its memory).
   */
  place(rt: HostedRuntime, fn: Placement): BoxSpec | null;
  /** Delivers a signal to the runtime's whole box (SIGKILL ends every process in it). */
  signal(rt: HostedRuntime, signal: 'SIGKILL' | 'SIGTERM'): void;
  /**
   * A template that was dropped (hosts with `templates`): it forks no more, and the host ends it
   * once no instance forked from it is alive. A template is the function's own code: its word that
   * it will exit (`shutdown`) is not relied on.
   */
  retireTemplate?(rt: HostedRuntime): void;
  stats(rt: HostedRuntime): RuntimeStats;
  /**
   * Why the runtime cannot answer for a reason of the platform's, not its function's (its process
   * stopped), or null; asked when a load runs out of time (ADR 0233). Absent: never told.
   */
  stalled?(rt: HostedRuntime): string | null;
  /** Files the runtime's box holds (descriptors and mapped files), for the host's open-file table (poolmgr/file-table.ts); absent: not counted. */
  heldFiles?(rt: HostedRuntime): Promise<number>;
  /** The inodes of the sockets its box's processes hold, for the platform's own descriptors (poolmgr/platform-connections.ts); absent: not counted. */
  socketInodes?(rt: HostedRuntime): string[];
  /** The uid the runtime's box runs as when it is its function's alone (root mode), for the connections it keeps in flight (poolmgr/platform-connections.ts); absent or null: none. */
  boxUid?(rt: HostedRuntime): number | null;
  /** The last output the runtime wrote outside any call (stderr), for start-up failure messages; still told once it is gone and released. */
  lastOutput(rt: HostedRuntime): string;
  /** Kills whatever is left and releases what the runtime held (uid, cgroups). Idempotent. */
  destroy(rt: HostedRuntime): void;
  /** Kills every runtime and releases everything; resolves when all are gone. */
  close(): Promise<void>;
  /** The pool is shutting down: runtimes that end from now on did not fail to start (not counted nor logged). */
  stopping?(): void;
  /** How starting runtimes goes (/readyz, /metrics); absent: not told by this host. */
  startHealth?(): StartHealth;
}

/** How a host's runtime starts go (reliability round 8): failures so far, and each zygote's state. */
export interface StartHealth {
  /** Runtimes that ended before they took a function (not by the host's signal) since the host started. */
  startFailures: number;
  /** Per preset whose zygote was started: `ready` (forks), `starting` (or restarting), or `bypassed` (runtimes are spawned). */
  zygotes: Record<string, { state: 'ready' | 'starting' | 'bypassed'; bypasses: number }>;
  /** While starts fail in a row (the pool's StartStreak, ../start-streak.ts): since when, and how many. */
  failing?: StartsFailing;
}
