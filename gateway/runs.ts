/**
 * Run records: one per invocation, handed to a `RunSink` off the request path. The gateway never
 * awaits a sink; records are batched on `setImmediate` and a slow or throwing sink costs the
 * request nothing (drops are counted, see RunBatcher).
 */
import type { RunRecord, RunSink } from '../protocol/index.js';

export type { RunError, RunRecord, RunSink } from '../protocol/index.js';

/** Keeps the newest `capacity` records in memory (the embedded default and tests). */
export class MemoryRunSink implements RunSink {
  private readonly ring: (RunRecord | undefined)[];
  private readonly byId = new Map<string, RunRecord>();
  private next = 0;

  constructor(readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.ring = new Array<RunRecord | undefined>(capacity);
  }

  record(run: RunRecord): void {
    const evicted = this.ring[this.next];
    if (evicted) this.byId.delete(evicted.runId);
    this.ring[this.next] = run;
    this.byId.set(run.runId, run);
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  list(): RunRecord[] {
    const out: RunRecord[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const run = this.ring[(this.next + i) % this.capacity];
      if (run) out.push(run);
    }
    return out;
  }

  get(runId: string): RunRecord | undefined {
    return this.byId.get(runId);
  }

  get size(): number {
    return this.byId.size;
  }
}

/**
 * Moves records from the request path to the sink in batches on `setImmediate`. The buffer is
 * bounded: past `maxPending` the oldest record is dropped and counted, so a stuck sink cannot
 * grow memory without limit.
 */
/**
 * Work deferred until after the response: a function, or an object whose `run()` does it (the
 * gateway's per-request Call, gateway/invoke.ts: no closure and context made per request).
 */
export type DeferredTask = (() => void) | { run(): void };

export class RunBatcher {
  private pending: RunRecord[] = [];
  /** The incarnation each pending record is of (RunSink.record), index for index. */
  private incarnations: (number | undefined)[] = [];
  /** Work of runs whose responses are on their way: building the record, the metrics (see `afterResponse`). */
  private deferred: DeferredTask[] = [];
  private scheduled = false;
  /** Set by `closeBatching`: what arrives after the gateway closed is handed on at once. */
  private immediate = false;
  dropped = 0;
  failed = 0;

  constructor(
    private readonly sink: RunSink,
    private readonly onDrop: (count: number, reason: 'overflow' | 'sink_error') => void = () => {},
    private readonly maxPending = 10_000,
  ) {}

  push(run: RunRecord, incarnation?: number): void {
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.incarnations.shift();
      this.dropped++;
      this.onDrop(1, 'overflow');
    }
    this.pending.push(run);
    this.incarnations.push(incarnation);
    this.schedule();
  }

  /**
   * Runs `task` after the response of the current request is written: `setImmediate` comes after
   * the loop turn's I/O callbacks and their microtasks, where the response is sent. A run's record
   * and metrics need not hold its response (at one connection they were 3-10 µs of each
   * request's latency). `flush()` runs what is still waiting first, so shutdown loses none.
   */
  afterResponse(task: DeferredTask): void {
    this.deferred.push(task);
    this.schedule();
  }

  /**
   * The gateway closed: flush, and hand on at once whatever arrives later (a dispatcher's attempt
   * that ends after the gateway's close, while the platform stops). Its record waited for a turn
   * of the loop in which the recorder had already closed, and was lost (upgrade round 1).
   */
  closeBatching(): void {
    this.immediate = true;
    this.flush();
  }

  private schedule(): void {
    if (this.immediate) {
      this.flush();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Hands every pending record to the sink now (also used on shutdown), after the work still
   * deferred. The records that work pushes go in this same batch: `scheduled` is cleared only after
   * it ran, so they schedule no second flush (one `setImmediate` and one more turn of the loop per
   * request, with its `epoll_pwait`, each finding nothing: issue 11, bench/README.md).
   */
  flush(): void {
    if (this.deferred.length > 0) {
      const tasks = this.deferred;
      this.deferred = [];
      for (const task of tasks) {
        try {
          if (typeof task === 'function') task();
          else task.run();
        } catch (err) {
          // A bug in building a record must not take the gateway down or skip the others.
          process.emitWarning(`gateway: could not record a run: ${String(err)}`);
        }
      }
    }
    this.scheduled = false;
    const batch = this.pending;
    const incarnations = this.incarnations;
    this.pending = [];
    this.incarnations = [];
    for (let i = 0; i < batch.length; i++) {
      try {
        this.sink.record(batch[i]!, incarnations[i]);
      } catch {
        // A sink bug must not take the gateway down; the loss is counted in fp_runs_dropped_total.
        this.failed++;
        this.onDrop(1, 'sink_error');
      }
    }
    // Work deferred by that work (its afterResponse found `scheduled` still set): the next turn.
    if (this.deferred.length > 0) this.schedule();
  }
}
