/**
 * A small piscina pool that checks bundles in worker threads, so decoding and hashing a large
 * deploy never blocks the API or a co-located gateway. The worker is the compiled worker.js next
 * to this file (resolved from import.meta.url, so it works wherever dist/ is).
 *
 * `check` runs the cheap checks here (they read only lengths and paths), then sends the contents
 * to the workers in batches of about BATCH_CHARS, yielding to the event loop between batches:
 * handing a thread a message copies its strings on this thread, so one 28 MB message would itself
 * be a stall. `checkJson` moves the raw request body to a worker, which parses it there too.
 *
 * Every task has a timeout that counts its running time (a thread tells when it starts; time
 * spent queued behind other uploads does not count). Past it the task fails with
 * BUNDLE_CHECK_TIMEOUT and piscina terminates its thread, so a thread that never answers cannot
 * hold the pool: the next task gets a fresh thread at once.
 *
 * Tasks wait here, not in piscina's queue: piscina (5.3) never ran the tasks queued behind one it
 * terminated for its abort (a check past its timeout under load), and every one of those uploads
 * hung for good (CI, 2026-12-05; reproduced: 6 checks on one thread, the first past its timeout,
 * the other 5 never answered). piscina only ever gets as many tasks as it has threads.
 *
 * The tasks waiting take turns by workspace (`checkUpload`'s `workspace`; red team round 5 of
 * 2026-12-05): a freed thread goes to the waiting task of the workspace running the fewest,
 * served longest ago, in order within a workspace. First come first served, a tenant uploading
 * 40 MiB versions from eight loops kept the queue full, and another workspace's small upload
 * waited behind all of them (0.2 s became 4.5-7.5 s here, for as long as it went on).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { MAX_MANIFEST_BYTES, PlatformError } from '../../protocol/index.js';
import { assemble, bundleLimits, planBundle, type BundleLimits, type CheckedBundle, type PlannedFile } from './check.js';
import { BundleError } from './errors.js';
import type { WorkerReply, WorkerTask } from './worker.js';

export interface BundlePoolOptions {
  /** Default min(4, cores - 1), at least 1. */
  maxThreads?: number;
  /** Threads idle this long exit. Default 30 s. */
  idleTimeoutMs?: number;
  /** Defaults for `check` (1000 files, 50 MiB total, 10 MiB per file). */
  limits?: Partial<BundleLimits>;
  /** How long one task may run in a thread before it fails with BUNDLE_CHECK_TIMEOUT and the thread is replaced. Default 30 s. */
  taskTimeoutMs?: number;
  /** Where a thread's failure outside any task is reported. Default stderr. */
  log?: (line: string) => void;
}

export const DEFAULT_TASK_TIMEOUT_MS = 30_000;

export const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Base64 characters per worker message (~3 MiB decoded); one larger file travels alone. */
const BATCH_CHARS = 4 * 1024 * 1024;

type Hashed = Map<string, { sha256: string; size: number; content: Uint8Array }>;

function batches(entries: readonly PlannedFile[]): PlannedFile[][] {
  const out: PlannedFile[][] = [];
  let current: PlannedFile[] = [];
  let chars = 0;
  for (const e of entries) {
    if (e.base64 === null) continue;
    if (current.length > 0 && chars + e.base64.length > BATCH_CHARS) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(e);
    chars += e.base64.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** A checked upload: its files, and its body with every `contentBase64` emptied. */
export interface CheckedUpload {
  bundle: CheckedBundle;
  /** The request body; `files[i].contentBase64` is '' where content was sent. */
  body: Record<string, unknown>;
  /** One per file, in the order sent: its normalised path and request field. */
  planned: PlannedFile[];
}

/** The successful reply, or its BundleError (or PlatformError for a bad body) thrown; records each hashed file in `into`. */
function collect(reply: WorkerReply, into: Hashed): WorkerReply & { ok: true } {
  if (!reply.ok && 'invalid' in reply) {
    const { code, message, ...details } = reply.invalid;
    throw new PlatformError(code, message, details);
  }
  if (!reply.ok) throw new BundleError(reply.problem);
  for (const f of reply.hashed) {
    into.set(f.path, { sha256: f.sha256, size: f.size, content: new Uint8Array(reply.buffer, f.offset, f.size) });
  }
  return reply;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What piscina's transferList accepts at run time (its type, derived from MessagePort.postMessage's last overload in this @types/node, takes options). */
type TransferList = NonNullable<Parameters<Piscina['run']>[1]>['transferList'];

/**
 * `json` as a buffer of its own, to move to a worker: the caller's view is detached when it spans
 * its whole ArrayBuffer, else the bytes are copied. An empty one is never moved: a zero-length
 * view is often a shared constant, and detaching it broke every later empty body (a 500 found by
 * the API fuzz test, test/e2e/api-schemathesis.test.ts).
 */
function own(json: Uint8Array): Uint8Array {
  if (json.byteLength === 0) return new Uint8Array(0);
  const whole = json.byteOffset === 0 && json.byteLength === json.buffer.byteLength && json.buffer instanceof ArrayBuffer;
  return whole ? json : new Uint8Array(json);
}

export class BundlePool {
  private readonly piscina: Piscina<WorkerTask, WorkerReply>;
  private readonly limits: BundleLimits;
  readonly #timeoutMs: number;
  readonly #log: (line: string) => void;
  /** Aborted by close(): queued and running tasks fail with SHUTTING_DOWN. */
  readonly #stop = new AbortController();
  #closing: Promise<void> | null = null;
  readonly #maxThreads: number;
  /** Tasks handed to piscina (at most #maxThreads), and those waiting for one of them to end. */
  #active = 0;
  readonly #waiting: { workspace: string; grant: (granted: boolean) => void }[] = [];
  /** Per workspace: tasks running, and when it was last given a thread (a count of turns). */
  readonly #activeOf = new Map<string, number>();
  readonly #servedAt = new Map<string, number>();
  #turns = 0;

  constructor(options: BundlePoolOptions = {}) {
    const maxThreads = options.maxThreads ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    this.#maxThreads = maxThreads;
    this.limits = bundleLimits(options.limits);
    this.#timeoutMs = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    this.piscina = new Piscina<WorkerTask, WorkerReply>({
      filename: WORKER_FILE,
      minThreads: 0,
      maxThreads,
      idleTimeout: options.idleTimeoutMs ?? 30_000,
    });
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.#log = log;
    // Without a listener an 'error' event would throw: a thread failing between tasks must not stop the platform.
    this.piscina.on('error', (err: unknown) => log(`bundles: a worker thread failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  /**
   * Runs one task with the timeout: the thread posts on `started` when it begins, which starts
   * the clock. Aborting a running task makes piscina terminate its thread (a replacement starts
   * with the next task); aborting a queued one takes it out of the queue.
   */
  async #run(task: WorkerTask, transfer: ArrayBuffer[] = [], workspace = ''): Promise<WorkerReply> {
    if (this.#stop.signal.aborted || !(await this.#slot(workspace))) throw new PlatformError('SHUTTING_DOWN', 'the platform is stopping; the upload was not checked');
    try {
      return await this.#runNow(task, transfer);
    } finally {
      this.#release(workspace);
    }
  }

  /** A thread's turn: at once when fewer tasks than threads run, else when one ends (false: the pool closed meanwhile). */
  #slot(workspace: string): Promise<boolean> | boolean {
    if (this.#active < this.#maxThreads) {
      this.#active++;
      this.#started(workspace);
      return true;
    }
    return new Promise((grant) => this.#waiting.push({ workspace, grant }));
  }

  #started(workspace: string): void {
    this.#activeOf.set(workspace, (this.#activeOf.get(workspace) ?? 0) + 1);
    this.#servedAt.set(workspace, ++this.#turns);
  }

  /** A task ended: its thread goes to the workspace running the fewest, served longest ago (in order within it). */
  #release(workspace: string): void {
    const left = (this.#activeOf.get(workspace) ?? 0) - 1;
    if (left > 0) this.#activeOf.set(workspace, left);
    else this.#activeOf.delete(workspace);
    if (this.#waiting.length === 0) {
      this.#active--;
      if (this.#active === 0) this.#servedAt.clear();
      return;
    }
    let best = 0;
    for (let i = 1; i < this.#waiting.length; i++) if (this.#before(this.#waiting[i]!.workspace, this.#waiting[best]!.workspace)) best = i;
    const [next] = this.#waiting.splice(best, 1);
    this.#started(next!.workspace);
    next!.grant(true);
  }

  /** Whether workspace `a`'s waiting task goes before `b`'s: fewer running, then served longer ago. */
  #before(a: string, b: string): boolean {
    const running = (this.#activeOf.get(a) ?? 0) - (this.#activeOf.get(b) ?? 0);
    if (running !== 0) return running < 0;
    return (this.#servedAt.get(a) ?? 0) < (this.#servedAt.get(b) ?? 0);
  }

  async #runNow(task: WorkerTask, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    port1.once('message', () => {
      timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, this.#timeoutMs);
    });
    // A listener removed below rather than AbortSignal.any, which keeps every task's signal tied to the long-lived one.
    const onStop = (): void => abort.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    const transferList = [...transfer, port2] as unknown as TransferList;
    try {
      return await this.piscina.run({ ...task, started: port2 }, { transferList, signal: abort.signal });
    } catch (err) {
      if (timedOut) {
        this.#log(`bundles: a check (${task.kind} task) ran longer than ${this.#timeoutMs} ms (BUNDLE_CHECK_TIMEOUT); its worker thread was stopped and is replaced`);
        throw new PlatformError('BUNDLE_CHECK_TIMEOUT', `checking the upload took longer than ${this.#timeoutMs} ms; its worker thread was replaced`, { field: 'files', limit: this.#timeoutMs });
      }
      if (this.#stop.signal.aborted) throw new PlatformError('SHUTTING_DOWN', 'the platform is stopping; the upload was not checked');
      throw err;
    } finally {
      clearTimeout(timer);
      port1.close();
      this.#stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** Checks parsed files (a list or a path→base64 map); BundleError on the first problem. */
  async check(files: unknown, limits?: Partial<BundleLimits>): Promise<CheckedBundle> {
    const entries = planBundle(files, { ...this.limits, ...limits });
    const hashed: Hashed = new Map();
    const pending: Promise<void>[] = [];
    for (const [i, batch] of batches(entries).entries()) {
      if (i > 0) await nextTurn();
      const done = this.#run({ kind: 'hash', entries: batch }).then((reply) => void collect(reply, hashed));
      done.catch(() => {}); // observed below by Promise.all; this only keeps an early failure from being "unhandled"
      pending.push(done);
    }
    await Promise.all(pending);
    return assemble(entries, hashed);
  }

  /**
   * Checks the raw JSON text of the files value (a list or a map), so a large request body is
   * parsed in a worker too. When `json` spans its whole ArrayBuffer (as a request body gathered
   * with Buffer.concat does) that buffer is moved to the worker and the caller's view is left
   * detached (empty); otherwise, e.g. for a small pooled Buffer, the bytes are copied.
   */
  async checkJson(json: Uint8Array, limits?: Partial<BundleLimits>): Promise<CheckedBundle> {
    const bytes = own(json);
    const hashed: Hashed = new Map();
    const reply = collect(await this.#run({ kind: 'json', json: bytes, limits: { ...this.limits, ...limits } }, [bytes.buffer as ArrayBuffer]), hashed);
    return assemble(reply.planned ?? [], hashed);
  }

  /**
   * Checks a whole upload body (`{files: [...], ...}`) in a worker: UTF-8 and nesting depth
   * (protocol/json-text.ts), JSON parsing, the manifest's size, path and size checks, decoding and
   * hashing all happen off the event loop. The buffer is moved or copied as for `checkJson`.
   * Throws BundleError, PlatformError INVALID_JSON / JSON_TOO_DEEP / INVALID_FIELD (field `body`)
   * / MANIFEST_TOO_LARGE, or BUNDLE_CHECK_TIMEOUT.
   */
  async checkUpload(json: Uint8Array, limits?: Partial<BundleLimits>, workspace = ''): Promise<CheckedUpload> {
    const bytes = own(json);
    const task: WorkerTask = { kind: 'upload', json: bytes, limits: { ...this.limits, ...limits }, maxManifestBytes: MAX_MANIFEST_BYTES };
    const hashed: Hashed = new Map();
    const reply = collect(await this.#run(task, [bytes.buffer as ArrayBuffer], workspace), hashed);
    const planned = reply.planned ?? [];
    return { bundle: assemble(planned, hashed), body: reply.body ?? {}, planned };
  }

  /**
   * Stops at once: queued and running checks fail with SHUTTING_DOWN and the threads are
   * terminated. Call it after the API has stopped taking requests (controlplane.ts closes the
   * pool after the gateway drained), when no one is left to answer; never waits on a thread.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      for (const waiting of this.#waiting.splice(0)) waiting.grant(false);
      await this.piscina.destroy();
    })();
    return this.#closing;
  }
}
