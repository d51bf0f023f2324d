/**
 * HotMetrics: the live view of each function (counters, latency percentiles over recent windows,
 * warm/cold/paused state, last success). Production keeps it in Redis (../production/redis-metrics.ts)
 * so every gateway shares one view; the embedded default keeps it in memory (./memory.ts). Both pass
 * test/conformance/hot-metrics-suite.ts. Writes come in batches from a BufferedRecorder, never from
 * the request path. Long-term history is the RunStore's (MongoDB/SQLite), not this port's.
 */

import type { Samples } from './batch.js';
import type { Tally } from './histogram.js';
import type { HistoryWindow, UsageCounts, UsageWindow } from './sample.js';

export { HISTORY_WINDOWS, USAGE_WINDOWS, type HistoryWindow, type RunSample, type UsageCounts, type UsageWindow } from './sample.js';

export const FUNCTION_STATES = ['warm', 'cold', 'paused'] as const;
export type FunctionState = (typeof FUNCTION_STATES)[number];
/** A function's state as the API shows it: `not deployed` when no version serves it (it read `cold`). */
export const SHOWN_STATES = [...FUNCTION_STATES, 'not deployed'] as const;
export type ShownState = (typeof SHOWN_STATES)[number];

export function shownState(state: FunctionState, activeVersion: number | null): ShownState {
  return state !== 'paused' && activeVersion === null ? 'not deployed' : state;
}

export interface FunctionUsage extends UsageCounts {
  function: string;
  /** A live window (HotMetrics), or `7d`/`30d` from the durable store's hourly rollups (./history.ts). */
  window: UsageWindow | HistoryWindow;
  /**
   * The merged buckets cover [from, to): a window of N minutes (hours for `24h`) is the N most
   * recent buckets including the current, partial one. `to` is the time of the query.
   */
  from: number;
  to: number;
  /** errors / invocations (0 without invocations). */
  errorRate: number;
  /** coldStarts / invocations (0 without invocations). */
  coldStartRatio: number;
  /** From merged histogram buckets (quarter-octave wide, so within ~19 %); null without invocations. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  meanMs: number | null;
  /** Latency of the cold runs only, and of the warm ones; null without such runs. */
  coldP50Ms: number | null;
  coldP95Ms: number | null;
  warmP50Ms: number | null;
  warmP95Ms: number | null;
  /** Init time (specialization) of the cold runs; null without cold runs. */
  initP50Ms: number | null;
  initP95Ms: number | null;
  /** Times a process stopped the function's last idle instance (scale to zero) in the window. */
  scaleToZero: number;
  /** Since this function's metrics began (not windowed). */
  totals: UsageCounts;
  /** Sum over every reporter's live (unexpired) report. */
  warmInstances: number;
  /** `paused` while paused, else `warm` with at least one warm instance, else `cold`. */
  state: FunctionState;
  lastSuccess: { runId: string; at: number } | null;
}

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
