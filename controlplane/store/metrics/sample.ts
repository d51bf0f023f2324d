/** What the metrics are made of: a finished run's sample, the counts and the windows (a leaf: no imports). */

export const USAGE_WINDOWS = ['1m', '15m', '1h', '24h'] as const;
export type UsageWindow = (typeof USAGE_WINDOWS)[number];

/** The windows UsageHistory answers (./history.ts), longer than HotMetrics keeps. */
export const HISTORY_WINDOWS = ['7d', '30d'] as const;
export type HistoryWindow = (typeof HISTORY_WINDOWS)[number];

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

export interface UsageCounts {
  invocations: number;
  errors: number;
  coldStarts: number;
}

