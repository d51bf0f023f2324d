/**
 * When a collection of what nothing uses any more runs (dependency sites: deps-collect.ts; code
 * directories of versions no longer active: code-collect.ts): `firstMs` after start, then every
 * `everyMs`, and within `soonMs` when asked (`soon()`, after a change that may have left something
 * unused). One collection at a time; `stop()` waits for the one running. The collection itself
 * never rejects (each logs its own failure).
 */
export class Collector {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = Infinity;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly collect: () => Promise<void>,
    private readonly firstMs: number,
    private readonly everyMs: number,
    private readonly soonMs: number = firstMs,
  ) {}

  start(): void {
    this.schedule(this.firstMs);
  }

  /** Something may be unused now: a collection runs within `soonMs`. */
  soon(): void {
    this.schedule(this.soonMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs a collection in `delayMs`, unless one is due sooner (requests in a row do not keep putting it off). */
  private schedule(delayMs: number): void {
    if (this.stopped || Date.now() + delayMs >= this.dueAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.dueAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dueAt = Infinity;
      this.running = (this.running ?? Promise.resolve()).then(() => this.collect());
      void this.running.then(() => this.schedule(this.everyMs));
    }, delayMs);
    this.timer.unref();
  }
}
