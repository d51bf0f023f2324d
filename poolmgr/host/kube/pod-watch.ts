/**
 * A cache of the pool's Pods kept by list + watch: the list gives a resourceVersion, the watch
 * goes on from it (with bookmarks, so a quiet watch still advances), a dropped watch resumes from
 * the last version seen, and a version the API server no longer has (410 Gone, after a restart or
 * a compaction) makes it re-list: Pods that vanished meanwhile are reported deleted.
 */
import type { CoreV1Api, V1Pod, Watch } from '@kubernetes/client-node';

export type PodEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5_000;
/** The API server ends each watch after this; it is then resumed. */
const WATCH_TIMEOUT_S = 290;

export class PodWatch {
  readonly pods = new Map<string, V1Pod>();
  private resourceVersion = '';
  private closed = false;
  private abort: AbortController | null = null;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private synced: Promise<void> | null = null;

  constructor(
    private readonly api: CoreV1Api,
    private readonly watcher: Watch,
    private readonly namespace: string,
    private readonly labelSelector: string,
    private readonly onEvent: (type: PodEvent, pod: V1Pod) => void,
    private readonly log: (line: string) => void,
  ) {}

  /** Lists once (rejects if the API server refuses: unreachable, no RBAC) and keeps watching. */
  start(): Promise<void> {
    this.synced ??= this.list().then(() => this.watch());
    return this.synced;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort?.abort();
    this.abort = null;
  }

  private async list(): Promise<void> {
    const list = await this.api.listNamespacedPod({ namespace: this.namespace, labelSelector: this.labelSelector });
    if (this.closed) return;
    const seen = new Set<string>();
    for (const pod of list.items) {
      const name = pod.metadata?.name;
      if (name === undefined) continue;
      seen.add(name);
      const had = this.pods.has(name);
      this.pods.set(name, pod);
      this.onEvent(had ? 'MODIFIED' : 'ADDED', pod);
    }
    for (const [name, pod] of this.pods) {
      if (seen.has(name)) continue;
      this.pods.delete(name);
      this.onEvent('DELETED', pod);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
  }

  private watch(): void {
    if (this.closed) return;
    let expired = false;
    let settled = false;
    const done = (err: unknown): void => {
      if (settled) return;
      settled = true;
      this.abort = null;
      if (this.closed) return;
      if (expired || statusOf(err) === 410) {
        this.log(`kubernetes host: the watch's resourceVersion ${this.resourceVersion} expired (410 Gone): re-listing the Pods`);
        this.relist();
        return;
      }
      if (err !== null && err !== undefined) {
        this.failures++;
        if (this.failures === 1 || this.failures % 10 === 0) this.log(`kubernetes host: the Pod watch failed (${describe(err)}); resuming`);
      }
      this.retry(() => this.watch(), err === null || err === undefined ? 0 : undefined);
    };
    const path = `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods`;
    this.watcher.watch(path, {
      labelSelector: this.labelSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_S,
    }, (type, obj: V1Pod & { code?: number }) => {
      if (type === 'ERROR') {
        if (obj.code === 410) expired = true;
        this.abort?.abort();
        done(expired ? null : new Error(`watch error ${JSON.stringify(obj)}`));
        return;
      }
      this.failures = 0;
      const rv = obj.metadata?.resourceVersion;
      if (rv !== undefined) this.resourceVersion = rv;
      if (type === 'BOOKMARK') return;
      const name = obj.metadata?.name;
      if (name === undefined) return;
      if (type === 'DELETED') this.pods.delete(name);
      else this.pods.set(name, obj);
      this.onEvent(type as PodEvent, obj);
    }, done).then((abort) => {
      if (settled || this.closed) abort.abort();
      else this.abort = abort;
    }, done);
  }

  private relist(): void {
    this.list().then(() => {
      this.failures = 0;
      this.watch();
    }, (err: unknown) => {
      this.failures++;
      if (this.failures === 1 || this.failures % 10 === 0) this.log(`kubernetes host: listing the Pods failed (${describe(err)}); retrying`);
      this.retry(() => this.relist());
    });
  }

  private retry(step: () => void, delayMs?: number): void {
    if (this.closed) return;
    const delay = delayMs ?? Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(10, this.failures - 1));
    this.timer = setTimeout(step, delay);
    this.timer.unref();
  }
}

/** The HTTP status behind a client error, if any. */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown; status?: unknown };
  for (const v of [e.code, e.statusCode, e.status]) if (typeof v === 'number') return v;
  return undefined;
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0]!.slice(0, 300);
  return String(err).slice(0, 300);
}
