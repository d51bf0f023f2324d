/**
 * The Kubernetes host: each runtime is a Pod of the pool (docs/kubernetes.md, decisions in
 * docs/adr/0012-kubernetes-host.md).
 *
 * - The pool keeps `warm` generic runtime Pods per preset (a size: memory and CPU), labelled
 *   `state=warm`, without a ReplicaSet: whoever holds the filler role creates and trims them.
 * - `spawn` leases a Ready warm Pod by relabelling it `state=leased, holder=<host id>` with its
 *   resourceVersion as a precondition: of two gateways racing for one Pod, one gets 409 and takes
 *   another. No warm Pod ready: the spawn waits and a Pod is created for it.
 * - The channel is TCP to the Pod's IP; its first frame is the Pod's token (an HMAC of the Pod's
 *   name under the platform's key; the Pod holds only its hash). `place` sends the function's code.
 * - Pods are watched (pod-watch.ts); a leased Pod that ends (exit, deletion, eviction) is reported
 *   with its exit code and reason, then deleted. `signal` and `destroy` delete the Pod.
 * - At start the host adopts the warm Pods of the pool and deletes strays: ended Pods, and leased
 *   Pods whose holder is gone (a past life of this platform, or a dead replica).
 * Pods are single-use: a leased Pod is never given back, as a local runtime is never reused.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { isAbsolute, relative } from 'node:path';
import { constants } from 'node:os';
import { CoreV1Api, PatchStrategy, setHeaderOptions, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { encodeFrame, PlatformError, type BoxSpec } from '../../../protocol/index.js';
import type { HostedRuntime, Isolation, Placement, RuntimeEvents, RuntimeExit, RuntimeHost, RuntimeStats, SpawnHint } from '../types.js';
import { RemoteChannel } from './channel.js';
import { CodeFrames } from './code.js';
import { LocalCoordinator, type PoolCoordinator } from './coordinator.js';
import { ANNOTATION, buildPod, LABEL, podToken, presetFor, tokenHash, type PodPreset, type PodTemplate } from './pod-spec.js';
import { describe, PodWatch, statusOf, type PodEvent } from './pod-watch.js';

export interface KubeHostOptions extends PodTemplate {
  kubeConfig: KubeConfig;
  /** Unique among the gateways sharing the pool (e.g. the gateway's Pod name). */
  hostId: string;
  /** Pod sizes; the first is used for runtimes spawned without a hint (the generic pool). */
  presets: PodPreset[];
  /** The key Pod tokens are derived from; every gateway of the pool must have the same. */
  tokenKey: Buffer;
  /** Directories holding function versions (a version outside them is not placed). */
  codeRoots: readonly string[];
  /** Several gateways: RedisCoordinator. Default: one gateway (LocalCoordinator). */
  coordinator?: PoolCoordinator;
  /** How long after a connection drops the Pod's end may take to be reported (default 5 000). */
  exitReportMs?: number;
  /** How often the pool is reconciled besides on every Pod event (default 2 000). */
  reconcileIntervalMs?: number;
  /** A deleted Pod that never reports its end is given up on after this (default 30 000). */
  killTimeoutMs?: number;
  /** A warm Pod beyond its preset's target is deleted once it has been Ready this long (default 30 000). */
  surplusIdleMs?: number;
  /** close() deletes the pool's warm Pods too (default false: the next start adopts them). */
  deleteWarmOnClose?: boolean;
  log?: (line: string) => void;
}

const NO_STATS: RuntimeStats = {
  memoryBytes: null, memoryLimitBytes: null, tasks: null, tasksLimit: null, tasksPeak: null, tasksLimitHits: 0, oomKills: 0, cpuNs: null,
};
const CONNECT_TIMEOUT_MS = 5_000;
const CREATE_BURST = 20;
const KEEP_OUTPUTS = 256;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

type Phase = 'waiting' | 'leasing' | 'connecting' | 'attached' | 'gone';

interface PodRuntime extends HostedRuntime {
  readonly events: RuntimeEvents;
  readonly channel: RemoteChannel;
  readonly preset: PodPreset;
  phase: Phase;
  pod: string | null;
  /** This host deleted the Pod (signal/destroy); otherwise a deletion is someone else's. */
  killed: boolean;
  killTimer: NodeJS.Timeout | undefined;
  readonly gone: Promise<void>;
  settleGone: () => void;
}

export class KubeHost implements RuntimeHost {
  readonly isolation: Isolation;
  readonly exitReportMs: number;
  private readonly api: CoreV1Api;
  private readonly watch: PodWatch;
  private readonly coordinator: PoolCoordinator;
  private readonly codeRoots: string[];
  private readonly code: CodeFrames;
  private readonly log: (line: string) => void;
  private readonly runtimes = new Map<string, PodRuntime>();
  private readonly byPod = new Map<string, PodRuntime>();
  private readonly waiters = new Map<string, PodRuntime[]>();
  /** Pods with a lease request in flight. */
  private readonly claiming = new Set<string>();
  /** Pod name → the resourceVersion a lease lost on (skipped until the Pod changes). */
  private readonly lost = new Map<string, string>();
  /** Pods whose deletion this host asked for. */
  private readonly deleting = new Set<string>();
  /**
   * Pods this host created that the watch has not shown yet, by preset: they count as supply from
   * the create request until their first event (a create answered before its watch event must not
   * look like a gap to fill again).
   */
  private readonly creating = new Map<string, Set<string>>();
  private readonly outputs = new Map<string, string>();
  private seq = 0;
  private started: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private interval: NodeJS.Timeout | undefined;
  private reconcileQueued = false;

  constructor(private readonly options: KubeHostOptions) {
    if (options.presets.length === 0) throw new RangeError('the Kubernetes host needs at least one preset');
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.coordinator = options.coordinator ?? new LocalCoordinator(options.hostId);
    this.codeRoots = options.codeRoots.map(realpathOr);
    this.code = new CodeFrames(options.codeBytes);
    this.exitReportMs = options.exitReportMs ?? 5_000;
    this.watch = new PodWatch(this.api, new Watch(options.kubeConfig), options.namespace, `${LABEL.pool}=${options.pool}`,
      (type, pod) => this.onPod(type, pod), this.log);
    this.isolation = Object.freeze({
      mode: 'pod' as const, cgroups: null, seccomp: true, uidRange: null,
      warnings: [],
    });
  }

  /**
   * Lists the pool's Pods (rejects when the API server is unreachable or refuses: RBAC), adopts
   * the warm ones, deletes strays and starts filling. Spawns made before it resolves wait.
   */
  start(): Promise<void> {
    this.started ??= this.watch.start().then(() => {
      this.interval = setInterval(() => this.reconcile(), this.options.reconcileIntervalMs ?? 2_000);
      this.interval.unref();
      this.reconcile();
    });
    return this.started;
  }

  spawn(events: RuntimeEvents, hint?: SpawnHint): HostedRuntime {
    const preset = hint === undefined ? this.options.presets[0]! : presetFor(this.options.presets, hint.memoryBytes);
    const seq = ++this.seq;
    let settleGone!: () => void;
    const rt: PodRuntime = {
      id: `k${seq}`, pid: seq, events, channel: new RemoteChannel(), preset, phase: 'waiting', pod: null,
      killed: false, killTimer: undefined, settleGone: () => settleGone(),
      gone: new Promise<void>((resolve) => { settleGone = resolve; }),
    };
    this.runtimes.set(rt.id, rt);
    if (this.closed) {
      this.report(rt, { exitCode: null, signal: null, oomKilled: false, reason: 'the Kubernetes host is closed' });
      return rt;
    }
    this.queueOf(preset).push(rt);
    if (this.started === null) void this.start().catch((err: unknown) => this.log(`kubernetes host: could not start: ${describe(err)}`));
    this.pump(preset);
    return rt;
  }

  connect(rt: HostedRuntime): RemoteChannel {
    return this.get(rt).channel;
  }

  place(hosted: HostedRuntime, fn: Placement): BoxSpec | null {
    const rt = this.get(hosted);
    const real = this.locate(fn.dir);
    if (fn.memoryBytes > rt.preset.memoryBytes) {
      throw new PlatformError('RUNTIME_UNAVAILABLE', `the function needs ${fn.memoryBytes} bytes of memory and the largest runtime Pod preset (${rt.preset.name}) has ${rt.preset.memoryBytes}`);
    }
    rt.channel.write(this.code.frame(fn.dir, real));
    if (rt.pod !== null) {
      const name = rt.pod;
      this.api.patchNamespacedPod({ name, namespace: this.options.namespace, body: { metadata: { annotations: { [ANNOTATION.fn]: `${fn.name}@${fn.version}` } } } }, MERGE_PATCH)
        .catch(() => {}); // only informative
    }
    return null; // the Pod is the box (docs/adr/0012-kubernetes-host.md)
  }

  signal(hosted: HostedRuntime, signal: 'SIGKILL' | 'SIGTERM'): void {
    const rt = this.runtimes.get(hosted.id);
    if (rt === undefined || rt.phase === 'gone') return;
    if (rt.pod === null) {
      // No Pod yet (waiting, or a lease in flight that lease() will undo): it simply never starts.
      this.dropWaiter(rt);
      this.report(rt, { exitCode: null, signal, oomKilled: false });
      return;
    }
    if (rt.killed && signal === 'SIGTERM') return;
    rt.killed = true;
    this.deletePod(rt.pod, signal === 'SIGKILL' ? 0 : 2);
    clearTimeout(rt.killTimer);
    rt.killTimer = setTimeout(() => {
      this.report(rt, { exitCode: null, signal, oomKilled: false, reason: `the Pod ${rt.pod} did not report its end within ${this.options.killTimeoutMs ?? 30_000} ms` });
    }, this.options.killTimeoutMs ?? 30_000);
    rt.killTimer.unref();
  }

  stats(_rt: HostedRuntime): RuntimeStats {
    return NO_STATS;
  }

  lastOutput(rt: HostedRuntime): string {
    return this.outputs.get(rt.id) ?? '';
  }

  destroy(hosted: HostedRuntime): void {
    const rt = this.runtimes.get(hosted.id);
    if (rt === undefined) return;
    if (rt.phase !== 'gone') this.signal(rt, 'SIGKILL');
    else {
      if (rt.pod !== null) this.deletePod(rt.pod, 0);
      this.runtimes.delete(rt.id);
    }
  }

  /** Deletes this host's leased Pods and stops watching; idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    const all = [...this.runtimes.values()];
    for (const rt of all) this.signal(rt, 'SIGKILL');
    await Promise.all(all.map((rt) => rt.gone));
    if (this.options.deleteWarmOnClose === true) {
      await Promise.all([...this.watch.pods.values()].filter((p) => labelOf(p, LABEL.state) === 'warm')
        .map((p) => this.deleteNow(p.metadata!.name!, 0)));
    }
    this.watch.close();
    await this.coordinator.close();
  }

  // ---- leasing ----

  private queueOf(preset: PodPreset): PodRuntime[] {
    let queue = this.waiters.get(preset.name);
    if (queue === undefined) this.waiters.set(preset.name, queue = []);
    return queue;
  }

  private dropWaiter(rt: PodRuntime): void {
    const queue = this.queueOf(rt.preset);
    const at = queue.indexOf(rt);
    if (at >= 0) queue.splice(at, 1);
  }

  /** Hands Ready warm Pods to waiting spawns, oldest spawn first. */
  private pump(preset: PodPreset): void {
    const queue = this.queueOf(preset);
    if (this.closed || this.started === null) return;
    while (queue.length > 0) {
      const pod = this.freePod(preset);
      if (pod === null) break;
      this.lease(queue.shift()!, pod);
    }
    if (queue.length > 0) this.scheduleReconcile();
  }

  private freePod(preset: PodPreset): V1Pod | null {
    for (const pod of this.watch.pods.values()) {
      const name = pod.metadata!.name!;
      if (labelOf(pod, LABEL.preset) !== preset.name || labelOf(pod, LABEL.state) !== 'warm') continue;
      if (this.claiming.has(name) || this.deleting.has(name) || pod.metadata?.deletionTimestamp !== undefined) continue;
      if (!isReady(pod) || !this.ownsToken(pod)) continue;
      if (this.lost.get(name) === pod.metadata?.resourceVersion) continue;
      return pod;
    }
    return null;
  }

  private lease(rt: PodRuntime, pod: V1Pod): void {
    const name = pod.metadata!.name!;
    this.claiming.add(name);
    rt.phase = 'leasing';
    const body = { metadata: { resourceVersion: pod.metadata!.resourceVersion, labels: { [LABEL.state]: 'leased', [LABEL.holder]: this.options.hostId } } };
    this.api.patchNamespacedPod({ name, namespace: this.options.namespace, body }, MERGE_PATCH).then((leased) => {
      if (rt.phase === 'gone' || this.closed) {
        this.claiming.delete(name);
        this.deletePod(name, 0); // leased for a spawn that was given up: nobody else may have it now
        return;
      }
      rt.pod = name;
      this.byPod.set(name, rt);
      this.claiming.delete(name);
      this.open(rt, leased.status?.podIP ?? pod.status!.podIP!);
    }, (err: unknown) => {
      this.claiming.delete(name);
      const status = statusOf(err);
      // 409: another gateway leased it first (or it changed); 404: it is gone. Either way: another Pod.
      if (status === 409 || status === 404) this.lost.set(name, pod.metadata!.resourceVersion ?? '');
      else this.log(`kubernetes host: leasing the Pod ${name} failed (${describe(err)})`);
      if (rt.phase === 'gone') return;
      rt.phase = 'waiting';
      this.queueOf(rt.preset).unshift(rt);
      if (status === 409 || status === 404) this.pump(rt.preset);
      else setTimeout(() => this.pump(rt.preset), 500).unref();
    });
  }

  /** Connects to the leased Pod and authenticates; the channel is attached once connected. */
  private open(rt: PodRuntime, ip: string): void {
    rt.phase = 'connecting';
    const name = rt.pod!;
    const socket: Socket = tcpConnect({ host: ip, port: this.options.runtimePort });
    socket.setNoDelay(true);
    // A node that vanishes leaves no FIN: keepalive finds the dead peer (the call's timeout bounds it anyway).
    socket.setKeepAlive(true, 15_000);
    socket.setTimeout(CONNECT_TIMEOUT_MS);
    const fail = (why: string): void => {
      socket.destroy();
      if (rt.phase !== 'connecting') return;
      this.keepOutput(rt, `could not connect to the runtime Pod ${name} at ${ip}:${this.options.runtimePort}: ${why}`);
      rt.killed = true;
      this.deletePod(name, 0);
      this.report(rt, { exitCode: null, signal: null, oomKilled: false, reason: `the Pod ${name} could not be reached` });
    };
    socket.once('timeout', () => fail('timed out'));
    socket.once('error', (err) => fail(err.message));
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('timeout');
      socket.removeAllListeners('error');
      if (rt.phase !== 'connecting') {
        socket.destroy();
        return;
      }
      rt.phase = 'attached';
      socket.write(encodeFrame({ t: 'auth', id: 0, token: podToken(this.options.tokenKey, this.options.pool, name) }));
      rt.channel.attach(socket);
    });
  }

  // ---- watching ----

  private onPod(type: PodEvent, pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (name === undefined) return;
    this.creating.get(labelOf(pod, LABEL.preset) ?? '')?.delete(name);
    if (type === 'DELETED') {
      this.deleting.delete(name);
      this.lost.delete(name);
    }
    const rt = this.byPod.get(name);
    if (rt !== undefined && rt.phase !== 'gone' && (type === 'DELETED' || ended(pod))) this.podEnded(rt, pod, type === 'DELETED');
    if (labelOf(pod, LABEL.state) === 'warm' && isReady(pod)) this.pump(this.presetNamed(labelOf(pod, LABEL.preset)) ?? this.options.presets[0]!);
    this.scheduleReconcile();
  }

  /** A leased Pod ended: its exit as a local process's would be, with what Kubernetes says of it. */
  private podEnded(rt: PodRuntime, pod: V1Pod, deleted: boolean): void {
    const name = pod.metadata!.name!;
    const status = pod.status?.containerStatuses?.[0]?.state?.terminated;
    if (status?.message !== undefined && status.message !== '') this.keepOutput(rt, status.message);
    let exitCode: number | null = status?.exitCode ?? null;
    let signal: NodeJS.Signals | null = null;
    // A container runtime reports a death by signal as 128 + its number (137 for SIGKILL).
    if (exitCode !== null && exitCode > 128 && exitCode < 128 + 65) {
      const sig = Object.entries(constants.signals).find(([, n]) => n === exitCode! - 128)?.[0] as NodeJS.Signals | undefined;
      if (sig !== undefined) {
        signal = sig;
        exitCode = null;
      }
    }
    if (status === undefined && (deleted || pod.metadata?.deletionTimestamp !== undefined)) signal = 'SIGKILL';
    const exit: RuntimeExit = { exitCode, signal, oomKilled: status?.reason === 'OOMKilled' };
    if (pod.status?.reason === 'Evicted') exit.reason = `the Pod ${name} was evicted: ${pod.status.message ?? ''}`.trim();
    else if (!rt.killed && (deleted || pod.metadata?.deletionTimestamp !== undefined)) exit.reason = `the Pod ${name} was deleted`;
    else if (status === undefined && pod.status?.phase === 'Failed') exit.reason = `the Pod ${name} failed: ${pod.status.reason ?? ''} ${pod.status.message ?? ''}`.trim();
    this.report(rt, exit);
    if (!deleted) this.deletePod(name, 0);
  }

  private report(rt: PodRuntime, exit: RuntimeExit): void {
    if (rt.phase === 'gone') return;
    rt.phase = 'gone';
    clearTimeout(rt.killTimer);
    this.dropWaiter(rt);
    if (rt.pod !== null) this.byPod.delete(rt.pod);
    rt.channel.destroy();
    try {
      rt.events.onExit(exit);
    } finally {
      rt.settleGone();
    }
  }

  // ---- filling, trimming, strays ----

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.closed || this.started === null) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      this.reconcile();
    });
  }

  private reconcile(): void {
    if (this.closed) return;
    const filler = this.coordinator.isFiller();
    const warm = new Map<string, V1Pod[]>();
    for (const pod of this.watch.pods.values()) {
      const name = pod.metadata!.name!;
      if (pod.metadata?.deletionTimestamp !== undefined || this.deleting.has(name)) continue;
      const state = labelOf(pod, LABEL.state);
      const holder = labelOf(pod, LABEL.holder);
      if (this.byPod.has(name) || this.claiming.has(name)) continue;
      const preset = this.presetNamed(labelOf(pod, LABEL.preset));
      if (state === 'warm' && !ended(pod) && preset !== undefined && this.ownsToken(pod)) {
        const list = warm.get(preset.name) ?? [];
        list.push(pod);
        warm.set(preset.name, list);
        continue;
      }
      // Strays: ended Pods nobody will report; leased Pods whose holder is gone (or a past life of
      // this host); warm Pods this configuration cannot use (another preset list or token key).
      const stray = ended(pod)
        ? state === 'warm' || holder === undefined || holder === this.options.hostId || !this.coordinator.isAlive(holder)
        : state === 'leased'
          ? holder === undefined || holder === this.options.hostId || !this.coordinator.isAlive(holder)
          : filler;
      if (stray) this.deletePod(name, 0);
    }
    for (const preset of this.options.presets) {
      const pods = warm.get(preset.name) ?? [];
      const waiting = this.queueOf(preset).length;
      const supply = pods.length + (this.creating.get(preset.name)?.size ?? 0);
      const target = (filler ? preset.warm : 0) + waiting;
      if (supply < target) {
        for (let i = 0; i < Math.min(CREATE_BURST, target - supply); i++) this.createPod(preset);
      } else if (filler && waiting === 0 && pods.length > preset.warm) {
        // A surplus (a burst's Pods that came too late): Pods Ready and unleased for surplusIdleMs
        // go, oldest first, each only if still unleased. Younger ones may be another gateway's,
        // made for its own waiting spawns.
        const idle = pods.filter((p) => readySince(p) <= Date.now() - (this.options.surplusIdleMs ?? 30_000)).sort((a, b) => age(a) - age(b));
        for (const pod of idle.slice(0, pods.length - preset.warm)) this.deletePod(pod.metadata!.name!, 0, pod.metadata!.resourceVersion);
      }
      if (waiting > 0) this.pump(preset);
    }
  }

  private createPod(preset: PodPreset): void {
    const name = `${this.options.pool}-rt-${preset.name}-${randomBytes(4).toString('hex')}`;
    const body = buildPod(this.options, preset, name, this.options.tokenKey, this.options.hostId);
    let pending = this.creating.get(preset.name);
    if (pending === undefined) this.creating.set(preset.name, pending = new Set());
    pending.add(name);
    const forget = (): void => {
      pending.delete(name);
      this.scheduleReconcile();
    };
    this.api.createNamespacedPod({ namespace: this.options.namespace, body }).then(() => {
      // Created: it stays supply until the watch shows it (onPod), or a minute at most.
      if (this.watch.pods.has(name)) forget();
      else setTimeout(forget, 60_000).unref();
    }, (err: unknown) => {
      this.log(`kubernetes host: creating a runtime Pod failed (${describe(err)})`);
      // Failed waiting spawns are not failed here: they time out in the pool (spawnTimeoutMs) if nothing comes.
      forget();
    });
  }

  /** Deletes a Pod (at most once per Pod); `resourceVersion`: only if it has not changed since. */
  private deletePod(name: string, graceSeconds: number, resourceVersion?: string): void {
    if (this.deleting.has(name)) return;
    this.deleting.add(name);
    void this.deleteNow(name, graceSeconds, resourceVersion).then((ok) => {
      if (!ok) this.deleting.delete(name);
    });
  }

  private async deleteNow(name: string, graceSeconds: number, resourceVersion?: string): Promise<boolean> {
    try {
      await this.api.deleteNamespacedPod({
        name, namespace: this.options.namespace, gracePeriodSeconds: graceSeconds,
        ...(resourceVersion !== undefined ? { body: { preconditions: { resourceVersion } } } : {}),
      });
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return true;
      if (status !== 409) this.log(`kubernetes host: deleting the Pod ${name} failed (${describe(err)})`);
      return false;
    }
  }

  // ---- helpers ----

  private ownsToken(pod: V1Pod): boolean {
    const hash = pod.metadata?.annotations?.[ANNOTATION.tokenHash];
    return hash === tokenHash(podToken(this.options.tokenKey, this.options.pool, pod.metadata!.name!));
  }

  private presetNamed(name: string | undefined): PodPreset | undefined {
    return this.options.presets.find((p) => p.name === name);
  }

  private keepOutput(rt: PodRuntime, text: string): void {
    this.outputs.set(rt.id, text.slice(-4096));
    if (this.outputs.size > KEEP_OUTPUTS) this.outputs.delete(this.outputs.keys().next().value!);
  }

  private locate(dir: string): string {
    const real = realpathOr(dir);
    for (const root of this.codeRoots) {
      const rel = relative(root, real);
      if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return real;
    }
    throw new PlatformError('RUNTIME_UNAVAILABLE', `the function's code directory ${dir} is outside the code roots (${this.codeRoots.join(', ')})`);
  }

  private get(rt: HostedRuntime): PodRuntime {
    const r = this.runtimes.get(rt.id);
    if (r === undefined) throw new PlatformError('INTERNAL_ERROR', `unknown runtime ${rt.id}`);
    return r;
  }
}

function labelOf(pod: V1Pod, key: string): string | undefined {
  return pod.metadata?.labels?.[key];
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.podIP !== undefined && pod.status.phase === 'Running'
    && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function ended(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || pod.status?.containerStatuses?.[0]?.state?.terminated !== undefined;
}

/** When the Pod became Ready (ms), or now when it is not. */
function readySince(pod: V1Pod): number {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True');
  return ready?.lastTransitionTime === undefined ? Date.now() : new Date(ready.lastTransitionTime).getTime();
}

function age(pod: V1Pod): number {
  const at = pod.metadata?.creationTimestamp;
  return at === undefined ? 0 : new Date(at).getTime();
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
