/**
 * What the embedded default's live usage (MemoryHotMetrics) keeps across a restart: the live
 * numbers are in memory there, and before this a restart zeroed `usage`'s 15m/1h/24h windows and
 * "all time" while the runs were still listed. Only a store that has no shared live view needs it
 * (production keeps them in Redis).
 */
import type { Tally } from './histogram.js';

/** One function's live state, as restored at start. */
export interface LiveSeed {
  function: string;
  /** Minute buckets (index = floor(ms / 1 min)) saved at the last graceful stop. */
  minutes: [number, Tally][];
  /** Hour buckets from the durable hourly rollups (kept however the process ended). */
  hours: [number, Tally][];
  totals: { invocations: number; errors: number; coldStarts: number };
  lastSuccess: { runId: string; at: number } | null;
}

/** What MemoryHotMetrics hands over at a graceful stop. */
export interface LiveSnapshot {
  function: string;
  minutes: [number, Tally][];
  lastSuccess: { runId: string; at: number } | null;
}

export interface LiveUsageStore {
  /** The seeds of every function with usage: hours within `hoursSince`, minutes within `minutesSince` (indices). */
  load(hoursSince: number, minutesSince: number): Promise<LiveSeed[]>;
  /** Replaces what was saved with `snapshots`. */
  save(snapshots: LiveSnapshot[]): Promise<void>;
}
