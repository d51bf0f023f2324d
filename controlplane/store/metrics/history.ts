/**
 * UsageHistory: hourly usage rollups kept in the durable store (MongoDB in production, SQLite
 * embedded), for windows longer than HotMetrics keeps (7 d, 30 d). Written off the hot path by the
 * RecordingRunSink's third recorder; the same Tally (counts and latency buckets) as HotMetrics, so
 * percentiles come from merged buckets exactly as for the live windows. Both adapters pass
 * test/conformance/usage-history-suite.ts.
 */
import { SampleBatch, type Samples } from './batch.js';
import { emptyTally, HOUR_MS, type Tally } from './histogram.js';
import { HISTORY_WINDOWS, type HistoryWindow, type TallySeries } from './types.js';

export { HISTORY_WINDOWS, type HistoryWindow };

export interface UsageHistory {
  /**
   * Adds finished runs to their function-hour rollups. Idempotent per `batchId`: a batch recorded
   * again under the same id (a retry after an ambiguous failure) is not counted twice.
   */
  record(samples: Samples, batchId: string): Promise<void>;
  /** The merged rollups of `fn` over the window's hours, ending with the current (partial) hour. */
  usage(fn: string, window: HistoryWindow): Promise<{ from: number; to: number; tally: Tally }>;
  /** The window's hours one by one, oldest first, empty ones included (`stepMs` one hour). */
  series(fn: string, window: HistoryWindow): Promise<TallySeries>;
  /** Deletes the rollups of hours that ended at or before `cutoff` (Unix ms). */
  prune(cutoff: number): Promise<void>;
  /**
   * Deletes every rollup of `fn` (on delete): a function created later under the same key (maybe
   * another tenant's, under a recycled workspace name) starts with no usage (red team 5).
   */
  forget(fn: string): Promise<void>;
}

/** How long rollups are kept: the longest window and a day to spare. */
export const HISTORY_RETENTION_MS = 31 * 24 * HOUR_MS;

export function isHistoryWindow(window: string): window is HistoryWindow {
  return (HISTORY_WINDOWS as readonly string[]).includes(window);
}

/** The hour indices (floor(ms / 1 h)) a window covers at `now`: [first, last], and its start in ms. */
export function historyHours(window: HistoryWindow, now: number): { first: number; last: number; from: number } {
  const hours = window === '7d' ? 7 * 24 : 30 * 24;
  const last = Math.floor(now / HOUR_MS);
  const first = last - hours + 1;
  return { first, last, from: first * HOUR_MS };
}

/** Samples grouped by function and hour (the rollup each belongs to), keyed `<function>/<hour>`. */
export function rollupsOf(samples: Samples): Map<string, { function: string; hour: number; tally: Tally }> {
  return SampleBatch.of(samples).hours();
}

/** Hour tallies (by hour index) laid out as the window's series, oldest first, empty hours included. */
export function hourSeries(window: HistoryWindow, now: number, byHour: ReadonlyMap<number, Tally>): TallySeries {
  const { first, last, from } = historyHours(window, now);
  const buckets: TallySeries['buckets'] = [];
  for (let h = first; h <= last; h++) buckets.push({ at: h * HOUR_MS, tally: byHour.get(h) ?? emptyTally() });
  return { from, to: now, stepMs: HOUR_MS, buckets };
}
