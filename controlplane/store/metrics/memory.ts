/**
 * HotMetrics in memory: the embedded default (one process, so no one to share with). The same
 * minute/hour buckets and percentile math as the Redis adapter; buckets older than their Redis
 * TTL are dropped as time moves on, so memory stays bounded per function.
 */
import { BATCH_MARKER_TTL_MS, HOUR_BUCKET_TTL_MS, MINUTE_BUCKET_TTL_MS } from '../../../protocol/index.js';
import { SampleBatch, type Samples } from './batch.js';
import { emptyTally, HOUR_MS, mergeTally, MINUTE_MS, windowBuckets, type Tally } from './histogram.js';
import { DEFAULT_WARM_TTL_MS, type FunctionUsage, type HotMetrics, type TallySeries, type UsageCounts, type UsageWindow } from './types.js';
import type { LiveSeed, LiveSnapshot } from './live-state.js';
import { assertWarm, assertWindow, buildUsage, closedError } from './usage.js';

/** Most batch ids remembered (an in-process retry comes within seconds). */
const MAX_BATCH_IDS = 10_000;

interface FnState {
  minutes: Map<number, Tally>;
  hours: Map<number, Tally>;
  totals: UsageCounts;
  lastSuccess: { runId: string; at: number } | null;
  warm: Map<string, { instances: number; expiresAt: number }>;
  paused: boolean;
  /** ceil(now / MINUTE_MS) when its buckets were last pruned (NaN: a new bucket since). */
  prunedFor: number;
}

export class MemoryHotMetrics implements HotMetrics {
  private readonly fns = new Map<string, FnState>();
  private closed = false;
  private readonly now: () => number;
  /** Batch ids applied, oldest first, with when (kept an hour, at most MAX_BATCH_IDS). */
  private readonly batches = new Map<string, number>();

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  private state(fn: string): FnState {
    let s = this.fns.get(fn);
    if (s === undefined) {
      s = { minutes: new Map(), hours: new Map(), totals: { invocations: 0, errors: 0, coldStarts: 0 }, lastSuccess: null, warm: new Map(), paused: false, prunedFor: NaN };
      this.fns.set(fn, s);
    }
    return s;
  }

  private check(): void {
    if (this.closed) throw closedError();
  }

  async record(samples: Samples, options: { batchId?: string } = {}): Promise<void> {
    this.check();
    const now = this.now();
    if (options.batchId !== undefined) {
      if (this.batches.has(options.batchId)) return;
      this.batches.set(options.batchId, now);
      for (const [id, at] of this.batches) {
        if (at > now - BATCH_MARKER_TTL_MS && this.batches.size <= MAX_BATCH_IDS) break;
        this.batches.delete(id);
      }
    }
    // One pass, no closure, set or map made per write: written ten times a second (ADR 0028), this
    // code stays cold and each step of it costs (bench/README.md, "The gateway's own timers").
    const prunedFor = Math.ceil(now / MINUTE_MS);
    for (const m of SampleBatch.of(samples).minutes()) {
      const s = this.state(m.function);
      const hour = Math.floor((m.minute * MINUTE_MS) / HOUR_MS);
      let minute = s.minutes.get(m.minute);
      if (minute === undefined) s.minutes.set(m.minute, (minute = emptyTally()));
      let inHour = s.hours.get(hour);
      if (inHour === undefined) s.hours.set(hour, (inHour = emptyTally()));
      if (minute.count + minute.scaleToZero === 0 || inHour.count + inHour.scaleToZero === 0) s.prunedFor = NaN; // a new bucket may be past its TTL already
      mergeTally(minute, m.tally);
      mergeTally(inHour, m.tally);
      s.totals.invocations += m.tally.count;
      s.totals.errors += m.tally.errors;
      s.totals.coldStarts += m.tally.cold;
      if (m.lastOk !== null && (s.lastSuccess === null || m.lastOk.at >= s.lastSuccess.at)) s.lastSuccess = m.lastOk;
      // Only functions written to are pruned: a quiet function keeps at most its TTL's worth of
      // buckets. Which buckets are past their TTL changes only with ceil(now / MINUTE_MS) (the TTLs
      // and bucket ends are whole minutes), so once per minute is enough, and at a new bucket.
      if (s.prunedFor === prunedFor) continue;
      s.prunedFor = prunedFor;
      for (const index of s.minutes.keys()) if ((index + 1) * MINUTE_MS < now - MINUTE_BUCKET_TTL_MS) s.minutes.delete(index);
      for (const index of s.hours.keys()) if ((index + 1) * HOUR_MS < now - HOUR_BUCKET_TTL_MS) s.hours.delete(index);
    }
  }

  async setWarm(fn: string, reporter: string, instances: number, ttlMs = DEFAULT_WARM_TTL_MS): Promise<void> {
    this.check();
    assertWarm(instances, ttlMs);
    if (instances === 0) {
      // A withdrawal makes no state: the last one of a deleted function, sent after `forget` as
      // its drained instances stop, made one for every name a platform ever deleted (soak1).
      this.fns.get(fn)?.warm.delete(reporter);
      return;
    }
    this.state(fn).warm.set(reporter, { instances, expiresAt: this.now() + ttlMs });
  }

  async setPaused(fn: string, paused: boolean): Promise<void> {
    this.check();
    this.state(fn).paused = paused;
  }

  async usage(fn: string, window: UsageWindow): Promise<FunctionUsage> {
    this.check();
    assertWindow(window);
    const now = this.now();
    const s = this.fns.get(fn);
    const { unit, indices, from } = windowBuckets(window, now, true);
    const tally = emptyTally();
    let warmInstances = 0;
    if (s !== undefined) {
      const map = unit === 'minute' ? s.minutes : s.hours;
      for (const index of indices) {
        const bucket = map.get(index);
        if (bucket !== undefined) mergeTally(tally, bucket);
      }
      for (const [reporter, report] of s.warm) {
        if (report.expiresAt > now) warmInstances += report.instances;
        else s.warm.delete(reporter);
      }
    }
    return buildUsage({
      function: fn,
      window,
      from,
      to: now,
      tally,
      totals: s?.totals ?? { invocations: 0, errors: 0, coldStarts: 0 },
      warmInstances,
      paused: s?.paused ?? false,
      lastSuccess: s?.lastSuccess ?? null,
    });
  }

  async series(fn: string, window: UsageWindow): Promise<TallySeries> {
    this.check();
    assertWindow(window);
    const now = this.now();
    const s = this.fns.get(fn);
    const { unit, indices, from } = windowBuckets(window, now);
    const size = unit === 'minute' ? MINUTE_MS : HOUR_MS;
    const map = s === undefined ? undefined : unit === 'minute' ? s.minutes : s.hours;
    const buckets = [...indices].reverse().map((index) => {
      const tally = emptyTally();
      const bucket = map?.get(index);
      if (bucket !== undefined) mergeTally(tally, bucket);
      return { at: index * size, tally };
    });
    return { from, to: now, stepMs: size, buckets };
  }

  /**
   * Takes the state a previous process left (metrics/live-state.ts), before any call is recorded:
   * buckets past their TTL are dropped as `record` would have.
   */
  restore(seeds: readonly LiveSeed[]): void {
    const now = this.now();
    for (const seed of seeds) {
      const s = this.state(seed.function);
      for (const [index, tally] of seed.minutes) if ((index + 1) * MINUTE_MS >= now - MINUTE_BUCKET_TTL_MS) s.minutes.set(index, tally);
      for (const [index, tally] of seed.hours) if ((index + 1) * HOUR_MS >= now - HOUR_BUCKET_TTL_MS) s.hours.set(index, tally);
      s.totals = { ...seed.totals };
      s.lastSuccess = seed.lastSuccess;
    }
  }

  /** What a graceful stop saves for the next process: each function's minute buckets within their TTL and its last success. */
  snapshot(): LiveSnapshot[] {
    const now = this.now();
    const out: LiveSnapshot[] = [];
    for (const [fn, s] of this.fns) {
      const minutes = [...s.minutes].filter(([index]) => (index + 1) * MINUTE_MS >= now - MINUTE_BUCKET_TTL_MS);
      if (minutes.length > 0 || s.lastSuccess !== null) out.push({ function: fn, minutes, lastSuccess: s.lastSuccess });
    }
    return out;
  }

  /** The minute and hour bucket indices `restore` still keeps at `now`: older ones are past their TTL. */
  static keptSince(now: number): { hours: number; minutes: number } {
    return { hours: Math.floor((now - HOUR_BUCKET_TTL_MS) / HOUR_MS), minutes: Math.floor((now - MINUTE_BUCKET_TTL_MS) / MINUTE_MS) };
  }

  async forget(fn: string): Promise<void> {
    this.check();
    this.fns.delete(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
