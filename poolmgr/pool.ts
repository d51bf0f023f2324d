/**
 * The pool manager: generic runtimes kept ready, specialized instances per function version,
 * and the lease of a slot for each call. Described in docs/poolmgr.md.
 *
 * Verbs
 * - acquire:    find a slot for a call (lease), else queue it, else refuse it (FUNCTION_BUSY).
 * - specialize: bind a generic (or freshly spawned) runtime to one function version, for life.
 * - release:    a call ended; its slot goes to the head of the version's queue, or stays free.
 * - discard:    kill an instance's process; it never serves again and its calls fail with a code.
 * - drain:      instances of a function at other versions take no new calls and shut down idle.
 *
 * Invariants
 * 1. A generic runtime that is taken leaves the pool at once, and a refill starts at once.
 * 2. A process that failed (or timed out) specializing is killed, never reused.
 * 3. A version never has more than `maxInstances` instances taking calls, specializing included;
 *    the functions of one workspace never have more than its cap (`setWorkspaceInstances`) nor
 *    more than `maxInstancesTotal`; the platform never more than `maxInstancesTotal` plus its
 *    reserve (an eighth of it, at least 1), places that only the other workspaces can take. At a
 *    cap, the least recently used idle instance of another function within it is stopped to make
 *    room.
 * 4. An instance never runs more than `concurrency` calls, calls waiting for its specialization
 *    included: a call that finds a specializing instance with a free slot waits for it instead of
 *    specializing another one. Only when the version is at maxInstances with every slot taken
 *    may a ready instance hold up to `pipelineDepth` more calls, sent but not started; they
 *    start in order as slots free, and go back to the pool if the instance dies first.
 *    A new call that finds no free slot while an instance only finishes (its calls answered, a
 *    teardown or background task runs) waits up to `finishingWaitMs` for that slot before a new
 *    instance is started, as long as fewer calls wait so than such slots exist
 *    (docs/adr/0045-finishing-calls.md).
 * 5. The wait queue of a version is FIFO and bounded by `maxQueue`; a call past the bound fails at
 *    once with FUNCTION_BUSY; a queued call leaves on abort or after `timeoutMs` (FUNCTION_BUSY).
 * 6. A call that passes `timeoutMs` fails with FUNCTION_TIMEOUT and its process is killed; a
 *    process that dies, breaks the protocol or reports a fatal error is discarded, and every call
 *    it held fails with a code. Calls on other instances are never touched.
 * 7. `invoke` never rejects: every outcome is an InvocationResult.
 * 8. Every process ever spawned is in `processes` until it has exited; close() waits for all,
 *    and for the bytecode compiler process behind prepare().
 */
import { isOutOfFiles, oneLogLine, OUT_OF_FILES_MESSAGE, PlatformError, workspaceOfKey, type LogTap, type StartCheck, type WireEvent } from '../protocol/index.js';
import { Call } from './call.js';
import { CrashBudgets, DEFAULT_CRASH_BUDGET, type CrashHold } from './crash-budget.js';
import { resolveSandbox, type PoolConfig } from './config.js';
import type { FleetView } from './fleet.js';
import { FILE_TABLE_CHECK_MS, fileTable, overFileShare } from './file-table.js';
import { connectionsHeld, platformDescriptors, platformPeers } from './platform-connections.js';
import { holdSpareDescriptor, withSpareDescriptor } from './spare-descriptor.js';
import { GenericPool } from './generic-pool.js';
import { FunctionGroup, keyOf } from './group.js';
import { ProcessHost } from './host/process-host.js';
import type { Isolation, RuntimeHost, SpawnHint, StartHealth } from './host/types.js';
import { Instance, type InstanceOwner } from './instance.js';
import { hostError } from './outcome.js';
import { BytecodeCompiler } from './prepare.js';
import { PresetChoices } from './preset.js';
import { RuntimeProcess, type KillCause } from './runtime-process.js';
import { DEFAULT_MAX_FRAME_BYTES_IN_FLIGHT, FrameJoins } from './frame-joins.js';
import { FunctionTemplate } from './template.js';
import { StartStreak } from './start-streak.js';
import type { FunctionVersion, InvocationError, InvocationResult, InvokeOptions, PoolStats } from './types.js';

/** The most a deploy waits for its preset's zygote (PoolManager.expect): ~0.3 s here, more on a loaded machine. */
const EXPECT_WAIT_MS = 3_000;
/**
 * How long a deploy's start check waits for the load before the deploy goes on unchecked: a
 * lifespan that loads a model may take minutes (the function's init limit is its timeout then),
 * and a deploy that waited 30 s put a version live whose import failed at 33 s.
 */
const START_CHECK_WAIT_MS = 300_000;
/** How long past the grace close() waits for runtimes' exit reports before it closes the host. */
const SHUTDOWN_REPORT_SLACK_MS = 2000;
/** The longest wait before the reaper starts again a minWarm instance that keeps ending (replaceEnded). */
export const WARM_BACKOFF_MAX_MS = 60_000;
/** How long a version must hold its minWarm for a replacement to be made at once again. */
export const WARM_STABLE_MS = 60_000;
/**
 * A call running this long on an instance makes it the last choice to pipeline behind (pool.pipeline):
 * longer than a typical call, shorter than a slow one's wait is worth.
 */
export const PIPELINE_STUCK_MS = 250;
/**
 * The longest a call waits for the start budget after crashes when its function has no timeout
 * (limits.timeout 0); with one, the call's timeout bounds the wait (docs/adr/0158-a-start-budget-after-crashes.md).
 */
export const CRASH_WAIT_MAX_MS = 30_000;

const SHUTDOWN_CAUSE: KillCause = { code: 'SHUTTING_DOWN', class: null, type: 'Shutdown', message: 'the pool is shutting down' };

/** What the pool tells others about, besides its calls' results. */
export interface PoolHooks {
  /** Lines of running calls (and the rest of a call's lines when it ends), for live tails. */
  logTap?: LogTap;
  /** Other gateways' warm instances (production mode), so that minWarm counts across replicas. */
  fleet?: FleetView;
}

export class PoolManager implements InstanceOwner {
  private readonly config: PoolConfig;
  private readonly processes = new Set<RuntimeProcess>();
  /** Bytes of frames being read from runtimes, bounded across them (poolmgr/frame-joins.ts). */
  readonly frameJoins: FrameJoins;
  private readonly generic: GenericPool;
  private readonly groups = new Map<string, FunctionGroup>();
  /** Fast path from the caller's FunctionVersion object to its group, without building the key. */
  private readonly byFn = new WeakMap<FunctionVersion, FunctionGroup>();
  private reaper: NodeJS.Timeout | undefined;
  /** performance.now() of the open-file table's last check (reap), and whether one is reading the boxes' files now. */
  private fileTableCheckedAt = 0;
  private fileTableChecking = false;
  /** Starts failed in a row (/readyz says so while they do). */
  private readonly starts = new StartStreak();
  private closing: Promise<void> | null = null;
  private readonly host: RuntimeHost;
  /** Specialized instances alive (taking calls or draining), across functions. */
  private instanceCount = 0;
  /** Instances drained (out of their group's list) and still alive: endConnections reaches them. */
  private readonly drained = new Set<Instance>();
  /**
   * The platform-wide cap: `maxInstancesTotal` and a reserve no one workspace reaches, since a
   * workspace is capped at `maxInstancesTotal` (`capOf`). Before (red team 7), one tenant's slow
   * calls held every place, and every other workspace's cold calls waited for one to end (up to
   * the slow function's timeout). A platform with one workspace runs as many as before
   * (docs/adr/0062-workspace-shares.md).
   */
  private get totalCap(): number {
    return this.config.maxInstancesTotal + Math.max(1, Math.ceil(this.config.maxInstancesTotal / 8));
  }

  /**
   * Calls in hand (waiting, pipelined, running, streaming: each holds its caller's connection), in
   * all and per workspace (a counter object per workspace, shared by its groups: no lookup per call).
   */
  private heldCount = 0;
  private readonly workspaceHeld = new Map<string, { n: number }>();

  /** Room for one more call of `group`'s workspace: its share (`maxHeldCalls`) and the platform's (an eighth more). */
  private callRoom(group: FunctionGroup): boolean {
    const share = this.config.maxHeldCalls;
    return group.workspaceCalls.n < share && this.heldCount < share + Math.max(1, Math.ceil(share / 8));
  }

  /** The most instances `workspace` may have: its quota, and never more than `maxInstancesTotal`. */
  private capOf(workspace: string): number {
    return Math.min(this.workspaceCaps.get(workspace) ?? Infinity, this.config.maxInstancesTotal);
  }
  /** Scale-to-zero events by function name since start: the reaper stopped a version's last idle instance. */
  private readonly scaledToZero: Record<string, number> = {};
  /** The same per workspace, and the caps set on some (docs/adr/0011-tenants.md, the `instances` quota). */
  private readonly workspaceCount = new Map<string, number>();
  private readonly workspaceCaps = new Map<string, number>();
  /** Code directories in use: instances (draining ones too) and templates, counted by directory. */
  private readonly dirsHeld = new Map<string, number>();
  /** Presets whose zygote expect() waited for in vain, until it is ready. */
  private readonly unwaited = new Set<string>();
  /** The bytecode compiler process behind prepare(), started on first use. */
  private readonly compiler: BytecodeCompiler;
  /** Versions' presets, decided at their deploy (expect) rather than at their first cold start. */
  private readonly presets = new PresetChoices();
  /** The start budget after crashes, per version and per workspace (poolmgr/crash-budget.ts, ADR 0158). */
  private readonly crashBudgets: CrashBudgets;

  /** Where calls publish their lines live (protocol/live-logs.ts); null: nowhere. */
  private readonly logTap: LogTap | null;
  /** What other gateways hold, so that minWarm counts across replicas (fleet.ts); closed at close(), after the host. */
  private readonly fleet: FleetView | undefined;

  /**
   * `host` defaults to the local process host built from `config` (sandboxed per config.sandbox);
   * `hooks.logTap` receives the lines of running calls while someone tails their function;
   * `hooks.fleet` is the view of other gateways' warm instances.
   */
  constructor(config: PoolConfig, host?: RuntimeHost, hooks: PoolHooks = {}) {
    this.logTap = hooks.logTap ?? null;
    this.fleet = hooks.fleet;
    this.config = Object.freeze({ ...config });
    // A config made before the setting existed (tests build their own) gets its default.
    this.frameJoins = new FrameJoins(this.config.maxFrameBytesInFlight ?? DEFAULT_MAX_FRAME_BYTES_IN_FLIGHT);
    this.host = host ?? new ProcessHost({ ...this.config, sandbox: resolveSandbox(this.config.sandbox) });
    this.generic = new GenericPool(this.config.poolSize, () => this.spawnProcess(), this.config.refillDelayMs, this.config.warmNext);
    this.compiler = new BytecodeCompiler(this.config);
    this.crashBudgets = new CrashBudgets({
      burst: this.config.crashStartBurst ?? DEFAULT_CRASH_BUDGET.burst,
      perMinute: this.config.crashStartsPerMinute ?? DEFAULT_CRASH_BUDGET.perMinute,
    });
  }

  /**
   * How starting runtimes goes (the host's failures and zygotes; null when its host does not tell
   * and starts do not fail) and, while starts fail in a row, since when: /readyz, /metrics.
   */
  startHealth(): StartHealth | null {
    const host = this.host.startHealth?.() ?? null;
    const failing = this.starts.failing;
    if (failing === null) return host;
    return { ...(host ?? { startFailures: failing.failures, zygotes: {} }), failing };
  }

  /** How runtimes are isolated (for readiness reports and the CLI). */
  get isolation(): Isolation {
    return this.host.isolation;
  }

  /**
   * Fills the generic pool; resolves when `poolSize` runtimes said hello. With the local process
   * host's zygotes on, it first waits (at most `spawnTimeoutMs`) for the default zygote, so the pool
   * is forked from the start; a zygote that is not ready by then is not waited for (spawns instead).
   */
  async start(): Promise<void> {
    if (this.closing !== null) throw new PlatformError('SHUTTING_DOWN', 'the pool is closed');
    this.startReaper();
    if (this.host instanceof ProcessHost) await this.host.zygotesReady(this.config.spawnTimeoutMs);
    await this.generic.start();
  }

  /** Runs one call on an instance of `fn`. Never rejects: failures are in `result.error`. */
  invoke(fn: FunctionVersion, event: WireEvent, opts?: InvokeOptions): Promise<InvocationResult> {
    let call: Call | null = null;
    try {
      let group = this.byFn.get(fn);
      if (group === undefined || group.removed) group = this.groupFor(fn);
      const room = this.callRoom(group);
      call = new Call(group, event, opts?.signal, opts?.attempt ?? 1, performance.now(), this.logTap, opts?.websocket === true);
      // Counted until it ends (Call.finish tells the group); every call holds its caller's connection.
      this.heldCount++;
      group.workspaceCalls.n++;
      if (this.closing !== null) call.fail(hostError('SHUTTING_DOWN', null, 'Shutdown', 'the pool is shutting down'));
      else if (!room) call.fail(hostError('FUNCTION_BUSY', null, 'TooManyCalls', 'the platform holds as many calls of this workspace as it takes (FP_MAX_HELD_CALLS): send it again in a moment'));
      else if (!this.lease(call, true)) this.wait(call);
      return call.promise;
    } catch (err) {
      const error = isOutOfFiles(err) ? hostError('RUNTIME_UNAVAILABLE', null, 'OutOfFiles', OUT_OF_FILES_MESSAGE) : hostError('INTERNAL_ERROR', null, 'InternalError', `pool manager failure: ${(err as Error).message}`);
      if (call === null) return Promise.resolve(errorResult(error));
      call.fail(error);
      return call.promise;
    }
  }

  /**
   * Makes a version's first cold start cheaper: compiles its bytecode ahead (poolmgr/prepare.ts).
   * Call it when a version is deployed, before it takes traffic. Resolves false if some file did
   * not compile (the specialization will report why); never rejects.
   */
  prepare(dir: string): Promise<boolean> {
    return this.compiler.compile(dir);
  }

  /**
   * A version is about to take calls: the zygote of its preset starts now, so its first cold start
   * forks from it instead of being spawned on the default preset while that zygote starts (the
   * first call of the first FastAPI app deployed on a platform: 203-261 ms, now 26-29 ms).
   * Resolves once that zygote can fork, or after EXPECT_WAIT_MS (or at once when it is bypassed);
   * a preset whose zygote was waited for in vain is not waited for again until it is ready (a
   * zygote that hangs at start must not cost every deploy its 3 s).
   */
  async expect(dir: string, entrypoint: string, bound = false): Promise<void> {
    // Decided here, off the call path, and kept for the version's cold starts (preset.ts, PresetChoices).
    const preset = this.presets.decide({ dir, entrypoint, bound });
    if (!(this.host instanceof ProcessHost) || preset === 'default') return;
    if (this.unwaited.has(preset) && this.host.zygote(preset)?.ready !== true) {
      this.host.startZygotes([preset]);
      return;
    }
    this.unwaited.delete(preset);
    if (!await this.host.zygotesReady(EXPECT_WAIT_MS, [preset])) this.unwaited.add(preset);
  }

  /**
   * The start check of a deploy (docs/adr/0084-deploy-start-check.md): an instance of `fn` is
   * started as a call would start one, and its load's end is reported: loaded (then stopped, unless
   * a call took it meanwhile), or failed with the load's error and lines. A version with an instance
   * ready already has loaded. Skipped when no instance place is free, or when the platform could
   * not start a runtime (nothing of the function ran). Never rejects.
   */
  async tryStart(fn: FunctionVersion): Promise<StartCheck> {
    if (this.closing !== null) return { outcome: 'skipped', reason: 'the pool is shutting down' };
    let group = this.byFn.get(fn);
    if (group === undefined || group.removed) group = this.groupFor(fn);
    if (group.instances.some((inst) => inst.state === 'ready')) return { outcome: 'started', initMs: 0, logs: [] };
    if (group.instances.length >= group.limits.maxInstances || !this.roomForInstance(group)) {
      return { outcome: 'skipped', reason: 'no instance place is free (every one is busy)' };
    }
    const inst = this.specialize(group);
    // A load may take as long as the function's timeout (a lifespan that loads a model): the deploy
    // waits START_CHECK_WAIT_MS at most, then goes on unchecked; the instance goes on loading and
    // serves the first call, or is reaped idle.
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([inst.watchLoad(), new Promise<null>((resolve) => { timer = setTimeout(resolve, START_CHECK_WAIT_MS, null); })]);
    clearTimeout(timer);
    if (end === null) return { outcome: 'skipped', reason: `still loading after ${START_CHECK_WAIT_MS / 1000} s (its first call waits for this load)` };
    if (end.ok) {
      if (inst.inflight === 0) inst.retire();
      // Said only where a template would have been made: a slow import, room to scale out (ADR 0201).
      const noTemplate = end.notForkable !== null && group.templateRefused ? { noTemplate: end.notForkable } : {};
      return { outcome: 'started', initMs: end.initMs, logs: [...end.logs], ...noTemplate };
    }
    const { code, type, message, stack, file, line } = end.error;
    // Whatever ended a load the function was given to is the version's failure: the runtime's report
    // is the function's to forge (it named a platform code to have its check skipped: red team).
    if (!end.ran) return { outcome: 'skipped', reason: `the platform could not start a runtime (${code}: ${message})` };
    return {
      outcome: 'failed', initMs: end.initMs, logs: [...end.logs],
      error: { code, type, message, ...(stack !== undefined ? { stack } : {}), ...(file !== undefined ? { file } : {}), ...(line !== undefined ? { line } : {}) },
    };
  }

  /**
   * The version callers get now (deployed, active at start, its limits changed): with `minWarm`,
   * its instances are started here up to it (less what gateways ranked before this one hold), so
   * the first call after a deploy is warm; the reaper keeps them (and replaces one that ended).
   * Only free places are used: no other function's instance is stopped for a warm one.
   */
  keepWarm(fn: FunctionVersion): void {
    if (this.closing !== null || !(fn.minWarm > 0)) return;
    let group = this.byFn.get(fn);
    if (group === undefined || group.removed) group = this.groupFor(fn);
    group.warmRefused = false;
    group.keptWarm = true;
    group.warmBackoffMs = 0;
    group.warmRetryAt = 0;
    this.startReaper();
    this.topUp(group);
  }

  /** Starts instances of `group` up to its minWarm here, in free places only; one that does not load stops it (no restart loop). */
  private topUp(group: FunctionGroup): void {
    const want = Math.min(this.minWarmHere(group), group.limits.maxInstances);
    while (!group.warmRefused && group.instances.length < want && this.instanceCount < this.totalCap
      && this.workspaceInstances(group.workspace) < this.capOf(group.workspace) && this.startHold(group) === null) {
      void this.specialize(group).watchLoad().then((end) => {
        if (!end.ok) group.warmRefused = true;
      });
    }
  }

  /** Instances of `name` at versions other than `keepVersion` stop taking calls and shut down when idle. */
  drain(name: string, keepVersion?: string): void {
    for (const group of this.groups.values()) {
      if (group.fn.name !== name) continue;
      if (group.fn.version === keepVersion) {
        group.retired = false;
        continue;
      }
      group.retired = true;
      this.dropTemplate(group); // a new version: its instances never come from this one's template
      for (const inst of group.instances.splice(0)) {
        inst.draining = true;
        this.drained.add(inst);
        if (inst.state === 'ready' && inst.inflight === 0) inst.retire();
      }
      // Calls already queued for this version still get served, by new instances.
      this.pump(group);
    }
  }

  /**
   * `name` was deleted (after `drain`): its scale-to-zero count goes, so the counts a process keeps
   * are bounded by the functions that exist, not by every name it ever served (ADR 0153's left-open
   * point; a retired group's scale to zero is not counted again).
   */
  forget(name: string): void {
    delete this.scaledToZero[name];
  }

  /**
   * `name` was paused or deleted: the WebSocket calls its instances hold (drained ones too) end now
   * with `code`, each closed 1001 by the gateway, rather than at the function's timeout (up to an
   * hour: a paused or deleted function went on serving them, red team round 8).
   */
  endConnections(name: string, code: 'FUNCTION_PAUSED' | 'FUNCTION_NOT_FOUND'): void {
    const error = hostError(code, null, 'Stopped', code === 'FUNCTION_PAUSED'
      ? 'the function was paused while the connection was open' : 'the function was deleted while the connection was open');
    const held: Instance[] = [...this.drained];
    for (const group of this.groups.values()) {
      if (group.fn.name !== name) continue;
      held.push(...group.instances);
      // Handshakes still queued would be served by new instances (drain serves what is queued).
      for (let call = group.queue.head; call !== null;) {
        const next = call.next;
        if (call.websocket) call.fail(error);
        call = next;
      }
    }
    for (const inst of held) if (inst.group.fn.name === name) inst.endConnections(error);
  }

  /**
   * Whether a version's code directory is in use here: a process runs from it (an instance, a
   * draining one too, or a template) or calls wait for its version. The control plane removes the
   * directories of versions no longer active only when they are not (controlplane/service/code-collect.ts).
   */
  holdsDir(dir: string): boolean {
    if (this.dirsHeld.has(dir)) return true;
    for (const group of this.groups.values()) if (group.spec.dir === dir && group.queue.length > 0) return true;
    return false;
  }

  private holdDir(dir: string, delta: 1 | -1): void {
    const n = (this.dirsHeld.get(dir) ?? 0) + delta;
    if (n > 0) this.dirsHeld.set(dir, n);
    else this.dirsHeld.delete(dir);
  }

  /** The most instances `workspace`'s functions may have at once (null: no cap but the platform's). */
  setWorkspaceInstances(workspace: string, max: number | null): void {
    const before = this.workspaceCaps.get(workspace);
    if (max === null) this.workspaceCaps.delete(workspace);
    else this.workspaceCaps.set(workspace, Math.max(0, Math.floor(max)));
    // Raised (or removed): calls waiting for room in this workspace may go now.
    if (before !== undefined && (max === null || max > before)) {
      for (const group of this.groups.values()) if (group.workspace === workspace && group.queue.length > 0) this.pump(group);
    }
  }

  /** Instances of `workspace`'s functions alive now (taking calls, starting or draining). */
  workspaceInstances(workspace: string): number {
    return this.workspaceCount.get(workspace) ?? 0;
  }

  stats(): PoolStats {
    const out: PoolStats = {
      generic: this.generic.available, spawning: this.generic.spawning,
      specializing: 0, warm: 0, busy: 0, queued: 0, functions: {}, scaledToZero: { ...this.scaledToZero },
    };
    for (const group of this.groups.values()) {
      const s = group.stats();
      out.functions[group.key] = s;
      out.specializing += s.specializing;
      out.warm += s.warm;
      out.busy += s.busy;
      out.queued += s.queued;
    }
    return out;
  }

  /** Shuts every process down (SIGKILL after shutdownGraceMs); resolves when all have exited. */
  close(): Promise<void> {
    this.closing ??= this.shutdownAll();
    return this.closing;
  }

  // ---- InstanceOwner ----

  /** release: the freed slot goes to the oldest queued call of the version. */
  slotFreed(inst: Instance): void {
    if (inst.draining) {
      if (inst.inflight === 0) inst.retire();
      return;
    }
    const next = inst.group.queue.head;
    if (next !== null) {
      next.leaveQueue();
      inst.run(next);
    } else if (inst.inflight === 0 && this.capWaiters(inst.group)) {
      inst.retire(); // idle, and another function waits for room under the cap: it gets this slot
    }
  }

  stopRouting(inst: Instance): void {
    const at = inst.group.instances.indexOf(inst);
    if (at >= 0) inst.group.instances.splice(at, 1);
    // Calls queued for the function go to its other instances, or a new one (it still counts in the caps).
    this.pump(inst.group);
  }

  requeue(calls: Call[]): void {
    const now = performance.now();
    const waiting: Call[] = [];
    for (const call of calls) {
      call.detach(now);
      if (this.closing !== null) call.fail(hostError('SHUTTING_DOWN', null, 'Shutdown', 'the pool is shutting down'));
      else if (!this.lease(call)) waiting.push(call);
    }
    // Ahead of everything queued meanwhile, in their original order.
    for (let i = waiting.length - 1; i >= 0; i--) this.wait(waiting[i]!, true);
  }

  /**
   * A version whose cold start's init took at least `templateMinInitMs` gets a template, made in
   * the background (docs/adr/0030-function-templates.md); forked instances do not make one. One
   * whose instance said its process could not be one (`notForkable`) gets none, and the operator's
   * log says why, once (ADR 0201).
   */
  specialized(inst: Instance, initMs: number, forked: boolean, notForkable: string | null = null): void {
    const group = inst.group;
    if (!this.wantsTemplate(group, initMs, forked)) return;
    if (notForkable !== null) {
      group.templateRefused = true;
      this.sayNoTemplate(group, initMs, notForkable);
      return;
    }
    const proc = this.spawnProcess(this.hintFor(group), group.workspace);
    const dir = group.spec.dir;
    this.holdDir(dir, 1);
    group.template = new FunctionTemplate(group, proc, Math.max(this.config.initTimeoutMs, group.limits.timeoutMs), (tpl, failed, refusal) => {
      this.holdDir(dir, -1);
      if (group.template === tpl) group.template = null;
      if (failed) group.templateRefused = true;
      if (refusal !== null) this.sayNoTemplate(group, initMs, refusal);
    });
  }

  /** Whether a cold start of `initMs` would make `group` a template now. */
  private wantsTemplate(group: FunctionGroup, initMs: number, forked: boolean): boolean {
    const min = this.config.templateMinInitMs;
    // A version that may run one instance only never scales out: a template would only cost memory.
    return !(forked || min <= 0 || initMs < min || group.limits.maxInstances <= 1 || this.host.templates !== true || group.template !== null || group.templateRefused
      || group.retired || group.removed || this.closing !== null);
  }

  /**
   * The operator's line for a version that gets no template (said once: a refused version is not
   * asked again). Without it nobody knew: a Django app that kept its SQLite connection open at
   * import scaled out by importing Django in each instance (apps round 18).
   */
  private sayNoTemplate(group: FunctionGroup, initMs: number, why: string): void {
    // The function's runtime wrote it: one line, no control characters (a forged newline would be a log line of its own).
    this.hostLine(`pool: ${group.fn.name} version ${group.fn.version} gets no template: each instance it scales out to imports its module (${Math.round(initMs)} ms at the cold start that asked for one): ${oneLogLine(why)}`);
  }

  private hostLine(line: string): void {
    if (this.config.hostLog !== undefined) this.config.hostLog(line);
    else process.stderr.write(`${line}\n`);
  }

  instanceGone(inst: Instance): void {
    const group = inst.group;
    if (inst.crashedWith !== null && this.closing === null) this.crashBudgets.crashed(group.key, group.fn.name, group.workspace, inst.crashedWith);
    // The platform's fault, said as such to the operator (its callers got RUNTIME_UNAVAILABLE): ADR 0233.
    if (inst.crashedWith?.type === 'RuntimeStalled') this.hostLine(`pool: a runtime of ${group.fn.name} version ${group.fn.version} was stopped while it loaded the function, its calls answered RUNTIME_UNAVAILABLE: ${oneLogLine(inst.crashedWith.message)}`);
    const at = group.instances.indexOf(inst);
    if (at >= 0) group.instances.splice(at, 1);
    this.drained.delete(inst);
    this.instanceCount--;
    this.holdDir(group.spec.dir, -1);
    this.workspaceCount.set(group.workspace, (this.workspaceCount.get(group.workspace) ?? 1) - 1);
    if (this.closing !== null) return;
    this.pump(group);
    // The instance that ended was the one the queued calls waited for (it crashed): they wait for the budget again.
    this.pumpWhenBudget(group, true);
    // A slot under the platform-wide cap opened: calls of other functions may be waiting for it.
    for (const other of this.groups.values()) if (other !== group && other.queue.length > 0) this.pump(other);
  }

  // ---- lease ----

  /**
   * acquire: a ready instance with a free slot (warm), else a specializing one with a free slot,
   * else (a new call: `fresh`) the slot of an instance that only finishes, for `finishingWaitMs`,
   * else a new instance if under maxInstances (from the pool, or a fresh spawn). False: no room.
   */
  private lease(call: Call, fresh = false): boolean {
    const group = call.group;
    const instances = group.instances;
    const concurrency = group.limits.concurrency;
    let starting: Instance | null = null;
    for (let i = 0; i < instances.length; i++) {
      const inst = instances[i]!;
      if (inst.inflight >= concurrency) continue;
      if (inst.state === 'ready') {
        inst.run(call);
        return true;
      }
      starting ??= inst;
    }
    if (starting !== null) starting.join(call);
    // The wait is one in the queue: without room there (maxQueue: 0, or full) the call scales out.
    else if (fresh && instances.length < group.limits.maxInstances && this.config.finishingWaitMs > 0 && group.queue.length < group.limits.maxQueue
      && this.finishingSlots(group) > group.finishWaiters) this.awaitFinishing(call);
    else if (instances.length < group.limits.maxInstances && this.startHold(group) === null && this.roomForInstance(group)) this.specialize(group).join(call);
    else return this.pipeline(call);
    return true;
  }

  /** Slots that free soon: those of the version's instances that only finish their calls. */
  private finishingSlots(group: FunctionGroup): number {
    let slots = 0;
    for (const inst of group.instances) if (inst.finishing) slots += inst.inflight;
    return slots;
  }

  /**
   * A call that would start a new instance while one of the version's instances only finishes
   * its calls (they answered; a teardown or a background task runs): it waits in the queue, where
   * the slot that frees takes it (slotFreed), for at most `finishingWaitMs`; then it leases as if
   * nothing were finishing. A client that sends its next request right after an answer then keeps
   * its instance (the app's memory and /tmp) and pays no cold start. docs/adr/0045-finishing-calls.md.
   */
  private awaitFinishing(call: Call): void {
    const group = call.group;
    this.wait(call);
    if (call.queuedIn === null) return; // refused (the queue is full)
    // Counted while it waits (Call.leaveQueue uncounts it): a burst is held back by at most as
    // many calls as the finishing slots, the rest scale out at once.
    call.awaitingFinish = true;
    group.finishWaiters++;
    const queue = group.queue;
    setTimeout(() => {
      if (call.queuedIn !== queue || !call.awaitingFinish || this.closing !== null) return; // it got a slot, failed, or left
      call.leaveQueue();
      if (!this.lease(call)) this.wait(call, true);
    }, this.config.finishingWaitMs).unref();
  }

  /**
   * Under the workspace's cap and the platform-wide cap (maxInstancesTotal) a new instance may
   * start; at a cap, the least recently used idle instance of another function (of the same
   * workspace, for its cap) is stopped to make room (above its minWarm first). False when every
   * instance is busy: the call waits for one to end.
   */
  private roomForInstance(group: FunctionGroup): boolean {
    const cap = this.capOf(group.workspace);
    if (this.workspaceInstances(group.workspace) >= cap) {
      const victim = this.idleVictim(group, group.workspace);
      if (victim === null) return false;
      victim.retire();
      if (this.workspaceInstances(group.workspace) >= cap) return false;
    }
    if (this.instanceCount < this.totalCap) return true;
    const victim = this.idleVictim(group);
    if (victim === null) return false;
    victim.retire();
    return this.instanceCount < this.totalCap;
  }

  /** True when `group` could start an instance but for its workspace's cap. */
  private heldByWorkspace(group: FunctionGroup): boolean {
    const cap = this.workspaceCaps.get(group.workspace);
    return cap !== undefined && group.instances.length < group.limits.maxInstances && this.workspaceInstances(group.workspace) >= cap
      && this.idleVictim(group, group.workspace) === null;
  }

  /** QUOTA_EXCEEDED for a call refused because its workspace is at its instance cap (retry in 1 s). */
  private quotaRefusal(group: FunctionGroup): InvocationError | null {
    const hold = group.instances.length === 0 ? this.startHold(group) : null;
    if (hold !== null) return crashRefusal(hold);
    if (!this.heldByWorkspace(group)) return null;
    const limit = this.workspaceCaps.get(group.workspace) ?? 0;
    const error = hostError('QUOTA_EXCEEDED', null, 'QuotaExceeded', `workspace "${group.workspace}" is at its instances quota (${limit}); every instance is busy`);
    error.details = { quota: 'instances', workspace: group.workspace, limit, used: this.workspaceInstances(group.workspace), retryAfterS: 1 };
    return error;
  }

  /** The idle instance (of a function other than `group`'s; of `workspace` when given) to stop first, if any. */
  private idleVictim(group: FunctionGroup, workspace?: string): Instance | null {
    let victim: Instance | null = null;
    let victimAboveMin = false;
    for (const other of this.groups.values()) {
      if (other === group || (workspace !== undefined && other.workspace !== workspace)) continue;
      const aboveMin = other.instances.length > this.minWarmHere(other);
      for (const inst of other.instances) {
        if (inst.state !== 'ready' || inst.inflight > 0) continue;
        if (victim === null || (aboveMin && !victimAboveMin) || (aboveMin === victimAboveMin && inst.lastUsed < victim.lastUsed)) {
          victim = inst;
          victimAboveMin = aboveMin;
        }
      }
    }
    return victim;
  }

  /** True when some other function has calls waiting only because the platform (or this workspace) is at its cap. */
  private capWaiters(except: FunctionGroup): boolean {
    const workspaceFull = this.workspaceInstances(except.workspace) >= this.capOf(except.workspace);
    if (this.instanceCount < this.totalCap && !workspaceFull) return false;
    const platformFull = this.instanceCount >= this.totalCap;
    for (const group of this.groups.values()) {
      if (group === except || group.queue.length === 0 || group.instances.length >= group.limits.maxInstances) continue;
      if (group.workspace === except.workspace) return true;
      // Another workspace's call gains from the place only if that workspace is under its own cap.
      if (platformFull && this.workspaceInstances(group.workspace) < this.capOf(group.workspace)) return true;
    }
    return false;
  }

  /**
   * At maxInstances with every slot taken: send to the ready instance holding the fewest calls,
   * not behind a call that has run PIPELINE_STUCK_MS or more while another instance's calls have
   * not (a call that has run long is likely to run long yet: 4 of 12 calls of 50 ms waited 7.5 s
   * behind an 8 s call while two other instances freed up; helper round, 2026-12-05).
   */
  private pipeline(call: Call): boolean {
    const group = call.group;
    const room = group.limits.concurrency + this.config.pipelineDepth;
    const stuckBefore = performance.now() - PIPELINE_STUCK_MS;
    let best: Instance | null = null;
    let bestStuck = true;
    for (const inst of group.instances) {
      if (inst.state !== 'ready' || inst.inflight >= room || (inst.inflight >= group.limits.concurrency && !inst.pipelinable)) continue;
      const stuck = inst.busySince <= stuckBefore;
      if (best === null || (bestStuck && !stuck) || (stuck === bestStuck && inst.inflight < best.inflight)) {
        best = inst;
        bestStuck = stuck;
      }
    }
    if (best === null) return false;
    best.run(call);
    return true;
  }

  private wait(call: Call, first = false): void {
    const { limits, queue } = call.group;
    // Only a new instance could take it, and its function's start budget is spent: it waits for the
    // budget within its own timeout, or is refused at once when the budget comes back later than that.
    const hold = call.group.instances.length === 0 ? this.startHold(call.group) : null;
    if (hold !== null && (queue.length >= limits.maxQueue || hold.waitMs > crashWaitBound(limits.timeoutMs)) && call.signal?.aborted !== true) {
      call.fail(crashRefusal(hold));
    } else if (hold !== null && call.signal?.aborted !== true) {
      call.enqueue(queue, crashWaitBound(limits.timeoutMs), first);
      this.pumpAfter(call.group, hold.waitMs);
    } else if (queue.length >= limits.maxQueue) {
      call.fail(this.quotaRefusal(call.group) ?? hostError('FUNCTION_BUSY', null, 'QueueFull',
        `all ${limits.maxInstances} instances are busy and ${queue.length} calls are already waiting`));
    } else if (call.signal?.aborted === true) {
      call.fail(hostError('CLIENT_CLOSED_REQUEST', null, 'Aborted', 'the caller went away before the call could run'));
    } else {
      call.enqueue(queue, limits.timeoutMs, first);
      // A version that crashed lately, with no instance: its queue must not wait on a start that no
      // event will make (the budget came back between the lease and here, or is about to).
      this.pumpWhenBudget(call.group);
    }
  }

  /** Gives queued calls the room that opened up (an instance ended, or a drain). */
  private pump(group: FunctionGroup): void {
    for (let call = group.queue.head; call !== null && this.hasRoom(group); call = group.queue.head) {
      call.leaveQueue();
      this.lease(call);
    }
  }

  private hasRoom(group: FunctionGroup): boolean {
    if (this.startHold(group) !== null) return this.hasSlot(group);
    const underWorkspaceCap = this.workspaceInstances(group.workspace) < this.capOf(group.workspace) || this.idleVictim(group, group.workspace) !== null;
    if (group.instances.length < group.limits.maxInstances && underWorkspaceCap
      && (this.instanceCount < this.totalCap || this.idleVictim(group) !== null)) return true;
    return this.hasSlot(group);
  }

  /** A slot free (or room to pipeline) on one of the group's instances. */
  private hasSlot(group: FunctionGroup): boolean {
    const room = group.limits.concurrency + this.config.pipelineDepth;
    for (const inst of group.instances) {
      if (inst.inflight < (inst.state === 'ready' && inst.pipelinable ? room : group.limits.concurrency)) return true;
    }
    return false;
  }

  /**
   * Why no new instance of `group` may start now: its version's start budget after crashes, or its
   * workspace's, is spent (null: it may, or the version has not crashed lately). ADR 0158.
   */
  private startHold(group: FunctionGroup): CrashHold | null {
    if (!this.crashBudgets.watched(group.key) && !this.crashBudgets.nameWatched(group.fn.name)) return null;
    let starting = 0;
    for (const inst of group.instances) if (inst.state === 'starting') starting++;
    return this.crashBudgets.hold(group.key, group.fn.name, group.workspace, starting);
  }

  /** The group's queue is pumped again once its start budget holds a start (one timer per group). */
  private pumpAfter(group: FunctionGroup, waitMs: number): void {
    if (group.budgetTimer !== undefined) return;
    group.budgetTimer = setTimeout(() => {
      group.budgetTimer = undefined;
      if (this.closing !== null || group.queue.length === 0) return;
      this.pump(group);
      this.pumpWhenBudget(group, true);
    }, Math.max(1, Math.ceil(waitMs)));
    group.budgetTimer.unref();
  }

  /**
   * Calls are queued that only a new instance of a version that crashed lately can take: pumped
   * when its budget holds a start, or at once (in a timer: not inside a lease) when it holds one
   * already, unless this is that pump's own check (`after`): then only a budget still spent re-arms,
   * so a version held by a cap instead does not spin.
   */
  private pumpWhenBudget(group: FunctionGroup, after = false): void {
    if (group.queue.length === 0 || group.instances.length > 0) return;
    if (!this.crashBudgets.watched(group.key) && !this.crashBudgets.nameWatched(group.fn.name)) return;
    const hold = this.startHold(group);
    if (hold !== null) this.pumpAfter(group, hold.waitMs);
    else if (!after) this.pumpAfter(group, 0);
  }

  /** specialize: a new instance of the group, on a generic runtime if one is ready. */
  private specialize(group: FunctionGroup): Instance {
    this.startReaper();
    // A version on another preset than the generic pool's starts on a runtime of its own preset
    // (forked by that preset's zygote: docs/adr/0019-zygotes.md), not a default generic one, unless
    // that zygote cannot fork it now: then a generic runtime made ahead beats one made for the call.
    const hint = this.hintFor(group);
    const ownPreset = group.preset !== 'default' && (!(this.host instanceof ProcessHost) || this.host.forksOwnPreset(hint));
    // A version with a ready template forks from it (the host falls back to a generic runtime if it cannot).
    const template = group.template?.usable === true ? group.template : null;
    // A version past its start budget after crashes (lately) forks its own runtime: the generic
    // runtimes, and the refills their takes start, are left to the other functions' cold starts (ADR 0158).
    const pooled = !ownPreset && template === null && !this.crashBudgets.spent(group.key) ? this.generic.take() : null;
    if (template !== null) hint.template = template.hosted;
    const inst = new Instance(group, pooled === null ? 'spawn' : 'pool', pooled ?? this.spawnProcess(hint, group.workspace), this, this.config);
    group.instances.push(inst);
    this.instanceCount++;
    this.holdDir(group.spec.dir, 1);
    this.workspaceCount.set(group.workspace, this.workspaceInstances(group.workspace) + 1);
    return inst;
  }

  private hintFor(group: FunctionGroup): SpawnHint {
    group.preset ??= this.presets.of(group.spec);
    return { memoryBytes: group.spec.memoryBytes, preset: group.preset, ...(group.spec.depsDir !== undefined ? { depsDir: group.spec.depsDir } : {}) };
  }

  /** The version's template forks no more and goes once the instances it forked are gone. */
  private dropTemplate(group: FunctionGroup): void {
    group.template?.drop();
    group.template = null;
  }

  private groupFor(fn: FunctionVersion): FunctionGroup {
    const key = keyOf(fn);
    let group = this.groups.get(key);
    if (group === undefined) {
      const created = new FunctionGroup(key, fn);
      created.quotaRefusal = () => this.quotaRefusal(created);
      let calls = this.workspaceHeld.get(created.workspace);
      if (calls === undefined) this.workspaceHeld.set(created.workspace, calls = { n: 0 });
      created.workspaceCalls = calls;
      created.callEnded = () => {
        this.heldCount--;
        created.workspaceCalls.n--;
      };
      group = created;
      this.groups.set(key, group);
    } else {
      group.update(fn);
    }
    this.byFn.set(fn, group);
    return group;
  }

  /**
   * A new runtime; `hint` when it is spawned for one function (a host with sized runtimes picks one
   * that fits), and then `workspace`, its function's: its frames count in that workspace's share
   * from its first byte (FrameJoins). An instance forked from a template runs the function's code
   * before it is placed (red team round 15).
   */
  private spawnProcess(hint?: SpawnHint, workspace?: string): RuntimeProcess {
    const proc = new RuntimeProcess(this.host, this.config.spawnTimeoutMs, this.processes, hint, this.frameJoins, workspace);
    // A start that failed by itself (not one the platform ended: a shutdown, a retire) counts in the streak /readyz tells.
    proc.ready.then(() => this.starts.started(), () => {
      const by = proc.endedBy;
      if (this.closing === null && (by === null || by.code === 'RUNTIME_UNAVAILABLE')) this.starts.failed();
    });
    return proc;
  }

  // ---- reaping and shutdown ----

  private startReaper(): void {
    if (this.reaper !== undefined || this.closing !== null) return;
    holdSpareDescriptor();
    this.reaper = setInterval(() => this.reap(), this.config.reapIntervalMs);
    this.reaper.unref();
  }

  /**
   * While the host's open-file table is more than half full, stops the runtime holding the most of
   * it in the workspace holding the most, when that is at least a tenth (poolmgr/file-table.ts):
   * its calls fail with FUNCTION_FILE_LIMIT. The boxes' files are read off the event loop (a box
   * may map tens of thousands), one box after another; the next check starts after this one ends.
   */
  private async guardFileTable(): Promise<void> {
    const table = (this.config.fileTable ?? fileTable)();
    if (table === null || table.allocated * 2 < table.max) return;
    const holders: { of: RuntimeProcess; owner: string; files: number }[] = [];
    for (const p of [...this.processes]) holders.push({ of: p, owner: this.ownerOf(p), files: await p.heldFiles() ?? 0 });
    const top = overFileShare(table, holders);
    if (top === null || this.closing !== null) return;
    top.of.kill({
      code: 'FUNCTION_FILE_LIMIT', class: 'process_limit', type: 'TooManyOpenFiles',
      message: `the instance's processes held ${top.files} files, open or mapped (its workspace ${top.ownerFiles}), while the host's table (${table.max}) was more than half full and the workspace held more than a tenth of it: the instance was stopped so the host's other processes can still open files`,
    });
  }

  /**
   * While the platform holds more than half of its open-files limit, stops the runtime holding the
   * most connections to the platform in the workspace holding the most, when that is at least a
   * tenth of the limit (poolmgr/platform-connections.ts, red team round 50): its calls fail with
   * FUNCTION_CONNECTION_LIMIT. Synchronous, with the spare descriptor: at the limit no read could
   * open a file otherwise, and no accept may take the descriptor meanwhile.
   */
  private guardPlatformConnections(): void {
    const found = withSpareDescriptor(() => {
      const mine = platformDescriptors();
      if (mine === null || mine.allocated * 2 < mine.max) return null;
      const peers = platformPeers();
      const processes = [...this.processes];
      const held = connectionsHeld(peers, processes.map((p) => ({ inodes: p.socketInodes(), uid: p.boxUid() })));
      const top = overFileShare(mine, processes.map((p, i) => ({ of: p, owner: this.ownerOf(p), files: held[i]! })));
      return top === null ? null : { top, max: mine.max };
    });
    if (found === null || this.closing !== null) return;
    const { top, max } = found;
    top.of.kill({
      code: 'FUNCTION_CONNECTION_LIMIT', class: 'process_limit', type: 'TooManyConnections',
      message: `the instance's processes held ${top.files} connections to the platform (its workspace ${top.ownerFiles}) while the platform had used more than half of its ${max} file descriptors and the workspace held more than a tenth of them: the instance was stopped so the platform can still take other connections`,
    });
  }

  /**
   * Who holds what a runtime holds, for the guards: the workspace of the function it serves, or whose
   * template it is (a generic one serves none: its own). A template runs its function's import, and
   * what that leaves running in its box (a forked process's connections) counted apart from its
   * workspace: each template of a workspace just under a tenth was stopped by neither guard (red team
   * round 52).
   */
  private ownerOf(p: RuntimeProcess): string {
    const listener = p.listener;
    const fn = listener instanceof Instance ? listener.group.fn.name : listener instanceof FunctionTemplate ? listener.group.spec.name : null;
    return fn !== null ? `w:${workspaceOfKey(fn)}` : `r:${p.pid}`;
  }

  /** Retires instances idle for idleTimeoutMs, least recently preferred first, keeping minWarm. */
  private reap(): void {
    const now = performance.now();
    this.crashBudgets.prune();
    if (!this.fileTableChecking && now - this.fileTableCheckedAt >= FILE_TABLE_CHECK_MS) {
      this.fileTableChecking = true;
      void this.guardFileTable().catch(() => {
        // a host that cannot tell (reads fail as "gone"): nothing to stop
      }).then(() => this.guardPlatformConnections()).catch(() => {
        // the same for the platform's own descriptors
      }).finally(() => {
        this.fileTableChecking = false;
        this.fileTableCheckedAt = performance.now();
      });
    }
    for (const group of this.groups.values()) {
      const keep = this.minWarmHere(group);
      // One ended (a crash, an out-of-memory kill): started again for the version callers get, not
      // for another (a start check's candidate whose deploy did not happen).
      if (group.keptWarm && this.closing === null) this.replaceEnded(group, keep, now);
      const list = group.instances;
      const before = list.length;
      // The lease fills instances front first, so the idle ones gather at the back.
      for (let i = list.length - 1; i >= 0 && list.length > keep; i--) {
        const inst = list[i]!;
        if (inst.state === 'ready' && inst.inflight === 0 && now - inst.lastUsed >= this.config.idleTimeoutMs) inst.retire();
      }
      if (before > 0 && list.length === 0 && !group.retired) this.scaledToZero[group.fn.name] = (this.scaledToZero[group.fn.name] ?? 0) + 1;
      if (list.length === 0 && group.queue.length === 0) {
        // No instance left (the last one was reaped or ended): its template goes with the version.
        this.dropTemplate(group);
        group.removed = true;
        this.groups.delete(group.key);
      }
    }
  }

  /**
   * Starts again the minWarm instances of `group` that ended (a crash, an out-of-memory kill), each
   * replacement waiting twice as long as the one before (from the reaper's interval up to
   * WARM_BACKOFF_MAX_MS) until the version has held its minWarm for WARM_STABLE_MS. Without it, a
   * module that loads and then ends (a thread calling `os._exit`) was started again every second for
   * as long as it was deployed: fork, box and specialize paid by the platform, no call, no quota (red
   * team of 2026-12-05, fourth round).
   */
  private replaceEnded(group: FunctionGroup, keep: number, now: number): void {
    if (group.instances.length >= keep) {
      if (group.warmBackoffMs === 0) return;
      group.warmFullSince ??= now;
      if (now - group.warmFullSince >= WARM_STABLE_MS) group.warmBackoffMs = group.warmRetryAt = 0;
      return;
    }
    group.warmFullSince = null;
    if (now < group.warmRetryAt) return;
    this.topUp(group);
    group.warmBackoffMs = Math.min(WARM_BACKOFF_MAX_MS, Math.max(this.config.reapIntervalMs, group.warmBackoffMs * 2));
    group.warmRetryAt = now + group.warmBackoffMs;
  }

  /** Instances of `group` this gateway keeps warm: minWarm less what gateways ranked before it hold. */
  private minWarmHere(group: FunctionGroup): number {
    if (group.retired || group.limits.minWarm === 0) return 0;
    return Math.max(0, group.limits.minWarm - (this.fleet?.warmAhead(group.fn.name) ?? 0));
  }

  /**
   * The platform's shutdown grace is over: every call still waiting fails and every runtime is
   * killed now, with SHUTTING_DOWN, so each of their callers gets an answer and a run record
   * (a call cut at the grace's end had neither: its connection just closed; reliability round).
   */
  abortCalls(): void {
    const cause: KillCause = { code: 'SHUTTING_DOWN', class: null, type: 'Shutdown', message: 'the platform stopped before the call ended (its shutdown grace was over)' };
    const error = hostError(cause.code, null, cause.type, cause.message);
    for (const group of this.groups.values()) {
      for (let call = group.queue.head; call !== null; call = group.queue.head) call.fail(error);
    }
    for (const proc of this.processes) proc.kill(cause);
  }

  private async shutdownAll(): Promise<void> {
    clearInterval(this.reaper);
    this.host.stopping?.();
    this.generic.close();
    const busy = hostError('SHUTTING_DOWN', null, 'Shutdown', 'the pool is shutting down');
    for (const group of this.groups.values()) {
      for (let call = group.queue.head; call !== null; call = group.queue.head) call.fail(busy);
    }
    const grace = this.config.shutdownGraceMs;
    const exited = Promise.all([...Array.from(this.processes, (proc) => proc.shutdown(grace, SHUTDOWN_CAUSE)), this.compiler.close()]);
    // Every runtime has been sent SIGKILL after `grace`. Its end is what its host reports (a
    // forked runtime: its report channel closing), and a host that never reports one must not
    // hold the pool open: after a bounded wait the host closes anyway (zygotes ended, every
    // runtime SIGKILLed again and awaited there).
    await untilOr(exited, grace + SHUTDOWN_REPORT_SLACK_MS);
    await this.host.close();
    await this.fleet?.close();
  }
}

/** How long a call may wait for its function's start budget: its timeout, or CRASH_WAIT_MAX_MS without one. */
function crashWaitBound(timeoutMs: number): number {
  return timeoutMs > 0 ? timeoutMs : CRASH_WAIT_MAX_MS;
}

/** FUNCTION_CRASH_LOOP: what the caller, the run record and the console are told (ADR 0158). */
function crashRefusal(hold: CrashHold): InvocationError {
  const retryAfterS = Math.max(1, Math.ceil(hold.waitMs / 1000));
  const last = hold.last === null ? '' : ` (the last: ${hold.last.code})`;
  const whose = hold.budget === 'function'
    ? "the function's start budget after crashes is spent"
    : "its workspace's start budget after crashes is spent (its functions' instances ended too often together)";
  const error = hostError('FUNCTION_CRASH_LOOP', null, 'CrashLoop',
    `the function's instances ended ${hold.crashes} times lately by its own doing${last}: exits, crashes, out-of-memory or timeout kills, failed loads; ${whose}, so no new instance starts for about ${retryAfterS} s. See the run records of its failed calls for why they ended`);
  error.details = { budget: hold.budget, crashes: hold.crashes, ...(hold.last !== null ? { lastCode: hold.last.code } : {}), retryAfterS };
  return error;
}

function errorResult(error: InvocationResult['error']): InvocationResult {
  return { cold: false, start: 'warm', initMs: 0, handlerMs: 0, queuedMs: 0, response: null, error, logs: [], instanceId: null };
}

/** Resolves when `promise` settles or after `ms`, whichever comes first (the timer does not hold the process). */
function untilOr(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
