/**
 * HotMetrics: the live view of each function (counters, latency percentiles over recent windows,
 * warm/cold/paused state, last success). Production keeps it in Redis (../production/redis-metrics.ts)
 * so every gateway shares one view; the embedded default keeps it in memory (./memory.ts). Both pass
 * test/conformance/hot-metrics-suite.ts. Writes come in batches from a BufferedRecorder, never from
 * the request path. Long-term history is the RunStore's (MongoDB/SQLite), not this port's.
 */

import type { Samples } from './batch.js';
import type { Tally } from './histogram.js';
import type { ApiUsage, FunctionState, Shown, ShownState } from '../../../protocol/index.js';
import type { UsageWindow } from './sample.js';

export { HISTORY_WINDOWS, USAGE_WINDOWS, type HistoryWindow, type RunSample, type UsageCounts, type UsageWindow } from './sample.js';

export { FUNCTION_STATES, SHOWN_STATES, type FunctionState, type ShownState } from '../../../protocol/index.js';

export function shownState(state: FunctionState, activeVersion: number | null): ShownState {
  return state !== 'paused' && activeVersion === null ? 'not deployed' : state;
}

/** A window's numbers of one function as this port gives them: the API's (protocol/api-usage.ts, its fields documented there) with the state as kept, before the control plane names `not deployed` and the workspace. */
export type FunctionUsage = Shown<Omit<ApiUsage, 'workspace' | 'state'> & { state: FunctionState }>;

export interface HotMetrics {
  /**
   * Adds finished runs (as they are, or folded into a SampleBatch) to the counters and latency
   * buckets. A batch is applied whole or not at all.
   * With a `batchId`, a batch already applied under that id (within the last hour) is not applied
   * again, so a retry after an ambiguous failure (applied, but the reply was lost) counts once.
   */
  record(samples: Samples, options?: { batchId?: string }): Promise<void>;
  /**
   * Reports how many warm instances of `fn` one reporter (a gateway or pool manager, by a stable id)
   * holds now. A report expires after `ttlMs` (default 30 s) unless repeated, so a reporter that
   * dies stops counting. 0 withdraws the report.
   */
  setWarm(fn: string, reporter: string, instances: number, ttlMs?: number): Promise<void>;
  /** Mirrors the function's paused status (set by the control plane on pause/resume). */
  setPaused(fn: string, paused: boolean): Promise<void>;
  usage(fn: string, window: UsageWindow): Promise<FunctionUsage>;
  /** The window's buckets one by one (minutes, hours for `24h`), oldest first, empty ones included. */
  series(fn: string, window: UsageWindow): Promise<TallySeries>;
  /** Drops everything kept about `fn` (on delete). */
  forget(fn: string): Promise<void>;
  /** Releases connections; later calls reject with STORE_CLOSED. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_WARM_TTL_MS = 30_000;

/** A window's buckets, oldest first: `at` is each bucket's start (Unix ms), `stepMs` its width. */
export interface TallySeries {
  from: number;
  to: number;
  stepMs: number;
  buckets: { at: number; tally: Tally }[];
}
