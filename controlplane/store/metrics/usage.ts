/** Builds a FunctionUsage from merged buckets and state, the same way for every adapter (pure). */
import { StoreError } from '../errors.js';
import { percentile, warmLatency, type Tally } from './histogram.js';
import type { HistoryWindow } from './history.js';
import { USAGE_WINDOWS, type FunctionUsage, type UsageCounts, type UsageWindow } from './types.js';

export interface UsageParts {
  function: string;
  window: UsageWindow | HistoryWindow;
  from: number;
  to: number;
  tally: Tally;
  totals: UsageCounts;
  warmInstances: number;
  paused: boolean;
  lastSuccess: { runId: string; at: number } | null;
}

export function buildUsage(p: UsageParts): FunctionUsage {
  const n = p.tally.count;
  return {
    function: p.function,
    window: p.window,
    from: p.from,
    to: p.to,
    invocations: n,
    errors: p.tally.errors,
    coldStarts: p.tally.cold,
    errorRate: n === 0 ? 0 : p.tally.errors / n,
    coldStartRatio: n === 0 ? 0 : p.tally.cold / n,
    p50Ms: percentile(p.tally.latency, 0.5),
    p95Ms: percentile(p.tally.latency, 0.95),
    p99Ms: percentile(p.tally.latency, 0.99),
    meanMs: n === 0 ? null : p.tally.sumMs / n,
    ...splitPercentiles(p.tally),
    scaleToZero: p.tally.scaleToZero,
    totals: { ...p.totals },
    warmInstances: p.warmInstances,
    state: p.paused ? 'paused' : p.warmInstances > 0 ? 'warm' : 'cold',
    lastSuccess: p.lastSuccess === null ? null : { ...p.lastSuccess },
  };
}

/** Cold vs warm latency and init time percentiles of a tally (null where it has no such runs). */
export function splitPercentiles(tally: Tally): { coldP50Ms: number | null; coldP95Ms: number | null; warmP50Ms: number | null; warmP95Ms: number | null; initP50Ms: number | null; initP95Ms: number | null } {
  const warm = warmLatency(tally);
  return {
    coldP50Ms: percentile(tally.coldLatency, 0.5),
    coldP95Ms: percentile(tally.coldLatency, 0.95),
    warmP50Ms: percentile(warm, 0.5),
    warmP95Ms: percentile(warm, 0.95),
    initP50Ms: percentile(tally.init, 0.5),
    initP95Ms: percentile(tally.init, 0.95),
  };
}

/** Throws a RangeError for a window that is not one of USAGE_WINDOWS (the API validates first). */
export function assertWindow(window: string): asserts window is UsageWindow {
  if (!(USAGE_WINDOWS as readonly string[]).includes(window)) throw new RangeError(`unknown usage window ${JSON.stringify(window)}; one of ${USAGE_WINDOWS.join(', ')}`);
}

/** Validates a warm report (a count must be a non-negative integer). */
export function assertWarm(instances: number, ttlMs: number): void {
  if (!Number.isInteger(instances) || instances < 0) throw new RangeError(`warm instances must be a non-negative integer, not ${instances}`);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be positive, not ${ttlMs}`);
}

export function closedError(): StoreError {
  return new StoreError('STORE_CLOSED', 'the metrics store is closed');
}
