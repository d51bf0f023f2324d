/**
 * The generic runtimes: processes that booted and said hello but hold no user code yet.
 * `take()` hands one out (it leaves the pool for good) and schedules a refill. The refill waits
 * `refillDelayMs` and then spawns one process per event-loop turn: spawn() blocks the event loop
 * for a few milliseconds (fork of a large process) and a booting interpreter takes ~30 ms of CPU,
 * so refilling at once would sit on the cold start that took the runtime (measured: p50 6.3 ms
 * with an immediate refill, 1.7 ms with a deferred one). A runtime that
 * dies while waiting here is dropped and replaced. Failed spawns are retried with a backoff so a
 * broken interpreter path does not become a spawn loop.
 *
 * With `warmNext`, one ready runtime at a time is the warm one: `refillDelayMs` after a take or a
 * new ready runtime (the same delay, for the same reason: not on the cold start's CPU), the newest
 * runtime is sent `warm` and runs the specialize path once on a throwaway module (~1.2 MiB of its
 * pages written while it waits), and `take()` hands it out first: its specialize takes ~0.7× the
 * time (docs/adr/0114-specialize-pages-written-ahead.md). The others stay as they are.
 */
import { PlatformError, type RuntimeMessage } from '../protocol/index.js';
import type { ProcessExit, ProcessListener, RuntimeProcess } from './runtime-process.js';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

export class GenericPool implements ProcessListener {
  /** Ready processes, most recently booted last. */
  private readonly ready: RuntimeProcess[] = [];
  private booting = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  private refillStep: NodeJS.Immediate | undefined;
  /** The ready runtime sent `warm` (warmNext), until it is taken or dies. */
  private warm: RuntimeProcess | null = null;
  private warmTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private starting: { resolve: () => void; reject: (err: Error) => void } | null = null;

  constructor(
    private readonly size: number,
    private readonly spawnProcess: () => RuntimeProcess,
    private readonly refillDelayMs = 0,
    private readonly warmNext = false,
  ) {}

  get available(): number {
    return this.ready.length;
  }

  /** Processes booting, plus those a scheduled refill is about to start. */
  get spawning(): number {
    const scheduled = this.refillTimer !== undefined || this.refillStep !== undefined;
    return scheduled && !this.closed ? Math.max(this.booting, this.size - this.ready.length) : this.booting;
  }

  /** Fills the pool; resolves once `size` runtimes said hello, rejects if one fails to start. */
  start(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => { this.starting = { resolve, reject }; });
    this.refill();
    this.checkStarted();
    return done;
  }

  /** A ready generic runtime, or null when the pool is empty. The caller becomes its listener. */
  take(): RuntimeProcess | null {
    let proc = this.takeWarm() ?? this.ready.pop();
    while (proc !== undefined && !proc.alive) proc = this.ready.pop();
    if (proc === undefined) return null;
    proc.listener = null;
    this.refillLater();
    this.warmLater();
    return proc;
  }

  /** The warm runtime, out of `ready`, if it is still there. */
  private takeWarm(): RuntimeProcess | undefined {
    const warm = this.warm;
    this.warm = null;
    const at = warm === null ? -1 : this.ready.indexOf(warm);
    return at < 0 ? undefined : this.ready.splice(at, 1)[0];
  }

  /** `warm` to the newest ready runtime after `refillDelayMs`, unless one is warm (warmNext only). */
  private warmLater(): void {
    if (!this.warmNext || this.closed || this.warmTimer !== undefined) return;
    this.warmTimer = setTimeout(() => {
      this.warmTimer = undefined;
      if (this.closed || (this.warm !== null && this.ready.includes(this.warm))) return;
      const next = this.ready.at(-1);
      this.warm = next !== undefined && next.send({ t: 'warm', id: next.nextId() }) ? next : null;
    }, this.refillDelayMs);
    this.warmTimer.unref();
  }

  /** Starts spawns, one per event-loop turn, until ready + booting reaches the pool size. */
  refill(): void {
    this.refillStep = undefined;
    if (this.closed || this.retryTimer !== undefined) return;
    if (this.ready.length + this.booting >= this.size) return;
    this.spawnOne();
    if (this.ready.length + this.booting < this.size) this.refillStep = setImmediate(refillPool, this);
  }

  /** A refill after `refillDelayMs`, unless one is already on its way. */
  private refillLater(): void {
    if (this.refillTimer !== undefined || this.closed) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.refill();
    }, this.refillDelayMs);
    this.refillTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.refillTimer);
    clearTimeout(this.warmTimer);
    if (this.refillStep !== undefined) clearImmediate(this.refillStep);
    this.retryTimer = undefined;
    this.starting?.reject(new PlatformError('SHUTTING_DOWN', 'the pool was closed while starting'));
    this.starting = null;
  }

  onMessage(_proc: RuntimeProcess, _msg: RuntimeMessage): void {
    // A generic runtime has nothing to say after hello; anything else is ignored.
  }

  onExit(proc: RuntimeProcess, _exit: ProcessExit): void {
    // A process that died before hello is handled (with backoff) where its `ready` rejects.
    const at = this.ready.indexOf(proc);
    if (at < 0) return;
    this.ready.splice(at, 1);
    if (proc === this.warm) this.warm = null;
    this.refill();
    this.warmLater();
  }

  private spawnOne(): void {
    this.booting++;
    const proc = this.spawnProcess();
    proc.listener = this;
    proc.ready.then(
      () => {
        this.booting--;
        this.failures = 0;
        if (this.closed) return; // close() shuts every process down, this one included
        this.ready.push(proc);
        this.checkStarted();
        this.warmLater();
      },
      (err: Error) => {
        this.booting--;
        this.failures++;
        if (this.starting !== null) {
          this.starting.reject(err);
          this.starting = null;
        }
        this.scheduleRetry();
      },
    );
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.refill();
    }, delay);
    this.retryTimer.unref();
  }

  private checkStarted(): void {
    if (this.starting !== null && this.ready.length >= this.size) {
      this.starting.resolve();
      this.starting = null;
    }
  }
}

function refillPool(pool: GenericPool): void {
  pool.refill();
}
