/**
 * A small piscina pool that checks bundles in worker threads, so decoding and hashing a large
 * deploy never blocks the API or a co-located gateway. The worker is the compiled worker.js next
 * to this file (resolved from import.meta.url, so it works wherever dist/ is).
 *
 * `check` runs the cheap checks here (they read only lengths and paths), then sends the contents
 * to the workers in batches of about BATCH_CHARS, yielding to the event loop between batches:
 * handing a thread a message copies its strings on this thread, so one 28 MB message would itself
 * be a stall. `checkJson` moves the raw request body to a worker, which parses it there too.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { PlatformError } from '../../protocol/index.js';
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
}

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
    throw new PlatformError(reply.invalid.code, reply.invalid.message, { field: reply.invalid.field });
  }
  if (!reply.ok) throw new BundleError(reply.problem);
  for (const f of reply.hashed) {
    into.set(f.path, { sha256: f.sha256, size: f.size, content: new Uint8Array(reply.buffer, f.offset, f.size) });
  }
  return reply;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class BundlePool {
  private readonly piscina: Piscina<WorkerTask, WorkerReply>;
  private readonly limits: BundleLimits;

  constructor(options: BundlePoolOptions = {}) {
    const maxThreads = options.maxThreads ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    this.limits = bundleLimits(options.limits);
    this.piscina = new Piscina<WorkerTask, WorkerReply>({
      filename: WORKER_FILE,
      minThreads: 0,
      maxThreads,
      idleTimeout: options.idleTimeoutMs ?? 30_000,
    });
  }

  /** Checks parsed files (a list or a path→base64 map); BundleError on the first problem. */
  async check(files: unknown, limits?: Partial<BundleLimits>): Promise<CheckedBundle> {
    const entries = planBundle(files, { ...this.limits, ...limits });
    const hashed: Hashed = new Map();
    const pending: Promise<void>[] = [];
    for (const [i, batch] of batches(entries).entries()) {
      if (i > 0) await nextTurn();
      const done = this.piscina.run({ kind: 'hash', entries: batch }).then((reply) => void collect(reply, hashed));
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
    const whole = json.byteOffset === 0 && json.byteLength === json.buffer.byteLength && json.buffer instanceof ArrayBuffer;
    const own = whole ? json : new Uint8Array(json);
    const task: WorkerTask = { kind: 'json', json: own, limits: { ...this.limits, ...limits } };
    // piscina derives its TransferList type from MessagePort.postMessage, whose last overload in
    // this @types/node takes options; an array of buffers is what it accepts at run time.
    const transferList = [own.buffer] as unknown as NonNullable<Parameters<typeof this.piscina.run>[1]>['transferList'];
    const hashed: Hashed = new Map();
    const reply = collect(await this.piscina.run(task, { transferList }), hashed);
    return assemble(reply.planned ?? [], hashed);
  }

  /**
   * Checks a whole upload body (`{files: [...], ...}`) in a worker: JSON parsing, path and size
   * checks, decoding and hashing all happen off the event loop. The buffer is moved or copied as
   * for `checkJson`. Throws BundleError, or PlatformError INVALID_JSON / INVALID_FIELD (field
   * `body`) when the body is not a JSON object.
   */
  async checkUpload(json: Uint8Array, limits?: Partial<BundleLimits>): Promise<CheckedUpload> {
    const whole = json.byteOffset === 0 && json.byteLength === json.buffer.byteLength && json.buffer instanceof ArrayBuffer;
    const own = whole ? json : new Uint8Array(json);
    const task: WorkerTask = { kind: 'upload', json: own, limits: { ...this.limits, ...limits } };
    // As in checkJson: an array of buffers is what the transfer list accepts at run time.
    const transferList = [own.buffer] as unknown as NonNullable<Parameters<typeof this.piscina.run>[1]>['transferList'];
    const hashed: Hashed = new Map();
    const reply = collect(await this.piscina.run(task, { transferList }), hashed);
    const planned = reply.planned ?? [];
    return { bundle: assemble(planned, hashed), body: reply.body ?? {}, planned };
  }

  /** Waits for running checks, then stops the threads. */
  async close(): Promise<void> {
    await this.piscina.close();
  }
}
