/**
 * A function's numbers as the public API answers them (docs/api.md, "Usage", "Series and cold
 * starts"): the one declaration the CLI (cli/client.ts) and the console (console/src/api.ts) read
 * them with, and the metrics port's own view (controlplane/store/metrics/types.ts `FunctionUsage`)
 * is made from. The control plane's response schemas (controlplane/api/answers.ts,
 * answers-console.ts) are checked against these types when it compiles.
 */
import type { Shown } from './api-runs.js';

/** The live windows (HotMetrics). */
export const USAGE_WINDOWS = ['1m', '15m', '1h', '24h'] as const;
export type UsageWindow = (typeof USAGE_WINDOWS)[number];

/** The windows of the durable store's hourly rollups (UsageHistory), longer than HotMetrics keeps. */
export const HISTORY_WINDOWS = ['7d', '30d'] as const;
export type HistoryWindow = (typeof HISTORY_WINDOWS)[number];

export const FUNCTION_STATES = ['warm', 'cold', 'paused'] as const;
export type FunctionState = (typeof FUNCTION_STATES)[number];
/** A function's state as the API shows it: `not deployed` when no version serves it (it read `cold`). */
export const SHOWN_STATES = [...FUNCTION_STATES, 'not deployed'] as const;
export type ShownState = (typeof SHOWN_STATES)[number];

export interface UsageCounts {
  invocations: number;
  errors: number;
  coldStarts: number;
}

/** Latency of the cold runs only and of the warm ones, and the cold runs' init time (specialization); null without such runs. */
export interface ColdLatency {
  coldP50Ms: number | null;
  coldP95Ms: number | null;
  warmP50Ms: number | null;
  warmP95Ms: number | null;
  initP50Ms: number | null;
  initP95Ms: number | null;
}

/** A window's numbers of one function (`GET /functions/:name/usage`). */
export type ApiUsage = Shown<UsageCounts & ColdLatency & {
  function: string;
  workspace: string;
  /** A live window (HotMetrics), or `7d`/`30d` from the durable store's hourly rollups. */
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
  /** Times a process stopped the function's last idle instance (scale to zero) in the window. */
  scaleToZero: number;
  /** Since this function's metrics began (not windowed). */
  totals: UsageCounts;
  /** Sum over every reporter's live (unexpired) report. */
  warmInstances: number;
  /** `paused` while paused, else `warm` with at least one warm instance, else `cold`; `not deployed` without a version. */
  state: ShownState;
  lastSuccess: { runId: string; at: number } | null;
}>;

/** One bucket of a series (a minute, or an hour for 24h, 7d and 30d). */
export type ApiUsagePoint = Shown<UsageCounts & ColdLatency & {
  /** The bucket's start, Unix ms. */
  at: number;
  scaleToZero: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}>;

/** `GET /functions/:name/usage/series`: the window bucket by bucket, oldest first. */
export interface ApiUsageSeries {
  function: string;
  window: UsageWindow | HistoryWindow;
  from: number;
  to: number;
  /** Width of each point's bucket. */
  stepMs: number;
  points: ApiUsagePoint[];
}

/** The cold-start numbers of a function, or of every function together. */
export type ApiColdStartNumbers = Shown<ColdLatency & {
  invocations: number;
  coldStarts: number;
  /** coldStarts / invocations (0 without invocations). */
  coldStartRatio: number;
  /** How much slower a cold call is at the median: coldP50Ms − warmP50Ms (null without both). */
  coldPenaltyMs: number | null;
  scaleToZero: number;
  warmInstances: number;
}>;

/** One function's row of `GET /coldstarts`. */
export type ApiColdStartRow = Shown<ApiColdStartNumbers & {
  function: string;
  state: ShownState;
  /** What keeps it warm, and how far it scales. */
  minWarm: number;
  maxInstances: number;
  /** When its latest cold start in the window happened (the start of that bucket), or null. */
  lastColdAt: number | null;
}>;

/** `GET /coldstarts`: every function, their sum, and the merged series. */
export interface ApiColdStarts {
  window: UsageWindow | HistoryWindow;
  from: number;
  to: number;
  stepMs: number;
  summary: Shown<ApiColdStartNumbers & { functions: number }>;
  /** Most cold starts first. */
  functions: ApiColdStartRow[];
  /** Every function merged, bucket by bucket, oldest first. */
  points: ApiUsagePoint[];
}
