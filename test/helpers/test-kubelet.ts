/**
 * A small kubelet for the kube tier: it does, through the real API server, what a node does for
 * the runtime Pods, and runs their container as a local process.
 *
 * - binds every pending Pod of the namespace to its node (`pods/binding`), as the scheduler would;
 * - starts a bound Pod's container: the image's paths are mapped to this checkout, each volume
 *   becomes a directory (emptyDir; downward-API files written from the Pod's annotations), the
 *   container listens on the Pod's own loopback address 127.0.1.N, and the whole container runs
 *   in its own PID namespace (`unshare --pid --kill-child`), so killing it ends every process in
 *   it, as a container's end does;
 * - patches `pods/status`: Running with the Pod IP at once, Ready only once its port accepts;
 *   Succeeded/Failed with the container's exit code (128 + signal when killed) and, on failure,
 *   the tail of its output as the termination message (FallbackToLogsOnError);
 * - finishes deletions: a Pod with a deletionTimestamp is killed (SIGTERM, SIGKILL after its
 *   grace period; at once for 0), its final status written, and its object removed.
 * It does not enforce resources or the security context (docs/kubernetes.md says what differs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { sleep, track, waitPort } from './kube-cluster.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface KubeletOptions {
  config: KubeConfig;
  namespace: string;
  nodeName?: string;
  pythonPath: string;
  /** Image path prefix → directory here, e.g. `/opt/fastapi-platform` → the checkout. */
  imagePaths: Record<string, string>;
}

interface Container {
  name: string;
  uid: string;
  ip: string;
  child: ChildProcess;
  output: string;
  exited: Promise<void>;
  exit: { code: number | null } | null;
  killing: boolean;
  /** Set by evict(): the final status says Evicted, as a node under pressure reports it. */
  evicted: string | null;
}

export class TestKubelet {
  private readonly api: CoreV1Api;
  private readonly node: string;
  private readonly containers = new Map<string, Container>();
  private readonly binding = new Set<string>();
  private readonly finishing = new Set<string>();
  private dir = '';
  private nextIp = 0;
  private abort: AbortController | null = null;
  private closed = false;
  private resourceVersion = '';
  /** Pods started so far (names), for tests that count. */
  readonly started: string[] = [];

  constructor(private readonly options: KubeletOptions) {
    this.api = options.config.makeApiClient(CoreV1Api);
    this.node = options.nodeName ?? 'test-node';
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'fp-kubelet-'));
    await this.relist();
    void this.watchLoop();
  }

  /** Kills every container at once (as a node that died would), without touching the API. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort?.abort();
    for (const c of this.containers.values()) c.child.kill('SIGKILL');
    await Promise.all([...this.containers.values()].map((c) => c.exited));
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Kills a Pod's container as a crash would (SIGKILL from outside: exit 137). */
  crash(pod: string): void {
    this.containers.get(pod)?.child.kill('SIGKILL');
  }

  /** Evicts a Pod as a node under memory pressure does: kills it, and its status says Evicted. */
  evict(pod: string): void {
    const c = this.containers.get(pod);
    if (c === undefined) return;
    c.evicted = 'The node was low on resource: memory.';
    c.child.kill('SIGKILL');
  }

  private async relist(): Promise<void> {
    const list = await this.api.listNamespacedPod({ namespace: this.options.namespace });
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    for (const pod of list.items) this.onPod('MODIFIED', pod);
  }

  private async watchLoop(): Promise<void> {
    const watch = new Watch(this.options.config);
    while (!this.closed) {
      const ended = new Promise<'again' | 'relist'>((resolve) => {
        let gone = false;
        watch.watch(`/api/v1/namespaces/${this.options.namespace}/pods`, { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
          (type, obj: V1Pod & { code?: number }) => {
            if (type === 'ERROR') {
              gone = obj.code === 410;
              return;
            }
            if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
            if (type !== 'BOOKMARK') this.onPod(type, obj);
          },
          (err: { statusCode?: number } | null) => resolve(gone || err?.statusCode === 410 ? 'relist' : 'again'),
        ).then((a) => { this.abort = a; }, () => resolve('again'));
      });
      const next = await ended;
      if (this.closed) return;
      await sleep(100);
      if (next === 'relist') await this.relist().catch(() => {});
    }
  }

  private onPod(type: string, pod: V1Pod): void {
    const name = pod.metadata!.name!;
    if (type === 'DELETED') {
      const c = this.containers.get(name);
      if (c !== undefined && c.uid === pod.metadata!.uid) c.child.kill('SIGKILL');
      return;
    }
    if (pod.spec?.nodeName === undefined || pod.spec.nodeName === '') {
      if (pod.metadata?.deletionTimestamp === undefined) void this.bind(name);
      return;
    }
    if (pod.spec.nodeName !== this.node) return;
    const c = this.containers.get(name);
    if (pod.metadata?.deletionTimestamp !== undefined) {
      void this.finish(pod, c);
      return;
    }
    if (c === undefined && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && pod.status?.phase !== 'Running') void this.run(pod);
  }

  private async bind(name: string): Promise<void> {
    if (this.binding.has(name)) return;
    this.binding.add(name);
    try {
      await this.api.createNamespacedPodBinding({
        name, namespace: this.options.namespace,
        body: { metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: this.node } },
      });
    } catch {
      this.binding.delete(name); // retried at the next event
    }
  }

  private async run(pod: V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    const n = this.nextIp++;
    const ip = `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
    const podDir = join(this.dir, name);
    const spec = pod.spec!.containers[0]!;
    const mounts = new Map<string, string>();
    for (const m of spec.volumeMounts ?? []) {
      const volume = pod.spec!.volumes?.find((v) => v.name === m.name);
      const dir = join(podDir, m.name);
      await mkdir(dir, { recursive: true });
      for (const source of volume?.projected?.sources ?? []) {
        for (const item of source.downwardAPI?.items ?? []) {
          await writeFile(join(dir, item.path), fieldValue(pod, item.fieldRef?.fieldPath ?? ''));
        }
      }
      mounts.set(m.mountPath, dir);
    }
    const map = (arg: string): string => {
      for (const [from, to] of [...mounts, ...Object.entries(this.options.imagePaths)]) {
        if (arg === from || arg.startsWith(`${from}/`)) return to + arg.slice(from.length);
      }
      return arg.replace(/^tcp:0\.0\.0\.0:/, `tcp:${ip}:`);
    };
    const command = [...(spec.command ?? []), ...(spec.args ?? [])];
    const argv = [this.options.pythonPath, ...command.slice(1).map(map)];
    const env = Object.fromEntries((spec.env ?? []).map((e) => [e.name, e.value ?? '']));
    const unshare = ['--pid', '--fork', '--kill-child', ...(process.geteuid?.() === 0 ? [] : ['--map-root-user'])];
    const child = spawn('unshare', [...unshare, '--', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env, HOME: join(podDir, 'tmp') },
    });
    track(child);
    const c: Container = {
      name, uid: pod.metadata!.uid!, ip, child, output: '', exit: null, killing: false, evicted: null,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => {
        c.exit = { code: code ?? (signal !== null ? 128 + signalNumber(signal) : null) };
        resolve();
      })),
    };
    const keep = (b: Buffer): void => { c.output = (c.output + b.toString()).slice(-2048); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.containers.set(name, c);
    this.started.push(name);
    const now = new Date();
    await this.status(name, {
      phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '127.0.0.1', startTime: now,
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [{ name: spec.name, image: spec.image ?? '', imageID: '', ready: false, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
    });
    void c.exited.then(() => this.exited(pod, c));
    const port = spec.ports?.[0]?.containerPort;
    if (port !== undefined) {
      try {
        await waitPort(port, 30_000, () => c.output, ip);
      } catch {
        return; // never listened: its exit (or deletion) ends it
      }
      if (c.exit !== null || c.killing) return;
      await this.status(name, {
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }],
        containerStatuses: [{ name: spec.name, image: spec.image ?? '', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
      });
    }
  }

  /** The container ended: its final status, and the object's removal if it was being deleted. */
  private async exited(pod: V1Pod, c: Container): Promise<void> {
    const name = pod.metadata!.name!;
    const code = c.exit?.code ?? 137;
    const spec = pod.spec!.containers[0]!;
    const failed = code !== 0;
    await this.status(name, {
      phase: failed ? 'Failed' : 'Succeeded',
      ...(c.evicted !== null ? { reason: 'Evicted', message: c.evicted } : {}),
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: new Date() }],
      containerStatuses: [{
        name: spec.name, image: spec.image ?? '', imageID: '', ready: false, restartCount: 0, started: false,
        state: { terminated: { exitCode: code, reason: failed ? 'Error' : 'Completed', finishedAt: new Date(), ...(failed && spec.terminationMessagePolicy === 'FallbackToLogsOnError' ? { message: c.output } : {}) } },
      }],
    }).catch(() => {});
    this.containers.delete(name);
    if (c.killing) await this.remove(name, c.uid);
  }

  private async finish(pod: V1Pod, c: Container | undefined): Promise<void> {
    const name = pod.metadata!.name!;
    if (c === undefined) {
      await this.remove(name, pod.metadata!.uid!);
      return;
    }
    if (c.killing) return;
    c.killing = true;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? 0;
    if (grace <= 0) c.child.kill('SIGKILL');
    else {
      c.child.kill('SIGTERM');
      const timer = setTimeout(() => c.child.kill('SIGKILL'), grace * 1000);
      void c.exited.then(() => clearTimeout(timer));
    }
  }

  private async remove(name: string, uid: string): Promise<void> {
    if (this.finishing.has(uid)) return;
    this.finishing.add(uid);
    await this.api.deleteNamespacedPod({ name, namespace: this.options.namespace, gracePeriodSeconds: 0, body: { preconditions: { uid } } }).catch(() => {});
  }

  private async status(name: string, status: Record<string, unknown>): Promise<void> {
    await this.api.patchNamespacedPodStatus({ name, namespace: this.options.namespace, body: { status } }, MERGE_PATCH).catch(() => {});
  }
}

function fieldValue(pod: V1Pod, path: string): string {
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return pod.metadata?.annotations?.[annotation[1]!] ?? '';
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return pod.metadata?.labels?.[label[1]!] ?? '';
  if (path === 'metadata.name') return pod.metadata?.name ?? '';
  if (path === 'metadata.namespace') return pod.metadata?.namespace ?? '';
  return '';
}

function signalNumber(signal: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 9;
}
