/**
 * Which runs keep a full record (summary, error, logs) in the RunStore, and which are only counted
 * in the usage rollups and live metrics (every run is, kept or not). Kept in full, always: failed
 * runs, cold starts, runs of any trigger but plain HTTP (async, cron, webhook, the control plane's
 * test invoke), retries, and runs that wrote through their data binding (`writes` with a document
 * inserted, updated, deleted or upserted: docs/data-binding.md, "Runs and writes"). Of the rest (successful warm HTTP calls), per function: the first
 * `keepPerMinute` of each minute, then one in `sampleOneIn` (0: none). So a function called by hand
 * shows every call, and one at 6 000 calls/s stores ~60 a second, not 6 000.
 * Counting, not chance: the same stream keeps the same runs (tests rely on it; a function cannot
 * steer which of its calls are kept other than by failing or writing, which are kept anyway).
 */
import type { RunRecord } from '../../protocol/index.js';

export interface RunSampling {
  /** Successful warm HTTP runs kept per function and minute before sampling starts. */
  keepPerMinute: number;
  /** Past that, one run in this many is kept; 1 keeps all, 0 keeps none. */
  sampleOneIn: number;
}

/** Every run kept: what a sink does without a sampling setting. */
export const KEEP_ALL: RunSampling = { keepPerMinute: 0, sampleOneIn: 1 };

interface Minute {
  minute: number;
  count: number;
}

export class RunSampler {
  private readonly minutes = new Map<string, Minute>();
  private seen = 0;
  /** The minute of the last sweep of `minutes`. */
  private swept = -Infinity;

  constructor(private readonly sampling: RunSampling) {}

  /** Functions with a budget entry (stats and tests). */
  get tracked(): number {
    return this.minutes.size;
  }

  private sweep(minute: number): void {
    this.swept = minute;
    for (const [fn, m] of this.minutes) if (m.minute < minute) this.minutes.delete(fn);
  }

  /** True when the run gets a full record. Synchronous, constant time. */
  keep(run: RunRecord): boolean {
    if (run.status !== 'succeeded' || run.cold || run.trigger !== 'http' || (run.attempt ?? 1) > 1 || wrote(run)) return true;
    const { keepPerMinute, sampleOneIn } = this.sampling;
    if (sampleOneIn === 1) return true;
    if (keepPerMinute > 0) {
      const minute = Math.floor(run.startedAt / 60_000);
      let m = this.minutes.get(run.function);
      if (m === undefined) {
        // One entry per function served this minute: those of earlier minutes (deleted functions',
        // idle ones') go, once a minute, so the map does not keep every name ever served (soak1).
        if (minute > this.swept) this.sweep(minute);
        m = { minute, count: 0 };
        this.minutes.set(run.function, m);
      } else if (m.minute !== minute) {
        m.minute = minute;
        m.count = 0;
      }
      if (m.count < keepPerMinute) {
        m.count++;
        return true;
      }
    }
    return sampleOneIn > 0 && ++this.seen % sampleOneIn === 0;
  }
}

/** True when the run changed a document through its data binding (its writes are the point of keeping it). */
function wrote(run: RunRecord): boolean {
  return run.writes?.some((w) => w.inserted + w.updated + w.deleted + w.upserted > 0) ?? false;
}
