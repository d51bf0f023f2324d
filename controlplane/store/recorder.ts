/**
 * BufferedRecorder: takes records on the hot path and writes them in batches, off it.
 *
 * - `record(item)` is synchronous and O(1): it never awaits, never throws, never does I/O, so a
 *   slow or dead backend (Redis, MongoDB) adds no latency to the caller.
 * - Records wait in a bounded ring (default 10 000, counting the batch in flight). When it is full
 *   the oldest waiting record is dropped and counted (`dropped`, `onDrop`): memory stays bounded and
 *   no loss is silent. (Run samples wait folded per function-minute instead: ./sample-recorder.ts,
 *   same engine, another `Waiting`.)
 * - One batch (default up to 500) is written at a time, in arrival order. With `lingerMs`, writes are
 *   spaced: a record waits up to `lingerMs` for others to join its batch, and while records keep
 *   coming the next write starts `lingerMs` after the last one ended, not at once, so a steady
 *   stream is written in a few large batches (e.g. ten a second) instead of back to back in as many
 *   small ones as the backend can take. A full batch waiting, `flush` and `close` cut the wait short.
 *   A failed or timed-out
 *   write is retried, as exactly the same batch with the same `batchId`, after an exponential
 *   backoff with jitter (100 ms doubling to 5 s); once the backend answers again the buffer drains.
 *   The batch being retried is never dropped (overflow drops the oldest record waiting behind it).
 * - Delivery is at least once: a write that failed or timed out may still have landed, and is
 *   retried. Writers make that harmless: the run store upserts by run id, HotMetrics skips a
 *   `batchId` it has already applied.
 * - `close` drains for a bounded time; what is still unwritten then is dropped and counted.
 * - A write the store *refused* for what the batch holds (`refused(err)`: a permanent reason such as
 *   a value it cannot store, never an outage) is not retried as it is: that would hold every later
 *   record of every workspace behind one bad record for ever. The batch is split in halves, each
 *   written on its own, down to the refused record(s); the rest is written at once. A refused
 *   single record is written once more in its reduced form (`reduce`), and if that is refused too,
 *   it alone is dropped and counted (`refused`). Refusals wait for no backoff: the store answered.
 * Decision records: docs/adr/0006-production-stores.md, docs/adr/0173-refused-records.md.
 */

export type DropReason = 'overflow' | 'shutdown' | 'closed' | 'refused';

/** What the recorder did with a batch the store refused: split it, wrote its one record reduced, or dropped it. */
export type RefusalAction = 'split' | 'reduced' | 'dropped';

/** How a recorder writes and retries (everything but where records wait). */
export interface RecorderOptions<B> {
  /**
   * Writes one batch. A rejection means "maybe written, maybe not": the same batch is retried later
   * with the same `batchId` (unique per recorder and batch), so a writer can recognise a repeat.
   */
  write(batch: B, batchId: string): Promise<void>;
  /** Most units per write (records, or function-minutes for samples). Default 500. */
  batchSize?: number;
  /**
   * How long a first record waits for others to join its batch, and, while records keep coming, the
   * pause between the end of one write and the start of the next (unless a full batch waits).
   * Default 0: the next turn of the event loop, writes back to back.
   */
  lingerMs?: number;
  /** First retry delay after a failed write; doubles per consecutive failure. Default 100. */
  retryBaseMs?: number;
  /** Longest retry delay. Default 5000. */
  retryMaxMs?: number;
  /** A write still pending after this long counts as failed (and is retried). Default 10 000. */
  writeTimeoutMs?: number;
  /** Told about every dropped record (feed it to a counter metric). */
  onDrop?(count: number, reason: DropReason): void;
  /**
   * Told about every failed write (for logs; the recorder retries by itself), with how many failed
   * in a row so far: log the first of a streak, not every retry.
   */
  onError?(err: unknown, consecutiveFailures: number): void;
  /** Told about every write attempt: its size, how long it took and whether it succeeded (feed a histogram). */
  onWrite?(count: number, seconds: number, ok: boolean): void;
  /**
   * True when a failed write was refused for what its batch holds (permanently: the same batch would
   * be refused again), false for an outage or anything unknown, which is retried as before.
   * Default: never (every failure is retried). The run sink's: ./refusal.ts.
   */
  refused?(err: unknown): boolean;
  /** Told about every refused write: how many records it held and what the recorder does about it. */
  onRefuse?(err: unknown, count: number, action: RefusalAction): void;
}

export interface BufferedRecorderOptions<T> extends RecorderOptions<readonly T[]> {
  /** Most records held (waiting plus in flight). Default 10 000. */
  capacity?: number;
  /** Most records per write; below `capacity`. Default 500. */
  batchSize?: number;
  /**
   * A record the store refused (`refused`), as it is written instead: only what the store surely
   * takes, marked as reduced; null (or absent) to drop it. Tried once; refused again, it is dropped.
   */
  reduce?(item: T): T | null;
  /**
   * Whose a record is (the run sink: its workspace). The buffer full, a record whose owner holds
   * half of it or more is dropped itself, not the oldest record when that is another's: one
   * owner's flood (a store outage) never pushes every other owner's records out (red team round 42).
   */
  ownerOf?(item: T): string;
}

/** Where records wait until they are written: a ring of records, or samples folded per function-minute. */
export interface Waiting<T, B> {
  /** Records waiting (not counting the batch being written). */
  readonly length: number;
  /** Adds one; returns how many records were dropped to stay in bounds (an older one, or this one). */
  add(item: T, inFlight: number): number;
  /** True when at least a full batch (`max` units) waits: it is written without lingering. */
  full(max: number): boolean;
  /** Takes the next batch, of at most `max` units, and how many records it holds; null when none wait. */
  take(max: number): { batch: B; count: number } | null;
  /** Drops everything waiting; returns how many records that was. */
  clear(): number;
  /** `batch` (of more than one record) in two smaller batches, for a refused write; null when it cannot be split. */
  split?(batch: B): [{ batch: B; count: number }, { batch: B; count: number }] | null;
  /** `batch` of one refused record as the record's reduced form (./recorder's `reduce`); null when there is none. */
  reduce?(batch: B): B | null;
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
  /** Writes the store refused for what they held (split, reduced or dropped; never retried as they were). */
  refusedWrites: number;
  /** Records written in their reduced form after the store refused them as they were. */
  reduced: number;
  lastError: string | null;
}

/** A fixed-capacity queue (a ring): O(1) push and shift. */
class Ring<T> implements Waiting<T, T[]> {
  private readonly items: (T | undefined)[];
  private head = 0;
  length = 0;
  /** Records waiting by owner (`ownerOf`), when there is one. */
  private readonly owned = new Map<string, number>();

  constructor(readonly capacity: number, private readonly reduceItem?: (item: T) => T | null, private readonly ownerOf?: (item: T) => string) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[(this.head + this.length) % this.capacity] = item;
    this.length++;
    if (this.ownerOf !== undefined) this.own(this.ownerOf(item), 1);
  }

  private own(owner: string, by: 1 | -1): void {
    const n = (this.owned.get(owner) ?? 0) + by;
    if (n > 0) this.owned.set(owner, n);
    else this.owned.delete(owner);
  }

  find(predicate: (item: T) => boolean): T | undefined {
    for (let i = 0; i < this.length; i++) {
      const item = this.items[(this.head + i) % this.capacity] as T;
      if (predicate(item)) return item;
    }
    return undefined;
  }

  filter(predicate: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) {
      const item = this.items[(this.head + i) % this.capacity] as T;
      if (predicate(item)) out.push(item);
    }
    return out;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    if (this.ownerOf !== undefined) this.own(this.ownerOf(item as T), -1);
    return item;
  }

  /**
   * Full (counting the batch in flight): the oldest waiting record makes room, unless it is another
   * owner's and this one's owner holds half the ring or more: then this one is dropped (`ownerOf`).
   */
  add(item: T, inFlight: number): number {
    let dropped = 0;
    if (this.length + inFlight >= this.capacity) {
      if (this.ownerOf !== undefined && this.length > 0) {
        const owner = this.ownerOf(item);
        if (this.ownerOf(this.items[this.head] as T) !== owner && (this.owned.get(owner) ?? 0) * 2 >= this.capacity) return 1;
      }
      this.shift();
      dropped = 1;
    }
    this.push(item);
    return dropped;
  }

  full(max: number): boolean {
    return this.length >= max;
  }

  take(max: number): { batch: T[]; count: number } | null {
    if (this.length === 0) return null;
    const batch: T[] = [];
    while (batch.length < max && this.length > 0) batch.push(this.shift() as T);
    return { batch, count: batch.length };
  }

  clear(): number {
    const n = this.length;
    while (this.length > 0) this.shift();
    return n;
  }

  split(batch: readonly T[]): [{ batch: T[]; count: number }, { batch: T[]; count: number }] | null {
    if (batch.length < 2) return null;
    const half = Math.ceil(batch.length / 2);
    return [{ batch: batch.slice(0, half), count: half }, { batch: batch.slice(half), count: batch.length - half }];
  }

  reduce(batch: readonly T[]): T[] | null {
    if (batch.length !== 1 || this.reduceItem === undefined) return null;
    const reduced = this.reduceItem(batch[0] as T);
    return reduced === null ? null : [reduced];
  }
}

/**
 * The engine every recorder shares: one batch written at a time, a failed or timed-out batch
 * retried as it is (same records, same id) after a backoff, linger, flush, close and counts.
 * Where records wait, and what a batch is, is the `Waiting` given.
 */
type Hooks = 'onDrop' | 'onError' | 'onWrite' | 'refused' | 'onRefuse';

/** A batch taken from `Waiting` and not yet written; `reduced`: its one record in its reduced form. */
interface Held<B> {
  batch: B;
  count: number;
  id: string;
  reduced: boolean;
}

export class Recorder<T, B> {
  private readonly opts: Required<Omit<RecorderOptions<B>, Hooks>> & Pick<RecorderOptions<B>, Hooks>;
  /**
   * The batch being written, or waiting for its retry after a failure; after a refusal, the parts
   * it was split into, first to write first. Never more than one batch's records.
   */
  protected held: Held<B>[] = [];
  private heldTotal = 0;
  private batches = 0;
  private readonly recorderId = Math.random().toString(36).slice(2, 10);
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** `timer` is a linger (for company, or between writes): a full batch ends it. */
  private lingering = false;
  /** Flushes waiting: writes go back to back, without lingering. */
  private urgent = 0;
  private backingOff = false;
  private closed = false;
  private readonly counts = { written: 0, failedWrites: 0, consecutiveFailures: 0, refusedWrites: 0, reduced: 0 };
  private readonly droppedBy: Record<DropReason, number> = { overflow: 0, shutdown: 0, closed: 0, refused: 0 };
  private lastError: string | null = null;

  constructor(options: RecorderOptions<B>, protected readonly waiting: Waiting<T, B>) {
    this.opts = { batchSize: 500, lingerMs: 0, retryBaseMs: 100, retryMaxMs: 5000, writeTimeoutMs: 10_000, ...options };
    if (!Number.isInteger(this.opts.batchSize) || this.opts.batchSize < 1) throw new RangeError('batchSize must be an integer ≥ 1');
  }

  /** Queues one record. Synchronous, constant time; never throws, never waits. */
  record(item: T): void {
    if (this.closed) return this.drop(1, 'closed');
    const dropped = this.waiting.add(item, this.heldCount);
    if (dropped > 0) this.drop(dropped, 'overflow');
    // A full batch ends a linger, on the next turn: the write's own work (building and encoding the
    // batch) must not run inside record().
    if (this.lingering && this.waiting.full(this.opts.batchSize)) this.clearTimers();
    this.schedule();
  }

  /** Records dropped so far, all reasons: the value for a `*_dropped_total` metric. */
  get dropped(): number {
    return this.droppedBy.overflow + this.droppedBy.shutdown + this.droppedBy.closed + this.droppedBy.refused;
  }

  stats(): RecorderStats {
    return {
      pending: this.waiting.length,
      inFlight: this.heldCount,
      written: this.counts.written,
      dropped: this.dropped,
      droppedByReason: { ...this.droppedBy },
      failedWrites: this.counts.failedWrites,
      consecutiveFailures: this.counts.consecutiveFailures,
      refusedWrites: this.counts.refusedWrites,
      reduced: this.counts.reduced,
      lastError: this.lastError,
    };
  }

  /**
   * Starts writing what is waiting now (cutting short a linger or backoff wait), then waits while
   * the usual retries run, until the buffer is empty or `timeoutMs` has passed. Resolves true when
   * everything was written.
   */
  async flush(timeoutMs = 5000): Promise<boolean> {
    // A duration, on the monotonic clock: a wall clock stepped back held a flush of records its store
    // did not take (GET /runs/<id> during an outage) for the length of the step (chaos round 9).
    const deadline = performance.now() + timeoutMs;
    this.urgent++;
    try {
      if (!this.writing && this.waiting.length + this.heldCount > 0) this.kick();
      while (this.waiting.length + this.heldCount > 0) {
        if (performance.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, Math.min(10, Math.max(1, deadline - performance.now()))));
      }
      return true;
    } finally {
      this.urgent--;
    }
  }

  /**
   * Retries now instead of at the end of the backoff (call it when the backend is known to be back,
   * e.g. on a reconnect): what waited during an outage is written within moments of the recovery.
   */
  retryNow(): void {
    if (this.backingOff && !this.writing) this.kick();
  }

  /** Stops taking records, drains for up to `timeoutMs`, then drops (and counts) what is left. */
  async close(timeoutMs = 5000): Promise<RecorderStats> {
    this.closed = true;
    await this.flush(timeoutMs);
    this.clearTimers();
    const left = this.waiting.clear() + this.heldCount;
    this.held = [];
    this.heldTotal = 0;
    if (left > 0) this.drop(left, 'shutdown');
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
    if (this.opts.lingerMs > 0 && !this.waiting.full(this.opts.batchSize)) this.linger();
    else this.immediate = setImmediate(() => this.kick());
  }

  /** Writes after `lingerMs`, or on the next turn once a full batch waits (record() checks). */
  private linger(): void {
    this.lingering = true;
    this.timer = setTimeout(() => this.kick(), this.opts.lingerMs);
    this.timer.unref();
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.lingering = false;
    this.backingOff = false;
  }

  /** Starts writing now (ends any linger or backoff wait). */
  private kick(): void {
    this.clearTimers();
    if (this.writing) return;
    this.writing = true;
    void this.pump().finally(() => {
      this.writing = false;
      if (this.waiting.length + this.heldCount > 0 && !this.backingOff) this.schedule();
    });
  }

  private get heldCount(): number {
    return this.heldTotal;
  }

  private hold(part: Held<B>, at: 'first' | 'last' = 'last'): void {
    if (at === 'first') this.held.unshift(part);
    else this.held.push(part);
    this.heldTotal += part.count;
  }

  private release(): Held<B> {
    const part = this.held.shift() as Held<B>;
    this.heldTotal -= part.count;
    return part;
  }

  private async pump(): Promise<void> {
    while (this.held.length > 0 || this.waiting.length > 0) {
      if (this.held.length === 0) {
        const next = this.waiting.take(this.opts.batchSize);
        if (next === null) return;
        this.hold({ ...next, id: `${this.recorderId}-${++this.batches}`, reduced: false });
      }
      const held = this.held[0] as Held<B>;
      const started = performance.now();
      try {
        await this.writeWithTimeout(held.batch, held.id);
        this.observeWrite(held.count, started, true);
        this.release();
        this.counts.written += held.count;
        if (held.reduced) this.counts.reduced += held.count;
        this.counts.consecutiveFailures = 0;
        // Records kept coming during the write: let more join them before the next one.
        if (this.held.length === 0 && this.opts.lingerMs > 0 && this.urgent === 0 && this.waiting.length > 0 && !this.waiting.full(this.opts.batchSize)) {
          this.linger();
          return;
        }
      } catch (err) {
        this.counts.failedWrites++;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.observeWrite(held.count, started, false);
        if (this.isRefusal(err)) {
          // The store answered, and will refuse this batch as it is again: isolate what it refuses, now.
          this.counts.refusedWrites++;
          this.isolate(held, err);
          continue;
        }
        // An outage: the batch stays held and is retried as it is (same records, same id) after the backoff.
        this.counts.consecutiveFailures++;
        try {
          this.opts.onError?.(err, this.counts.consecutiveFailures);
        } catch {
          // ignore: logging must not stop retries
        }
        this.backOff();
        return;
      }
    }
  }

  private isRefusal(err: unknown): boolean {
    try {
      return this.opts.refused?.(err) === true;
    } catch {
      return false; // unknown: retried as an outage
    }
  }

  /**
   * The held batch `part` was refused: written again in two halves (each with an id of its own), or
   * as its one record reduced, or dropped and counted when neither is left to try.
   */
  private isolate(part: Held<B>, err: unknown): void {
    this.release();
    const halves = this.waiting.split?.(part.batch) ?? null;
    let action: RefusalAction;
    if (halves !== null) {
      this.hold({ ...halves[1], id: `${part.id}.2`, reduced: part.reduced }, 'first');
      this.hold({ ...halves[0], id: `${part.id}.1`, reduced: part.reduced }, 'first');
      action = 'split';
    } else {
      const reduced = part.reduced ? null : (this.waiting.reduce?.(part.batch) ?? null);
      if (reduced !== null) {
        this.hold({ batch: reduced, count: part.count, id: `${part.id}.r`, reduced: true }, 'first');
        action = 'reduced';
      } else {
        this.drop(part.count, 'refused');
        action = 'dropped';
      }
    }
    try {
      this.opts.onRefuse?.(err, part.count, action);
    } catch {
      // A broken hook must not stop recording.
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

  private writeWithTimeout(batch: B, batchId: string): Promise<void> {
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

/** Records kept one by one in a ring (run records, with their logs): bounded by `capacity` records. */
export class BufferedRecorder<T> extends Recorder<T, readonly T[]> {
  private readonly ring: Ring<T>;

  constructor(options: BufferedRecorderOptions<T>) {
    const capacity = options.capacity ?? 10_000;
    const batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError('capacity must be an integer ≥ 2');
    // Since batchSize < capacity, something is always waiting when the ring is full (the held batch stays).
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize >= capacity) throw new RangeError('batchSize must be an integer in [1, capacity)');
    const ring = new Ring<T>(capacity, options.reduce, options.ownerOf);
    super({ ...options, batchSize }, ring);
    this.ring = ring;
  }

  /** A record not yet written (in flight or waiting) that matches, oldest first; O(n), for reads. */
  find(predicate: (item: T) => boolean): T | undefined {
    for (const part of this.held) {
      const found = part.batch.find(predicate);
      if (found !== undefined) return found;
    }
    return this.ring.find(predicate);
  }

  /** Every record not yet written (in flight or waiting) that matches, oldest first; O(n), for reads. */
  filter(predicate: (item: T) => boolean): T[] {
    return [...this.held.flatMap((part) => part.batch.filter(predicate)), ...this.ring.filter(predicate)];
  }
}
