/** What the metrics are made of: a finished run's sample; the counts and the windows are the API's (protocol/api-usage.ts). */

export { HISTORY_WINDOWS, USAGE_WINDOWS, type HistoryWindow, type UsageCounts, type UsageWindow } from '../../../protocol/index.js';

/** What HotMetrics needs of a finished run. */
export interface RunSample {
  function: string;
  runId: string;
  /** Unix ms; picks the run's minute and hour buckets. */
  startedAt: number;
  /** Gateway-measured duration, the latency the percentiles are of. */
  durationMs: number;
  status: 'succeeded' | 'failed';
  cold: boolean;
  /** Cold, but the instance's start was another run's: its latency is a cold one, the start is not counted again. */
  sharedStart?: true;
  /** A cold run's init time (specialization), ms. */
  initMs?: number;
  /**
   * Absent: a finished run. `scale-to-zero`: not a run but the event of a process stopping the
   * function's last idle instance (counted in the minute's `scaleToZero`, nowhere else).
   */
  kind?: 'scale-to-zero';
  /**
   * The incarnation of the function that served it (FunctionVersion.incarnation, ADR 0219), when the
   * caller knew it: its minute is kept while that function is the one under its key, whatever the
   * wall clock did. Absent (events, samples of old callers): compared with the function's createdAt.
   */
  incarnation?: number;
}

