/**
 * The local process host: each runtime is a Python process tree on this machine, in its own box
 * (runtime/fp_sandbox: namespaces, a private filesystem view, seccomp; at specialize its own uid,
 * limits and cgroups), or a bare process when the sandbox is off. The frame channel is the
 * process's fd 3, a Unix socketpair made by libuv, so no other process can connect to it.
 * The watched process is the box's keeper: it exits only once everything in the box is gone,
 * and killing it takes the whole box down (runtime/fp_sandbox/keeper.py).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import { encodeFrame, escapeControls, FrameDecoder, FrameSkimmer, isOutOfFiles, OUT_OF_FILES_MESSAGE, PlatformError, spawnedWithoutFds, type BoxSpec } from '../../protocol/index.js';
import { heldFiles } from '../file-table.js';
import { socketInodes } from '../platform-connections.js';
import { withSpareDescriptor } from '../spare-descriptor.js';
import { bindGuard } from './bind-guard.js';
import { Cgroups, hostMemoryShare, hostSocketShare, hostTaskShare } from './cgroups.js';
import { FunctionOutput, OutputBudget, type OutputSink } from './function-output.js';
import { SpawnedOutput } from './spawned-output.js';
import { lastLine, StartFailures } from './start-failures.js';
import { reportedIdentity, startedAsChildOf, startedAt } from './host-pids.js';
import { stoppedWhy } from './box-procs.js';
import { findForkedChild, FORK_HELLO_TIMEOUT_MS, LateChannel, makeTemplateRoot, TemplateSocket, type ForkHello } from './templates.js';
import type { HostedRuntime, Isolation, Placement, RuntimeEvents, RuntimeHost, RuntimeStats, SandboxMode, SpawnHint, StartHealth } from './types.js';
import { functionUidRange, platformIdMap, type IdMap } from './subids.js';
import { UidClaims } from './uid-claims.js';
import { UidAllocator } from './uids.js';
import { Zygote, type Forked, type ZygotePreset } from './zygotes.js';

export interface ProcessHostOptions {
  pythonPath: string;
  runtimeEntry: string;
  /** The whole environment of a runtime process. */
  childEnv: Record<string, string>;
  /** Forward runtime stdout/stderr to ours. */
  debug: boolean;
  sandbox: SandboxMode;
  /** Directories holding function versions; a version outside them cannot be placed. */
  codeRoots: readonly string[];
  /** The directory holding dependency sites, bound hidden into every box like the code roots; null: none. */
  depsRoot?: string | null;
  dataRoot?: string | null;
  uidRange: readonly [number, number];
  /** Where the host's platforms claim the uids they give out (root mode; default /run/fastapi-platform/uids). */
  uidClaimsDir?: string;
  /** Size of each box's /tmp and /dev/shm (and the largest file a function may write). */
  tmpBytes: number;
  /** Processes and threads per instance. */
  tasksMax: number;
  /** Socket buffer bytes of all the boxes together (cgroup v1); unset: `hostSocketShare()`. */
  socketBytesTotal?: number;
  /** Memory of all the boxes together (the platform directory's memory limit); unset: `hostMemoryShare()`. */
  memoryBytesTotal?: number;
  /** Open files per process of a function. */
  openFiles: number;
  /** CPU weight of every function (v1 shares: 1024 = one fair share). */
  cpuShares: number;
  /**
   * Fork generic runtimes from zygotes (one per preset, runtime/zygote.py) instead of spawning an
   * interpreter each (default true; docs/adr/0019-zygotes.md). A spawn happens whenever the zygote
   * is not ready (starting, restarting, bypassed after repeated failures).
   */
  zygotes?: boolean;
  /** The zygote entry script (default: zygote.py next to runtimeEntry). */
  zygoteEntry?: string;
  /** Receives what runtimes write to stdout/stderr outside calls (debug forwarding, tests). */
  onOutput?: (rt: HostedRuntime, stream: 'stdout' | 'stderr', text: string) => void;
  /** Where a placed function's output outside calls goes, bounded (function-output.ts); default: our stderr. */
  functionOutput?: OutputSink;
  /** The operator's log (runtimes that could not start, zygotes bypassed); default: our stderr. */
  hostLog?: (line: string) => void;
}

const STDERR_TAIL_BYTES = 4096;

function writeStderr(line: string): void {
  process.stderr.write(line);
}
const NO_STATS: RuntimeStats = {
  memoryBytes: null, memoryLimitBytes: null, tasks: null, tasksLimit: null, tasksPeak: null, tasksLimitHits: 0, oomKills: 0, cpuNs: null,
};

interface Runtime extends HostedRuntime {
  /** The keeper's host pid: 0 until a forked keeper said it. */
  pid: number;
  /**
   * When the process `pid` named started (host-pids.ts `startedAt`), for a pid this host did not
   * start (a box's init, a template's child): it is signalled only while the pid still names it.
   */
  started: string | null;
  /** The spawned keeper; null for a forked one (its report channel tells its pid, output and end). */
  child: ChildProcess | null;
  report: Socket | null;
  /** A signal asked for before a forked keeper's pid was known, and the last one sent. */
  pendingSignal: NodeJS.Signals | null;
  lastSignal: NodeJS.Signals | null;
  /** The zygote preset it was forked from, or null when spawned. */
  preset: ZygotePreset | null;
  /** Which start of that zygote forked it (its failure counts against that start only). */
  zygoteStart?: number;
  socket: Duplex;
  stderrTail: string;
  settleGone?: () => void;
  /** The function it was placed for (its uid is held while it lives). */
  placedFn: string | null;
  /** place() ran for it: it took a function (an end before is a failed start). */
  placed: boolean;
  /** A zygote's fork killed before it said its pid: its channels were closed (signal()); a failed start all the same. */
  abandoned?: boolean;
  /** Its output outside calls, once placed (function-output.ts). */
  output?: FunctionOutput;
  alive: boolean;
  gone: Promise<void>;
  /** Set when it was placed as a template (docs/adr/0030-function-templates.md). */
  template: TemplateState | null;
  /** Set when it was forked from a template. */
  fork: ForkState | null;
}

interface TemplateState {
  socket: TemplateSocket;
  fn: Placement;
  /** Its children by fork id, until each ends. */
  forks: Map<number, Runtime>;
  /** A fork failed: no more forks from it (the pool specializes generic runtimes instead). */
  broken: boolean;
  /** Dropped by the pool: no more forks, and it is killed once `forks` is empty (retireTemplate). */
  retired: boolean;
}

interface ForkState {
  template: Runtime;
  id: number;
  nonce: string;
  report: (exitCode: number | null, signal: NodeJS.Signals | null) => void;
  timer: NodeJS.Timeout | undefined;
  /** Joined to the child's connection at its hello. */
  channel: LateChannel;
}

/** Why a fork ended when the pool killed it before its hello (not the template's fault). */
const KILLED_BEFORE_HELLO = 'killed before it connected';

/** How long close() waits for forked runtimes' report channels to close by themselves after SIGKILL. */
const REPORT_CLOSE_WAIT_MS = 2000;
/** A template report the host reads (`forkExit`) is a few dozen bytes: a longer frame is passed over. */
const REPORT_MAX_BYTES = 4096;
/** How long after a new function took a uid the next one is claimed ahead (UidAllocator; 20 ms as the pool's refills: ADR 0042). */
const UID_CLAIM_AHEAD_MS = 20;

export class ProcessHost implements RuntimeHost {
  readonly isolation: Isolation;
  private readonly runtimes = new Map<string, Runtime>();
  /** The operator's log's share of all functions' output outside their calls (per workspace and for all). */
  private readonly outputBudget = new OutputBudget();
  private readonly cgroups: Cgroups | null;
  private readonly uids: UidAllocator | null;
  private readonly codeRoots: string[];
  private readonly depsRoot: string | null;
  private readonly dataRoot: string | null;
  private readonly zygotes = new Map<ZygotePreset, Zygote>();
  /** Holds every template's socket directory; bound hidden into every box (null: no templates). */
  private readonly tplRoot: string | null;
  /** User-namespace mode: the subordinate host ids boxes run as, apart from the platform's (null: the platform's own). */
  private readonly idmap: IdMap | null;
  private seq = 0;
  private forkSeq = 0;
  private closing = false;
  /** Dependency sites found missing, each logged once (siteMissing). */
  private readonly missingSites = new Set<string>();
  readonly templates: boolean;
  /** Runtimes that ended before they took a function, for the operator's log (start-failures.ts). */
  private readonly startFailures: StartFailures;

  constructor(private readonly options: ProcessHostOptions) {
    const warnings: string[] = [];
    // Each root is bound into every box at spawn, so it must exist before functions are deployed.
    for (const root of options.codeRoots) mkdirSync(root, { recursive: true });
    this.codeRoots = options.codeRoots.map((root) => realpathOr(root));
    if (options.depsRoot) mkdirSync(options.depsRoot, { recursive: true });
    this.depsRoot = options.depsRoot ? realpathOr(options.depsRoot) : null;
    if (options.dataRoot) mkdirSync(options.dataRoot, { recursive: true, mode: 0o755 });
    this.dataRoot = options.dataRoot ? realpathOr(options.dataRoot) : null;
    let cgroups: Cgroups | null = null;
    let idmap: IdMap | null = null;
    if (options.sandbox === 'root') {
      // A pool refill starts up to its size at once: three leaves made ahead cover the default pool.
      const opened = Cgroups.open({
        tasksMax: options.tasksMax, totalTasksMax: hostTaskShare(), totalSocketBytes: options.socketBytesTotal ?? hostSocketShare(),
        totalMemoryBytes: options.memoryBytesTotal ?? hostMemoryShare(), cpuShares: options.cpuShares, leafStock: 3, guard: bindGuard(options.pythonPath, options.runtimeEntry),
      });
      cgroups = opened.cgroups;
      if (cgroups === null) warnings.push(`no per-instance cgroups (${opened.reason}): memory and process limits use rlimits only, and functions share the CPU without weights`);
      else if (cgroups.guard.dir === null) warnings.push(`functions can bind() host ports, though not listen on them (${cgroups.guard.reason}): one could hold a port another service then cannot take`);
      else if (opened.migrations?.fast === false) warnings.push(`moves into cgroups wait for an RCU grace period (${opened.migrations.how}): forked runtimes and cold starts on an empty pool take ~10 ms longer`);
    } else if (options.sandbox === 'userns') {
      const mapped = platformIdMap();
      idmap = mapped.map;
      if (idmap === null) {
        // The kernel's per-user counters are the platform's too: one function took every epoll watch
        // of the uid and libuv aborted the platform (red team round 17, docs/adr/0141-per-user-kernel-limits-in-user-namespace-mode.md).
        warnings.push(`not running as root: functions are boxed in user namespaces but share the platform's uid, and with it the kernel's per-user limits (any function can take every epoll watch of the uid, and the platform then aborts), as there is ${mapped.reason}: docs/adr/0141. Limits use rlimits only (no cgroups)`);
      } else {
        const own = functionUidRange(idmap);
        warnings.push(own !== null
          ? `not running as root: functions are boxed in user namespaces, each as a subordinate uid of its own (${idmap.uid + 2}-${idmap.uid + idmap.count - 1}), and limits use rlimits only (no cgroups)`
          : `not running as root: functions are boxed in user namespaces as subordinate uid ${idmap.uid} (all of them: apart from the platform, not from each other, as the subordinate range has fewer than 3 ids: docs/adr/0146), and limits use rlimits only (no cgroups)`);
      }
    } else {
      warnings.push('the sandbox is OFF (--unsafe-no-sandbox): every function can read and change the platform, its secrets and every other function');
    }
    this.cgroups = cgroups;
    let claims: UidClaims | null = null;
    if (options.sandbox === 'root') {
      try {
        claims = new UidClaims(options.uidClaimsDir);
      } catch (err) {
        warnings.push(`uids are not claimed host-wide (${(err as Error).message}): another platform on this host may give its functions the same uids; give each platform its own FP_SANDBOX_UIDS range`);
      }
    }
    // A uid per function: root mode's range, or (user-namespace mode) the inner uids mapped to the platform user's subordinate ids (ADR 0146).
    const ownUids = functionUidRange(idmap);
    this.uids = options.sandbox === 'root' ? new UidAllocator(options.uidRange[0], options.uidRange[1], claims, UID_CLAIM_AHEAD_MS)
      : ownUids !== null ? new UidAllocator(ownUids[0], ownUids[1], null, null, 'give the platform\'s user a larger range in /etc/subuid and /etc/subgid') : null;
    // Templates need a box to bind their socket into: sandboxed modes only.
    this.tplRoot = options.sandbox === 'off' ? null : makeTemplateRoot();
    this.idmap = idmap;
    // Under a subordinate uid too: the template's socket directory is then 0711 (TemplateSocket),
    // as the platform cannot give it to that uid (ADR 0147; ADR 0141 had turned templates off).
    this.templates = this.tplRoot !== null;
    this.isolation = Object.freeze({
      mode: options.sandbox,
      cgroups: cgroups?.version ?? null,
      seccomp: options.sandbox !== 'off' && process.arch === 'x64',
      bindGuard: cgroups?.guard.dir != null,
      uidRange: options.sandbox === 'root' ? [options.uidRange[0], options.uidRange[1]] as [number, number] : null,
      warnings,
    });
    this.startFailures = new StartFailures((line) => this.log(line));
    if (options.zygotes !== false) this.startZygote('default');
  }

  /**
   * Starts the zygote of `preset`: the default one with the host (the generic pool forks from it),
   * the others when a version of theirs is deployed or active at start (PoolManager.expect), or on
   * the first runtime asked of them (that one is spawned), so a platform without FastAPI apps
   * never pays for importing FastAPI.
   */
  private startZygote(preset: ZygotePreset): void {
    const entry = this.options.zygoteEntry ?? join(dirname(this.options.runtimeEntry), 'zygote.py');
    this.zygotes.set(preset, new Zygote({
      pythonPath: this.options.pythonPath, entry, preset, childEnv: this.options.childEnv, boxed: this.options.sandbox !== 'off',
      ...(this.options.debug ? { onOutput: (text: string) => process.stderr.write(`[zygote ${preset}] ${text}`) } : {}),
      onBypass: (why: string) => this.log(`process host: warning: the ${preset} zygote is bypassed: ${why}`),
    }));
  }

  /** Starts the zygotes of `presets` that are not running (none without zygotes, or once closed). */
  startZygotes(presets: readonly ZygotePreset[]): void {
    if (this.zygotes.size === 0) return;
    for (const preset of presets) if (!this.zygotes.has(preset)) this.startZygote(preset);
  }

  /** The zygote of `preset` (tests and bench: kill it, count its forks); undefined without zygotes. */
  zygote(preset: ZygotePreset): Zygote | undefined {
    return this.zygotes.get(preset);
  }

  /**
   * Resolves true once the zygotes of `presets` (started now if they were not) can fork, false
   * after `timeoutMs` or without zygotes.
   */
  async zygotesReady(timeoutMs = 10_000, presets: readonly ZygotePreset[] = ['default']): Promise<boolean> {
    if (this.zygotes.size === 0) return false;
    this.startZygotes(presets);
    const ready = await Promise.all(presets.map((p) => this.zygotes.get(p)!.whenReady(timeoutMs)));
    return ready.every(Boolean);
  }

  /** How a runtime is started for `hint`: the zygote of its preset when ready and its dependency site does not ship one of the preset's packages, else the default zygote, else null (spawn). */
  private zygoteFor(hint: SpawnHint | undefined): Zygote | null {
    if (this.zygotes.size === 0) return null;
    const preset = hint?.preset ?? 'default';
    if (!this.zygotes.has(preset)) this.startZygote(preset);
    const wanted = this.zygotes.get(preset);
    if (wanted?.ready === true && !wanted.shadowedBy(hint?.depsDir)) return wanted;
    const fallback = this.zygotes.get('default');
    return fallback?.ready === true ? fallback : null;
  }

  /**
   * Whether a runtime for `hint` would be forked now by its own preset's zygote (ready, its site
   * shadowing none of the preset's packages). When not (zygotes off, that zygote starting or bypassed,
   * a shadowing site), it would come from the default zygote or a fresh interpreter: a generic
   * runtime of the pool, made the same way ahead, serves it as well and sooner (the pool asks).
   */
  forksOwnPreset(hint: SpawnHint): boolean {
    const zygote = this.zygoteFor(hint);
    return zygote !== null && zygote === this.zygotes.get(hint.preset ?? 'default');
  }

  spawn(events: RuntimeEvents, hint?: SpawnHint): HostedRuntime {
    const fromTemplate = hint?.template !== undefined ? this.forkFrom(hint.template, events) : null;
    if (fromTemplate !== null) return fromTemplate;
    const id = `r${++this.seq}`;
    let setupError: Error | null = null;
    let box: Record<string, unknown> | null = null;
    if (this.options.sandbox !== 'off') {
      let cg = null;
      try {
        cg = this.cgroups?.forRuntime(id) ?? null;
      } catch (err) {
        setupError = err as Error;
      }
      box = {
        mode: this.options.sandbox, codeRoots: this.codeRoots, tmpBytes: this.options.tmpBytes,
        ...(this.depsRoot !== null ? { depsRoot: this.depsRoot } : {}),
        ...(this.dataRoot !== null ? { dataRoot: this.dataRoot } : {}),
        ...(this.tplRoot !== null ? { tplRoot: this.tplRoot } : {}),
        ...(this.idmap !== null ? { idmap: this.idmap } : {}),
        cgroupJoin: cg?.join ?? [], cgroupBinds: cg?.binds ?? {},
      };
    }
    const zygote = setupError === null ? this.zygoteFor(hint) : null;
    const forked = zygote?.fork(id, box) ?? null;
    if (forked !== null) return this.adopt(id, forked, zygote!.preset, events);
    const args = ['-I', this.options.runtimeEntry, '--fd', '3'];
    if (box !== null) args.push('--box', JSON.stringify(box));
    const child = spawn(this.options.pythonPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: this.options.childEnv });
    // Out of file descriptors: no pipes, and the 'error' below reports the failed start (it crashed the platform: spawn-failed.ts).
    const noFds = spawnedWithoutFds(child);
    const rt = this.track(id, child, null, noFds ? new PassThrough() : child.stdio[3] as unknown as Socket, null);
    if (!noFds) {
      // Read under the budget a forked box's init keeps (spawned-output.ts).
      const output = new SpawnedOutput({
        out: (stream, text) => {
          this.output(rt, stream, text);
          if (this.options.debug) debugOutput(`[runtime ${rt.pid} ${stream}] `, text);
        },
        dropped: (bytes) => this.functionOutput(rt)?.dropped(bytes),
      });
      output.read(child.stdout, 'stdout');
      output.read(child.stderr, 'stderr');
    }
    const report = this.reporter(rt, events);
    child.on('exit', report);
    child.on('error', (err) => {
      // Only a failed spawn matters here; a failed kill() of a dead process is not news.
      if (rt.pid !== 0) return;
      rt.stderrTail = isOutOfFiles(err) ? OUT_OF_FILES_MESSAGE : `could not start ${this.options.pythonPath}: ${err.message}`;
      report(null, null);
    });
    if (setupError !== null) {
      rt.stderrTail = `could not create the runtime's cgroups: ${setupError.message}`;
      child.kill('SIGKILL');
    }
    return rt;
  }

  /** A runtime forked by a zygote: its keeper reports pid, output and exit on `forked.report` (runtime/fp_sandbox/forked.py). */
  private adopt(id: string, forked: Forked, preset: ZygotePreset, events: RuntimeEvents): Runtime {
    const rt = this.track(id, null, forked.report, forked.data, preset);
    rt.zygoteStart = forked.start;
    const report = this.reporter(rt, events);
    const decoder = new FrameDecoder();
    let exit: [number | null, NodeJS.Signals | null] | null = null;
    // The pid comes on the report socket, the hello on the data socket: two sockets, no order between them.
    // The data socket stays paused until the pid is known (or the keeper is gone), so a hello implies a pid.
    forked.data.pause();
    forked.report.on('data', (chunk: Buffer) => {
      let messages: ForkReport[];
      try {
        messages = decoder.push(chunk) as ForkReport[];
      } catch {
        forked.report.destroy();
        return;
      }
      for (const m of messages) {
        const self = m.t === 'pid' && rt.pid === 0 && m.stat instanceof Uint8Array
          ? reportedIdentity(Buffer.from(m.stat.buffer, m.stat.byteOffset, m.stat.byteLength).toString('latin1'), m.pid) : null;
        if (self !== null) {
          // Its pid and start time as the reporter read them of itself (forked.py `own_stat`): no
          // /proc read here, on the ready path, and none a pid freed and taken meanwhile could answer
          // (ADR 0243; the getpid() it gave too where /proc is another namespace's: reportedIdentity).
          rt.pid = self.pid;
          rt.started = self.start;
          forked.data.resume();
          if (rt.pendingSignal !== null) this.signal(rt, rt.pendingSignal);
        } else if (m.t === 'out' && m.b instanceof Uint8Array) {
          const stream = m.s === 1 ? 'stdout' : 'stderr';
          const text = Buffer.from(m.b).toString('utf8');
          this.output(rt, stream, text);
          if (this.options.debug) debugOutput(`[runtime ${rt.pid} ${stream}] `, text);
        } else if (m.t === 'dropped' && Number.isInteger(m.n) && m.n > 0) {
          // The box's init dropped this much output past its own budget (runtime/fp_sandbox/init.c).
          this.functionOutput(rt)?.dropped(m.n);
        } else if (m.t === 'exit') {
          exit = [typeof m.code === 'number' ? m.code : null, typeof m.signal === 'string' ? m.signal as NodeJS.Signals : null];
        }
      }
    });
    forked.report.on('error', () => {});
    forked.data.on('error', () => {});
    // No exit frame: the keeper itself was killed (by us: the signal we sent), or never forked (its zygote died first).
    forked.report.on('close', () => {
      forked.data.resume();
      if (exit === null && rt.pid === 0) rt.stderrTail ||= `the ${preset} zygote closed the fork request before forking`;
      report(...(exit ?? [null, rt.lastSignal]));
    });
    return rt;
  }

  private track(id: string, child: ChildProcess | null, report: Socket | null, socket: Duplex, preset: ZygotePreset | null): Runtime {
    let settleGone!: () => void;
    const rt: Runtime = {
      id, pid: child?.pid ?? 0, started: null, child, report, socket, preset, pendingSignal: null, lastSignal: null,
      stderrTail: '', placedFn: null, placed: false, alive: true, template: null, fork: null,
      gone: new Promise<void>((resolve) => { settleGone = resolve; }),
    };
    rt.settleGone = settleGone;
    this.runtimes.set(id, rt);
    return rt;
  }

  private output(rt: Runtime, stream: 'stdout' | 'stderr', text: string): void {
    if (stream === 'stderr') rt.stderrTail = text.length >= STDERR_TAIL_BYTES ? text.slice(-STDERR_TAIL_BYTES) : (rt.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    this.options.onOutput?.(rt, stream, text);
    this.functionOutput(rt)?.write(stream, text);
  }

  /** Where a placed runtime's output outside its calls goes; null before it is placed, and with FP_DEBUG (every runtime's output is forwarded whole already, prefixed by its pid). */
  private functionOutput(rt: Runtime): FunctionOutput | null {
    if (rt.placedFn === null || this.options.debug) return null;
    return rt.output ??= new FunctionOutput(rt.placedFn, rt.pid, this.options.functionOutput ?? writeStderr, Date.now, this.outputBudget);
  }

  /** The one exit report of `rt` (the first call wins). */
  private reporter(rt: Runtime, events: RuntimeEvents): (exitCode: number | null, signal: NodeJS.Signals | null) => void {
    let reported = false;
    return (exitCode, signal) => {
      if (reported) return;
      reported = true;
      rt.alive = false;
      this.startFailed(rt, exitCode, signal);
      const oomKilled = this.cgroups !== null && this.cgroups.stats(rt.id).oomKills > 0;
      events.onExit({ exitCode, signal, oomKilled });
      void this.release(rt).then(rt.settleGone);
    };
  }

  private log(line: string): void {
    if (this.options.hostLog !== undefined) this.options.hostLog(line);
    else process.stderr.write(`${line}\n`);
  }

  /**
   * A runtime that ended before it took a function, neither by our signal nor by a clean exit (a
   * graceful shutdown of a pool runtime exits 0): a failed start. The operator's log says so (one
   * line per cause, then counts), and the zygote that forked it counts it (FORK_FAILURES_TO_BYPASS).
   * A template's fork is not counted here: its template is the function's own code (forkFailed).
   */
  private startFailed(rt: Runtime, exitCode: number | null, signal: NodeJS.Signals | null): void {
    // A fork abandoned before it said its pid was killed by us, but failed first: its zygote may be stuck.
    if (rt.placed || rt.fork !== null || (rt.lastSignal !== null && rt.abandoned !== true) || exitCode === 0 || this.closing) return;
    this.startFailures.note(rt.stderrTail, exitCode !== null ? `exit code ${exitCode}` : signal !== null ? `signal ${signal}` : 'no exit status');
    if (rt.preset !== null) this.zygotes.get(rt.preset)?.forkFailed(lastLine(rt.stderrTail), rt.zygoteStart);
  }

  stopping(): void {
    this.closing = true;
  }

  /**
   * A version's dependency site gone from the host under it (removed by hand: a cleanup of the
   * deps folder). Its cold starts failed FUNCTION_INIT_FAILED (the function's "No module named …",
   * 502, its owner told to read the run record) and the operator was told nothing (reliability
   * round 8). Now: RUNTIME_UNAVAILABLE saying what is missing and what rebuilds it, and one line
   * in the operator's log per site. Warm instances keep serving (their box holds the site).
   */
  private siteMissing(fn: Placement): PlatformError {
    // The host path goes to the operator's log only: a caller's answer names no host path.
    const message = `the dependency site of ${fn.name} version ${fn.version} is missing from this host`;
    const fix = 'restart the platform, which builds it again before it serves the version';
    if (!this.missingSites.has(fn.depsDir!) && this.missingSites.size < 64) {
      this.missingSites.add(fn.depsDir!);
      this.log(`process host: ${message} (${fn.depsDir}; removed by hand?): ${fix}`);
    }
    return new PlatformError('RUNTIME_UNAVAILABLE', `${message}: ${fix}`, { function: fn.name });
  }

  startHealth(): StartHealth {
    const zygotes: StartHealth['zygotes'] = {};
    for (const [preset, z] of this.zygotes) zygotes[preset] = { state: z.bypassed ? 'bypassed' : z.ready ? 'ready' : 'starting', bypasses: z.bypasses };
    return { startFailures: this.startFailures.total, zygotes };
  }

  connect(rt: HostedRuntime): Duplex {
    return this.get(rt).socket;
  }

  place(hosted: HostedRuntime, fn: Placement): BoxSpec | null {
    const rt = this.get(hosted);
    if (!rt.placed) {
      rt.placed = true;
      if (rt.preset !== null) this.zygotes.get(rt.preset)?.forkPlaced();
    }
    if (this.options.sandbox === 'off') return null;
    if (rt.fork !== null) return this.placeFork(rt, fn);
    const { root, dir } = this.locate(fn.dir);
    const depsDir = fn.depsDir === undefined ? undefined : this.locateDeps(fn.depsDir);
    if (fn.depsDir !== undefined && !existsSync(fn.depsDir)) throw this.siteMissing(fn);
    const dataDir = fn.dataDir === undefined ? undefined : this.locateUnder(this.dataRoot, fn.dataDir, 'data socket');
    let uid = 1000;
    if (this.uids !== null) {
      if (rt.placedFn !== null) throw new PlatformError('INTERNAL_ERROR', `runtime ${rt.id} was already placed`);
      uid = this.uids.acquire(fn.name);
      rt.placedFn = fn.name;
    }
    const { tasksMax, tmpBytes, openFiles } = this.options;
    let templateDir: string | undefined;
    if (fn.template === true && this.tplRoot !== null) {
      const socket = new TemplateSocket(this.tplRoot, rt.id, this.options.sandbox === 'root' ? uid : null, this.idmap !== null);
      rt.template = { socket, fn, forks: new Map(), broken: false, retired: false };
      this.watchTemplate(rt);
      templateDir = socket.rel;
    }
    return {
      codeRoot: root, codeDir: dir, uid, gid: uid, hostname: fn.name.slice(0, 63),
      rlimits: {
        nofile: openFiles,
        // Per uid: one uid serves every instance of the function (root mode); per box in a user namespace.
        nproc: this.options.sandbox === 'root' ? tasksMax * Math.max(1, fn.maxInstances) : tasksMax,
        fsize: tmpBytes,
        core: 0,
      },
      cgroup: this.cgroups?.place(rt.id, fn.name, fn.memoryBytes) ?? [],
      ...(depsDir !== undefined ? { depsDir } : {}),
      ...(dataDir !== undefined ? { dataDir } : {}),
      // A writable working directory (an overlay over the code) where the function has a uid of its own to own it.
      ...(this.options.sandbox === 'root' ? { workBytes: tmpBytes } : {}),
      ...(templateDir !== undefined ? { templateDir } : {}),
    };
  }

  // ---- templates (docs/adr/0030-function-templates.md) ----

  /** A forked child takes on its template's version and nothing else; its uid is counted like any instance's. Its box is its template's (the reply is not used). */
  private placeFork(rt: Runtime, fn: Placement): BoxSpec {
    const of = rt.fork!.template.template?.fn;
    if (of === undefined || of.name !== fn.name || of.version !== fn.version || of.dir !== fn.dir) {
      throw new PlatformError('INTERNAL_ERROR', `runtime ${rt.id} was forked from a template of another version`);
    }
    let uid = 1000;
    if (this.uids !== null) {
      if (rt.placedFn !== null) throw new PlatformError('INTERNAL_ERROR', `runtime ${rt.id} was already placed`);
      uid = this.uids.acquire(fn.name);
      rt.placedFn = fn.name;
    }
    return { codeRoot: 0, codeDir: '', uid, gid: uid, hostname: '', rlimits: {}, cgroup: [] };
  }

  /** Asks `template` to fork a child; null when it cannot (gone, broken, not a template): the caller starts a generic runtime. */
  private forkFrom(template: HostedRuntime, events: RuntimeEvents): Runtime | null {
    const tpl = this.runtimes.get(template.id);
    if (tpl === undefined || !tpl.alive || tpl.template === null || tpl.template.broken || tpl.template.retired) return null;
    const id = `r${++this.seq}`;
    const channel = new LateChannel();
    const rt = this.track(id, null, null, channel, null);
    const report = this.reporter(rt, events);
    const fork: ForkState = { template: tpl, id: ++this.forkSeq, nonce: randomBytes(16).toString('hex'), report, timer: undefined, channel };
    rt.fork = fork;
    tpl.template.forks.set(fork.id, rt);
    tpl.template.socket.expect(fork.nonce, (sock, first, hello) => this.adoptFork(rt, sock, first, hello));
    fork.timer = setTimeout(() => this.forkFailed(rt, `the template did not fork within ${FORK_HELLO_TIMEOUT_MS} ms`), FORK_HELLO_TIMEOUT_MS);
    tpl.socket.write(encodeFrame({ t: 'fork', id: fork.id, nonce: fork.nonce }));
    return rt;
  }

  /** The child said hello on its template's socket: into its own cgroup leaves, then its channel is the pool's. */
  private adoptFork(rt: Runtime, sock: Socket, first: Buffer, hello: ForkHello): void {
    const fork = rt.fork!;
    clearTimeout(fork.timer);
    if (!rt.alive) {
      sock.destroy();
      return;
    }
    if (hello.early !== undefined) {
      // Only a zygote's fork says its hello before its box's set-up (ADR 0127); a template's child
      // is set up when it says it. One that claims otherwise is the function's code (the template
      // imported it): believed, its own failures at its load counted as a runtime that was never
      // given the function, RUNTIME_UNAVAILABLE with no class, and its calls went to fork after
      // fork (red team round 16).
      sock.destroy();
      this.forkFailed(rt, 'the forked instance said an early hello, which only a zygote\'s fork says');
      return;
    }
    const found = findForkedChild(fork.template.pid, hello.pid);
    // Another instance of the template already answers for that process: a child that names its sibling is refused.
    if (found === null || [...this.runtimes.values()].some((other) => other !== rt && other.alive && other.pid === found.pid)) {
      sock.destroy(); // the child ends at end of stream
      this.forkFailed(rt, `no process ${hello.pid} in the template's box`);
      return;
    }
    const pid = found.pid;
    // Its start time read here (the child is the function's code: no stat line of its own is
    // believed, ADR 0243), in the line that says it is still the template's child.
    const started = startedAsChildOf(pid, found.template);
    if (started === null) {
      sock.destroy();
      this.forkFailed(rt, 'the forked instance ended before its hello');
      return;
    }
    rt.pid = pid;
    rt.started = started;
    if (this.cgroups !== null) {
      try {
        this.cgroups.adopt(rt.id, pid, fork.template.template!.fn.name, fork.template.template!.fn.memoryBytes);
      } catch (err) {
        killQuietly(pid);
        sock.destroy();
        this.forkFailed(rt, `could not move the forked instance into its cgroups: ${(err as Error).message}`);
        return;
      }
    }
    fork.channel.attach(sock, first);
    if (rt.pendingSignal !== null) this.signal(rt, rt.pendingSignal);
  }

  /** A fork that went wrong: the child's runtime ends before hello (the pool falls back) and its template forks no more. */
  private forkFailed(rt: Runtime, why: string): void {
    const fork = rt.fork!;
    const tpl = fork.template.template;
    clearTimeout(fork.timer);
    rt.stderrTail ||= why;
    fork.channel.destroy();
    fork.report(null, rt.lastSignal);
    if (tpl === null) return;
    tpl.socket.forget(fork.nonce); // a late connection with its nonce is closed
    tpl.forks.delete(fork.id);
    if (!fork.template.alive || why === KILLED_BEFORE_HELLO) return;
    tpl.broken = true;
    // Nothing it forked is alive: it goes now (the pool makes no other for the version); else when dropped.
    if (tpl.forks.size === 0) this.signal(fork.template, 'SIGKILL');
  }

  /**
   * Reads a template's own reports (`forkExit`) beside the pool, which ignores them. Only its
   * small frames: the pool holds a large one, counted (FrameSkimmer; the template's import may
   * leave a signal handler that writes an unfinished one on its channel).
   */
  private watchTemplate(tpl: Runtime): void {
    const decoder = new FrameSkimmer(REPORT_MAX_BYTES);
    tpl.socket.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(chunk);
      } catch {
        return; // the pool's own decoder fails too and kills it
      }
      for (const m of messages as { t?: unknown; id?: unknown; code?: unknown; signal?: unknown; refused?: unknown }[]) {
        if (m?.t !== 'forkExit' || typeof m.id !== 'number') continue;
        const child = tpl.template?.forks.get(m.id);
        if (child === undefined) continue;
        tpl.template!.forks.delete(m.id);
        if (m.refused === true || child.pid === 0) {
          this.forkFailed(child, m.refused === true ? 'the template refused to fork' : 'the forked instance ended before its hello');
        } else {
          child.fork!.report(typeof m.code === 'number' ? m.code : null, typeof m.signal === 'string' ? m.signal as NodeJS.Signals : null);
        }
      }
    });
  }

  retireTemplate(rt: HostedRuntime): void {
    const tpl = this.runtimes.get(rt.id);
    if (tpl === undefined || tpl.template === null) return;
    tpl.template.retired = true;
    this.endRetired(tpl);
  }

  /** A retired template with no fork left goes now: it need not exit by itself (the function's code may keep it). */
  private endRetired(tpl: Runtime): void {
    if (tpl.template?.retired === true && tpl.template.forks.size === 0) this.signal(tpl, 'SIGKILL');
  }

  signal(rt: HostedRuntime, signal: NodeJS.Signals): void {
    // Its reads of /proc (the pid's start time, the leaf's pids) need a descriptor: at the platform's
    // open-files limit they found none and nothing was signalled (red team round 50).
    withSpareDescriptor(() => this.signalNow(rt, signal));
  }

  private signalNow(rt: HostedRuntime, signal: NodeJS.Signals): void {
    const r = this.runtimes.get(rt.id);
    if (r === undefined || !r.alive) return;
    r.lastSignal = signal;
    if (r.child !== null) {
      r.child.kill(signal);
      return;
    }
    if (r.fork !== null && r.pid === 0 && signal === 'SIGKILL') {
      this.forkFailed(r, KILLED_BEFORE_HELLO);
      return;
    }
    if (r.pid === 0) {
      r.pendingSignal = signal;
      // A zygote's fork that never said its pid (it hangs before: a blocked step of its box, an
      // at-fork hook) could not be killed, and its end never came: the call that waited for it hung
      // for good, past the hello timeout (reliability round 8). Its channels are closed now, which
      // is its end here; the process, if it ever goes on, finds them closed and exits.
      if (signal === 'SIGKILL' && r.report !== null) {
        r.abandoned = true;
        r.stderrTail ||= `the ${r.preset ?? 'default'} zygote's fork did not report its pid, and was abandoned`;
        r.socket.destroy();
        r.report.destroy();
      }
      return;
    }
    // Not our child: its pid may have been freed and taken by any process of the host (a forked
    // child is reaped by its template, the function's own code, which need not say so).
    const same = r.started !== null && startedAt(r.pid) === r.started;
    if (same) {
      try {
        process.kill(r.pid, signal);
      } catch {
        // already gone: its report channel is closing
      }
    }
    if (r.fork !== null && (signal === 'SIGKILL' || !same)) this.forkEnded(r);
  }

  /**
   * A forked child killed, or found gone: its end is known here, whatever its template says (a
   * template is the function's own code and may never report it). What is left in its leaf is
   * killed and its channel closed (another process of the box may hold a copy of it).
   */
  private forkEnded(r: Runtime): void {
    if (this.cgroups !== null) for (const pid of this.cgroups.pids(r.id)) killQuietly(pid);
    r.fork!.channel.destroy();
    r.fork!.report(null, r.lastSignal);
  }

  async heldFiles(rt: HostedRuntime): Promise<number> {
    return await heldFiles(this.boxPids(rt));
  }

  socketInodes(rt: HostedRuntime): string[] {
    return socketInodes(this.boxPids(rt));
  }

  boxUid(rt: HostedRuntime): number | null {
    // Under a subordinate uid the allocator's is the uid inside the box, not the host's.
    const fn = this.runtimes.get(rt.id)?.placedFn;
    return this.options.sandbox !== 'root' || fn === null || fn === undefined ? null : this.uids?.uidOf(fn) ?? null;
  }

  /** Every process of the box when its cgroup leaf tells them; the runtime alone otherwise. */
  private boxPids(rt: HostedRuntime): number[] {
    return this.cgroups?.pids(rt.id) ?? (rt.pid > 0 ? [rt.pid] : []);
  }

  stalled(rt: HostedRuntime): string | null {
    const r = this.runtimes.get(rt.id);
    // A pid this host did not start is read only while it still names the same process.
    if (r === undefined || !r.alive || r.pid === 0 || (r.started !== null && startedAt(r.pid) !== r.started)) return null;
    return stoppedWhy(r.pid);
  }

  stats(rt: HostedRuntime): RuntimeStats {
    return this.cgroups?.stats(rt.id) ?? NO_STATS;
  }

  lastOutput(rt: HostedRuntime): string {
    // The handle is the runtime's own record (spawn returns it): its last output outlives release(),
    // which may end before the pool asks (its exit and its socket's close come in either order).
    return this.runtimes.get(rt.id)?.stderrTail ?? (rt as Partial<Runtime>).stderrTail ?? '';
  }

  destroy(rt: HostedRuntime): void {
    this.signal(rt, 'SIGKILL');
  }

  async close(): Promise<void> {
    this.closing = true;
    this.startFailures.close();
    const zygotes = [...this.zygotes.values()];
    this.zygotes.clear(); // and no new ones: zygoteFor() sees none
    await Promise.all(zygotes.map((zygote) => zygote.close()));
    const all = [...this.runtimes.values()];
    for (const rt of all) this.signal(rt, 'SIGKILL');
    const gone = Promise.all(all.map((rt) => rt.gone));
    // A forked runtime's end is its report channel closing; a channel still open once its keeper
    // was SIGKILLed (and the zygotes ended) is closed from here, which reports the end.
    const timer = setTimeout(() => { for (const rt of all) rt.report?.destroy(); }, REPORT_CLOSE_WAIT_MS);
    timer.unref();
    await gone;
    clearTimeout(timer);
    this.uids?.close();
    this.cgroups?.close();
    if (this.tplRoot !== null) rmSync(this.tplRoot, { recursive: true, force: true });
  }

  /** Which code root holds `dir`, and the path under it. */
  private locate(dir: string): { root: number; dir: string } {
    // The path as given first, resolved only if it is not under a root: a realpath on every cold
    // start (~40 µs, bench/README.md 3k) for a directory the platform wrote under its root.
    for (let pass = 0; pass < 2; pass++) {
      const candidate = pass === 0 ? dir : realpathOr(dir);
      for (let i = 0; i < this.codeRoots.length; i++) {
        const rel = relative(this.codeRoots[i]!, candidate);
        if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return { root: i, dir: rel.split(sep).join('/') };
      }
    }
    throw new PlatformError('RUNTIME_UNAVAILABLE', `the function's code directory ${dir} is outside the sandbox's code roots (${this.codeRoots.join(', ')})`);
  }

  /** `depsDir` relative to the deps root (bound hidden at /.fp/deps; enter.py binds it at /deps). */
  private locateDeps(depsDir: string): string {
    return this.locateUnder(this.depsRoot, depsDir, 'dependency');
  }

  /** `dir` relative to `root` (`/`-separated), or RUNTIME_UNAVAILABLE if it is not under it. */
  private locateUnder(root: string | null, dir: string, what: string): string {
    for (let pass = 0; pass < 2; pass++) { // as locate: resolved only if needed
      const candidate = pass === 0 ? dir : realpathOr(dir);
      const rel = root === null ? '' : relative(root, candidate);
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
    }
    throw new PlatformError('RUNTIME_UNAVAILABLE', `the function's ${what} directory ${dir} is outside the sandbox's ${what === 'dependency' ? 'deps' : 'data'} root (${root ?? 'none'})`);
  }

  private get(rt: HostedRuntime): Runtime {
    const r = this.runtimes.get(rt.id);
    if (r === undefined) throw new PlatformError('INTERNAL_ERROR', `unknown runtime ${rt.id}`);
    return r;
  }

  private async release(rt: Runtime): Promise<void> {
    if (rt.placedFn !== null) this.uids?.release(rt.placedFn);
    rt.placedFn = null;
    if (rt.fork !== null) {
      clearTimeout(rt.fork.timer);
      rt.fork.template.template?.forks.delete(rt.fork.id);
      // What the child started and left behind in its leaf goes with it.
      if (this.cgroups !== null) for (const pid of this.cgroups.pids(rt.id)) killQuietly(pid);
      this.endRetired(rt.fork.template);
    }
    if (rt.template !== null) {
      // Its box is gone, and with it every child it forked.
      rt.template.socket.close();
      for (const child of [...rt.template.forks.values()]) {
        child.stderrTail ||= 'its template ended';
        child.fork!.report(null, 'SIGKILL');
      }
      rt.template.forks.clear();
    }
    await this.cgroups?.release(rt.id);
    this.runtimes.delete(rt.id);
  }
}

/** What a forked keeper reports (runtime/fp_sandbox/forked.py). */
type ForkReport =
  | { t: 'pid'; stat: Uint8Array; pid?: number }
  | { t: 'out'; s: number; b: Uint8Array }
  | { t: 'dropped'; n: number }
  | { t: 'exit'; code: number | null; signal: string | null };

/** True when the dependency site ships a package the preset imported ahead (its pinned version must win). */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Debug mode: a runtime's output on our stderr, each line prefixed; no terminal escape reaches the operator (docs/security.md, "The runtime's channel"). */
function debugOutput(prefix: string, text: string): void {
  process.stderr.write(prefix + escapeControls(text).replace(/\n(?=.)/g, `\n${prefix}`));
}
