/**
 * Run records into the store, off the request path. `record` only appends to a bounded buffer;
 * a timer writes the buffer in batches (one store call per batch). When the store fails, the
 * batch goes back to the front of the buffer and is retried with backoff; when the buffer is
 * full, the oldest record is dropped and counted (`dropped()` → fp_runs_dropped_total
 * {reason="store_overflow"}). On close, whatever cannot be written is counted as `store_error`.
 * Nothing here is awaited by an invocation.
 */
import type { RunRecord } from '../../protocol/index.js';
import type { RunStore } from '../store/index.js';

export interface StoreRunSinkOptions {
  /** How often the buffer is written (default 100 ms). */
  flushIntervalMs?: number;
  /** Records held at most while the store is slow or down (default 10 000). */
  maxBuffered?: number;
  /** Records per store call (default 500). */
  maxBatch?: number;
  /** Longest wait between retries after store failures (default 5 000 ms). */
  maxBackoffMs?: number;
  /** Store failures are reported here (once per failing flush). */
  log?: (line: string) => void;
}

export class StoreRunSink {
  private buffer: RunRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private closed = false;
  private readonly drops = { store_overflow: 0, store_error: 0 };
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly maxBatch: number;
  private readonly maxBackoffMs: number;
  private readonly log: (line: string) => void;

  constructor(private readonly store: RunStore, options: StoreRunSinkOptions = {}) {
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.log = options.log ?? (() => {});
  }

  /** The RunSink port: never blocks, never throws. */
  record(run: RunRecord): void {
    if (this.closed) {
      this.drops.store_error++;
      return;
    }
    if (this.buffer.length >= this.maxBuffered) {
      this.buffer.shift();
      this.drops.store_overflow++;
    }
    this.buffer.push(run);
    this.schedule(this.flushIntervalMs);
  }

  dropped(): Readonly<Record<string, number>> {
    return { ...this.drops };
  }

  /** Records waiting for the store. */
  get pending(): number {
    return this.buffer.length;
  }

  /** A record still waiting for the store (so a read right after a call finds its run). */
  pendingRun(runId: string): RunRecord | undefined {
    return this.buffer.find((r) => r.runId === runId);
  }

  /** Writes everything buffered now; resolves when written or when the store failed. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.buffer.length > 0 && this.failures === 0 ? this.flush() : undefined));
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.flushing = this.writeAll().finally(() => {
      this.flushing = null;
      if (this.buffer.length > 0 && !this.closed) this.schedule(this.backoffMs());
    });
    return this.flushing;
  }

  /** Final flush; what still cannot be written is counted as lost. Later records are counted too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.failures = 0;
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.drops.store_error += this.buffer.length;
    this.buffer = [];
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  private backoffMs(): number {
    if (this.failures === 0) return this.flushIntervalMs;
    return Math.min(this.maxBackoffMs, this.flushIntervalMs * 2 ** Math.min(this.failures, 16));
  }

  private async writeAll(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.maxBatch);
      try {
        await this.store.record(batch);
        this.failures = 0;
      } catch (err) {
        this.failures++;
        // Back to the front, oldest first; whatever no longer fits is the overflow.
        const room = this.maxBuffered - this.buffer.length;
        const kept = batch.slice(Math.max(0, batch.length - room));
        this.drops.store_overflow += batch.length - kept.length;
        this.buffer.unshift(...kept);
        this.log(`controlplane: could not write ${batch.length} run records (attempt ${this.failures}): ${(err as Error).message}`);
        return;
      }
    }
  }
}
