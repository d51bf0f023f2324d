/**
 * Reports this process's warm instances per function to HotMetrics, every `intervalMs`, under one
 * reporter id per process, with a TTL of three intervals: a process that dies stops counting on
 * its own, and the sum over live reporters is the function's warm count (docs/stores.md). A
 * function that had instances and has none now is reported once as 0 (withdrawn). The pool's
 * scale-to-zero events since the last report go to `events` (one sample each, counted in the
 * function's minute bucket for the cold-start view).
 */
import type { HotMetrics, RunSample } from '../store/index.js';
import type { PoolDrain } from '../../protocol/index.js';
import { errorWords } from '../fault-log.js';

export class WarmReporter {
  private timer: NodeJS.Timeout | null = null;
  private reported = new Set<string>();
  private running: Promise<void> | null = null;
  /** Reports failed in a row: the first is logged, the rest are not (the backend is down, not broken N times). */
  private failures = 0;
  /** The pool's scale-to-zero counters at the last report. */
  private seenScaledToZero: Record<string, number> = {};

  constructor(
    private readonly pool: Pick<PoolDrain, 'stats'>,
    private readonly metrics: HotMetrics,
    private readonly reporterId: string,
    private readonly intervalMs: number,
    private readonly log: (line: string) => void,
    private readonly events: (samples: RunSample[]) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.report(), this.intervalMs);
    this.timer.unref();
  }

  /** Sends one report now (also before a usage read, so this process's count is current). */
  report(): Promise<void> {
    this.running ??= this.send().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private countScaleToZero(counters: Record<string, number>): void {
    const samples: RunSample[] = [];
    const at = this.now();
    for (const [name, n] of Object.entries(counters)) {
      for (let k = this.seenScaledToZero[name] ?? 0; k < n; k++) {
        samples.push({ function: name, runId: '', startedAt: at, durationMs: 0, status: 'succeeded', cold: false, kind: 'scale-to-zero' });
      }
    }
    this.seenScaledToZero = { ...counters };
    if (samples.length > 0) this.events(samples);
  }

  private async send(): Promise<void> {
    const counts = new Map<string, number>();
    const stats = this.pool.stats();
    this.countScaleToZero(stats.scaledToZero ?? {});
    for (const s of Object.values(stats.functions)) counts.set(s.name, (counts.get(s.name) ?? 0) + s.warm + s.busy);
    for (const name of this.reported) if (!counts.has(name)) counts.set(name, 0);
    const ttlMs = this.intervalMs * 3;
    const entries = [...counts];
    const results = await Promise.allSettled(entries.map(([name, n]) => this.metrics.setWarm(name, this.reporterId, n, ttlMs)));
    const next = new Set<string>();
    let failure: unknown = null;
    results.forEach((result, i) => {
      const [name, n] = entries[i]!;
      // A failed report is sent again next time (and a stale one expires by itself).
      if (result.status === 'rejected') failure ??= result.reason;
      if (result.status === 'rejected' || n > 0) next.add(name);
    });
    this.reported = next;
    if (failure === null) {
      if (this.failures > 0) this.log(`controlplane: warm instances are reported again (${this.failures} reports failed meanwhile)`);
      this.failures = 0;
    } else if (this.failures++ === 0) {
      this.log(`controlplane: could not report warm instances (retried every ${this.intervalMs} ms, logged again once it works): ${errorWords(failure)}`);
    }
  }
}
