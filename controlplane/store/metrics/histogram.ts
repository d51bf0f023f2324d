/**
 * Latency histograms with fixed bucket boundaries, shared by every HotMetrics adapter so buckets
 * written by one gateway merge with another's (pure, no I/O).
 *
 * Bucket i (0 ≤ i < 85) holds durations in (upper(i-1), upper(i)] ms with upper(i) = 2^(i/4 - 2):
 * quarter-octave steps from 0.25 ms to 2^19 ms (~8.7 min); bucket 0 also takes everything ≤ 0.25 ms
 * and bucket 85 everything above 2^19 ms. A percentile is found in the merged counts and
 * interpolated geometrically inside its bucket, so it is off by at most one bucket width (~19 %).
 * These boundaries are part of the stored format: changing them needs a new key version.
 */
import type { RunSample, UsageWindow } from './sample.js';

export const FINITE_BUCKETS = 85;
/** Finite buckets plus the overflow bucket. */
export const LATENCY_BUCKETS = FINITE_BUCKETS + 1;

/** The finite upper bounds, computed once: a fractional power per call was most of `bucketIndex`. */
const UPPER: readonly number[] = Array.from({ length: FINITE_BUCKETS }, (_, i) => 2 ** (i / 4 - 2));

/** Upper bound of bucket `i` in ms (Infinity for the overflow bucket). */
export function bucketUpper(i: number): number {
  return i >= FINITE_BUCKETS ? Infinity : (UPPER[i] ?? 2 ** (i / 4 - 2));
}

/** Lower bound (exclusive) of bucket `i` in ms. */
export function bucketLower(i: number): number {
  return i <= 0 ? 0 : bucketUpper(i - 1);
}

/** The bucket a duration falls in. */
export function bucketIndex(ms: number): number {
  if (!(ms > 0.25)) return 0; // also NaN and negatives
  let i = Math.ceil(4 * (Math.log2(ms) + 2));
  // Guard against log2 rounding at exact boundaries.
  if (i > 0 && bucketUpper(i - 1) >= ms) i--;
  else if (bucketUpper(i) < ms) i++;
  return Math.min(i, FINITE_BUCKETS);
}

/**
 * Counters of one bucket (a minute, an hour, or several merged). The cold-start view
 * (docs/console.md, "Cold starts") reads three histograms of the same buckets: every run's latency,
 * the cold runs' latency (warm = latency − coldLatency, bucket by bucket) and the cold runs' init
 * time; and how many times the function's last instance in a process was stopped for being idle.
 */
export interface Tally {
  count: number;
  errors: number;
  cold: number;
  sumMs: number;
  /** Length LATENCY_BUCKETS. */
  latency: number[];
  /** Latency of the cold runs only; length LATENCY_BUCKETS (all zero in buckets written before it existed). */
  coldLatency: number[];
  /** Init time (specialization) of the cold runs; length LATENCY_BUCKETS. */
  init: number[];
  /** Scale-to-zero events: a process's last idle instance of the function was stopped. */
  scaleToZero: number;
}

const zeros = (): number[] => new Array<number>(LATENCY_BUCKETS).fill(0);

export function emptyTally(): Tally {
  return { count: 0, errors: 0, cold: 0, sumMs: 0, latency: zeros(), coldLatency: zeros(), init: zeros(), scaleToZero: 0 };
}

/** Adds a run, or a scale-to-zero event (`kind: 'scale-to-zero'`, which counts no run). */
export function addSample(tally: Tally, sample: RunSample): void {
  if (sample.kind === 'scale-to-zero') {
    tally.scaleToZero++;
    return;
  }
  tally.count++;
  if (sample.status === 'failed') tally.errors++;
  tally.sumMs += sample.durationMs;
  const i = bucketIndex(sample.durationMs);
  tally.latency[i] = (tally.latency[i] ?? 0) + 1;
  if (sample.cold) {
    // Its latency is a cold one; the start (and its init time) counts once, with the run that started it.
    tally.coldLatency[i] = (tally.coldLatency[i] ?? 0) + 1;
    if (sample.sharedStart === true) return;
    tally.cold++;
    const k = bucketIndex(sample.initMs ?? 0);
    tally.init[k] = (tally.init[k] ?? 0) + 1;
  }
}

/** Adds `from` into `into`; histograms missing in `from` (rows written before they existed) count as zeros. */
export function mergeTally(into: Tally, from: Partial<Tally> & Pick<Tally, 'count' | 'errors' | 'cold' | 'sumMs' | 'latency'>): void {
  into.count += from.count;
  into.errors += from.errors;
  into.cold += from.cold;
  into.sumMs += from.sumMs;
  into.scaleToZero += from.scaleToZero ?? 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    into.latency[i] = (into.latency[i] ?? 0) + (from.latency[i] ?? 0);
    into.coldLatency[i] = (into.coldLatency[i] ?? 0) + (from.coldLatency?.[i] ?? 0);
    into.init[i] = (into.init[i] ?? 0) + (from.init?.[i] ?? 0);
  }
}

/** The warm runs' latency histogram: every run's minus the cold runs' (never below zero). */
export function warmLatency(tally: Tally): number[] {
  return tally.latency.map((n, i) => Math.max(0, n - (tally.coldLatency[i] ?? 0)));
}

/** The q-quantile (0 < q ≤ 1) of merged bucket counts, or null when they are all zero. */
export function percentile(latency: readonly number[], q: number): number | null {
  const total = latency.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.min(1, Math.max(Number.MIN_VALUE, q)) * total;
  let seen = 0;
  for (let i = 0; i < LATENCY_BUCKETS; i++) {
    const c = latency[i] ?? 0;
    if (c === 0 || seen + c < rank) {
      seen += c;
      continue;
    }
    const lo = bucketLower(i);
    const hi = bucketUpper(i);
    const frac = (rank - seen) / c;
    if (hi === Infinity) return lo;
    if (lo === 0) return hi * frac;
    return lo * (hi / lo) ** frac;
  }
  return bucketLower(FINITE_BUCKETS);
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

/**
 * Which buckets a window merges at time `now`: minute buckets, or hour buckets for `24h`. Newest
 * first. A chart's points are the window's buckets; the numbers of a window (`cover`) take one
 * bucket more, so they cover at least the whole window: `1m` was the current calendar minute
 * alone, and calls made 8 s before were gone at the minute's turn (helper round, 2026-12-05).
 */
export function windowBuckets(window: UsageWindow, now: number, cover = false): { unit: 'minute' | 'hour'; indices: number[]; from: number } {
  const [unit, size, n] = window === '24h' ? (['hour', HOUR_MS, 24] as const) : (['minute', MINUTE_MS, window === '1h' ? 60 : window === '15m' ? 15 : 1] as const);
  const count = cover ? n + 1 : n;
  const current = Math.floor(now / size);
  const indices = Array.from({ length: count }, (_, k) => current - k);
  return { unit, indices, from: (current - count + 1) * size };
}
