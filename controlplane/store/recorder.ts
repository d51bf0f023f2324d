/**
 * BufferedRecorder: takes records on the hot path and writes them in batches, off it.
 *
 * - `record(item)` is synchronous and O(1): it never awaits, never throws, never does I/O, so a
 *   slow or dead backend (Redis, MongoDB) adds no latency to the caller.
 * - Records wait in a bounded ring (default 10 000, counting the batch in flight). When it is full
 *   the oldest waiting record is dropped and counted (`dropped`, `onDrop`): memory stays bounded and
 *   no loss is silent.
 * - One batch (default up to 500) is written at a time, in arrival order. A failed or timed-out
 *   write is retried, as exactly the same batch with the same `batchId`, after an exponential
 *   backoff with jitter (100 ms doubling to 5 s); once the backend answers again the buffer drains.
 *   The batch being retried is never dropped (overflow drops the oldest record waiting behind it).
 * - Delivery is at least once: a write that failed or timed out may still have landed, and is
 *   retried. Writers make that harmless: the run store upserts by run id, HotMetrics skips a
 *   `batchId` it has already applied.
 * - `close` drains for a bounded time; what is still unwritten then is dropped and counted.
 * Decision record: docs/adr/0006-production-stores.md.
 */

export type DropReason = 'overflow' | 'shutdown' | 'closed';

export interface BufferedRecorderOptions<T> {
  /**
   * Writes one batch. A rejection means "maybe written, maybe not": the same batch is retried later
   * with the same `batchId` (unique per recorder and batch), so a writer can recognise a repeat.
   */
  write(batch: readonly T[], batchId: string): Promise<void>;
  /** Most records held (waiting plus in flight). Default 10 000. */
  capacity?: number;
  /** Most records per write; below `capacity`. Default 500. */
  batchSize?: number;
  /** How long a first record waits for others to join its batch. Default 0 (the next turn of the event loop). */
  lingerMs?: number;
  /** First retry delay after a failed write; doubles per consecutive failure. Default 100. */
  retryBaseMs?: number;
  /** Longest retry delay. Default 5000. */
  retryMaxMs?: number;
  /** A write still pending after this long counts as failed (and is retried). Default 10 000. */
  writeTimeoutMs?: number;
  /** Told about every dropped record (feed it to a counter metric). */
  onDrop?(count: number, reason: DropReason): void;
  /** Told about every failed write (for logs; the recorder retries by itself). */
  onError?(err: unknown): void;
  /** Told about every write attempt: its size, how long it took and whether it succeeded (feed a histogram). */
  onWrite?(count: number, seconds: number, ok: boolean): void;
}

export interface RecorderStats {
  /** Waiting to be written (not counting the batch being written or retried). */
  pending: number;
  /** In the batch being written or waiting for its retry. */
  inFlight: number;
  /** Records whose write succeeded. */
  written: number;
  /** Records dropped, all reasons. */
  dropped: number;
  droppedByReason: Record<DropReason, number>;
  failedWrites: number;
  /** Failed writes since the last success; 0 when the backend is healthy. */
  consecutiveFailures: number;
  lastError: string | null;
}

/** A fixed-capacity queue (a ring): O(1) push and shift. */
class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  length = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[(this.head + this.length) % this.capacity] = item;
    this.length++;
  }

  find(predicate: (item: T) => boolean): T | undefined {
    for (let i = 0; i < this.length; i++) {
      const item = this.items[(this.head + i) % this.capacity] as T;
      if (predicate(item)) return item;
    }
    return undefined;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    return item;
  }
}

export class BufferedRecorder<T> {
  private readonly ring: Ring<T>;
  private readonly batchSize: number;
  private readonly opts: Required<Omit<BufferedRecorderOptions<T>, 'onDrop' | 'onError' | 'onWrite'>> & Pick<BufferedRecorderOptions<T>, 'onDrop' | 'onError' | 'onWrite'>;
  /** The batch being written, or waiting for its retry after a failure. */
  private held: { items: T[]; id: string } | null = null;
  private batches = 0;
  private readonly recorderId = Math.random().toString(36).slice(2, 10);
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private backingOff = false;
  private closed = false;
  private readonly counts = { written: 0, failedWrites: 0, consecutiveFailures: 0 };
  private readonly droppedBy: Record<DropReason, number> = { overflow: 0, shutdown: 0, closed: 0 };
  private lastError: string | null = null;

  constructor(options: BufferedRecorderOptions<T>) {
    this.opts = { capacity: 10_000, batchSize: 500, lingerMs: 0, retryBaseMs: 100, retryMaxMs: 5000, writeTimeoutMs: 10_000, ...options };
    const { capacity, batchSize } = this.opts;
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError('capacity must be an integer ≥ 2');
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize >= capacity) throw new RangeError('batchSize must be an integer in [1, capacity)');
    this.ring = new Ring<T>(capacity);
    this.batchSize = batchSize;
  }

  /** Queues one record. Synchronous, constant time; never throws, never waits. */
  record(item: T): void {
    if (this.closed) return this.drop(1, 'closed');
    // Full: drop the oldest waiting record (the held batch is being written and stays). Since
    // batchSize < capacity, something is always waiting when the ring is full.
    if (this.ring.length + this.heldCount >= this.opts.capacity) {
      this.ring.shift();
      this.drop(1, 'overflow');
    }
    this.ring.push(item);
    this.schedule();
  }

  /** A record not yet written (in flight or waiting) that matches, oldest first; O(n), for reads. */
  find(predicate: (item: T) => boolean): T | undefined {
    return this.held?.items.find(predicate) ?? this.ring.find(predicate);
  }

  /** Records dropped so far, all reasons: the value for a `*_dropped_total` metric. */
  get dropped(): number {
    return this.droppedBy.overflow + this.droppedBy.shutdown + this.droppedBy.closed;
  }

  stats(): RecorderStats {
    return {
      pending: this.ring.length,
      inFlight: this.heldCount,
      written: this.counts.written,
      dropped: this.dropped,
      droppedByReason: { ...this.droppedBy },
      failedWrites: this.counts.failedWrites,
      consecutiveFailures: this.counts.consecutiveFailures,
      lastError: this.lastError,
    };
  }

  /**
   * Starts writing what is waiting now (cutting short a linger or backoff wait), then waits while
   * the usual retries run, until the buffer is empty or `timeoutMs` has passed. Resolves true when
   * everything was written.
   */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (!this.writing && this.ring.length + this.heldCount > 0) this.kick();
    while (this.ring.length + this.heldCount > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(10, Math.max(1, deadline - Date.now()))));
    }
    return true;
  }

  /** Stops taking records, drains for up to `timeoutMs`, then drops (and counts) what is left. */
  async close(timeoutMs = 5000): Promise<RecorderStats> {
    this.closed = true;
    await this.flush(timeoutMs);
    this.clearTimers();
    const left = this.ring.length + this.heldCount;
    if (left > 0) {
      while (this.ring.length > 0) this.ring.shift();
      this.held = null;
      this.drop(left, 'shutdown');
    }
    return this.stats();
  }

  private drop(count: number, reason: DropReason): void {
    this.droppedBy[reason] += count;
    try {
      this.opts.onDrop?.(count, reason);
    } catch {
      // A broken metric hook must not break recording.
    }
  }

  private schedule(): void {
    if (this.writing || this.backingOff || this.timer !== null || this.immediate !== null) return;
    if (this.opts.lingerMs > 0) {
      this.timer = setTimeout(() => this.kick(), this.opts.lingerMs);
      this.timer.unref();
    } else {
      this.immediate = setImmediate(() => this.kick());
    }
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.backingOff = false;
  }

  /** Starts writing now (ends any linger or backoff wait). */
  private kick(): void {
    this.clearTimers();
    if (this.writing) return;
    this.writing = true;
    void this.pump().finally(() => {
      this.writing = false;
      if (this.ring.length + this.heldCount > 0 && !this.backingOff) this.schedule();
    });
  }

  private get heldCount(): number {
    return this.held?.items.length ?? 0;
  }

  private async pump(): Promise<void> {
    while (this.held !== null || this.ring.length > 0) {
      if (this.held === null) {
        const items: T[] = [];
        while (items.length < this.batchSize && this.ring.length > 0) items.push(this.ring.shift() as T);
        this.held = { items, id: `${this.recorderId}-${++this.batches}` };
      }
      const batch = this.held;
      const started = performance.now();
      try {
        await this.writeWithTimeout(batch.items, batch.id);
        this.observeWrite(batch.items.length, started, true);
        this.held = null;
        this.counts.written += batch.items.length;
        this.counts.consecutiveFailures = 0;
      } catch (err) {
        // The batch stays held and is retried as it is (same records, same id) after the backoff.
        this.counts.failedWrites++;
        this.counts.consecutiveFailures++;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.observeWrite(batch.items.length, started, false);
        try {
          this.opts.onError?.(err);
        } catch {
          // ignore: logging must not stop retries
        }
        this.backOff();
        return;
      }
    }
  }

  private observeWrite(count: number, started: number, ok: boolean): void {
    try {
      this.opts.onWrite?.(count, (performance.now() - started) / 1000, ok);
    } catch {
      // A broken metric hook must not break recording.
    }
  }

  private backOff(): void {
    const exp = this.opts.retryBaseMs * 2 ** Math.min(this.counts.consecutiveFailures - 1, 20);
    const delay = Math.min(this.opts.retryMaxMs, exp) * (0.5 + Math.random() * 0.5);
    this.backingOff = true;
    this.timer = setTimeout(() => this.kick(), delay);
    // Never the reason a process stays up; close() drains explicitly.
    this.timer.unref();
  }

  private writeWithTimeout(batch: readonly T[], batchId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`write timed out after ${this.opts.writeTimeoutMs} ms`)), this.opts.writeTimeoutMs);
      timer.unref();
      let result: Promise<void>;
      try {
        result = this.opts.write(batch, batchId);
      } catch (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      result.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}
