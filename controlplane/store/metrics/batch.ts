/**
 * SampleBatch: finished runs folded into one tally per function and minute, which is all HotMetrics
 * and the usage rollups keep of them (counts, latency buckets, sum, newest success). Waiting samples
 * are held in this form (./sample-recorder.ts), so a backlog costs memory per function-minute, not
 * per call: a Redis outage of a few seconds at any call rate is a few entries per function.
 */
import { addSample, emptyTally, HOUR_MS, MINUTE_MS, mergeTally, type Tally } from './histogram.js';
import type { RunSample, UsageCounts } from './sample.js';

/** The runs of one function that started in one minute (floor(startedAt / 60 000)). */
export interface MinuteTally {
  function: string;
  minute: number;
  tally: Tally;
  /** The incarnation of the function they were served by (RunSample.incarnation): another one folds apart. */
  incarnation?: number;
  /** The newest successful run among them. */
  lastOk: { runId: string; at: number } | null;
}

/** What HotMetrics and UsageHistory take: the samples as they are, or already folded. */
export type Samples = readonly RunSample[] | SampleBatch;

export class SampleBatch {
  private readonly entries = new Map<string, MinuteTally>();
  /** The entry the last sample went to (held here, or null). */
  private last: MinuteTally | null = null;
  /** Samples folded in (across all entries; scale-to-zero events included). */
  length = 0;

  /** The samples folded (a batch is returned as it is). */
  static of(samples: Samples): SampleBatch {
    if (samples instanceof SampleBatch) return samples;
    const batch = new SampleBatch();
    for (const s of samples) batch.add(s);
    return batch;
  }

  /** Function-minutes held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Folds one sample in. Returns false, changing nothing, when the sample needs an entry of its own
   * and the batch holds `maxEntries` already.
   */
  add(sample: RunSample, maxEntries = Infinity): boolean {
    const minute = Math.floor(sample.startedAt / MINUTE_MS);
    // Calls come in runs of one function and minute: the entry of the last sample, without a key.
    let entry = this.last;
    if (entry === null || entry.minute !== minute || entry.function !== sample.function || entry.incarnation !== sample.incarnation) {
      const key = sample.incarnation === undefined ? `${sample.function}/${minute}` : `${sample.function}/${minute}/${sample.incarnation}`;
      entry = this.entries.get(key) ?? null;
      if (entry === null) {
        if (this.entries.size >= maxEntries) return false;
        this.entries.set(key, (entry = { function: sample.function, minute, tally: emptyTally(), lastOk: null }));
        if (sample.incarnation !== undefined) entry.incarnation = sample.incarnation;
      }
      this.last = entry;
    }
    addSample(entry.tally, sample);
    if (sample.kind === undefined && sample.status === 'succeeded' && (entry.lastOk === null || sample.startedAt >= entry.lastOk.at)) entry.lastOk = { runId: sample.runId, at: sample.startedAt };
    this.length++;
    return true;
  }

  /** Moves up to `max` entries, oldest first, into a new batch. */
  take(max: number): SampleBatch {
    const out = new SampleBatch();
    this.last = null; // it may leave with them
    for (const [key, entry] of this.entries) {
      if (out.entries.size >= max) break;
      this.entries.delete(key);
      out.entries.set(key, entry);
      out.length += entry.tally.count + entry.tally.scaleToZero;
      this.length -= entry.tally.count + entry.tally.scaleToZero;
    }
    return out;
  }

  /**
   * The function-minutes `keep` accepts, given each one's minute as Unix ms and the incarnation its
   * samples were served by, when known (this batch itself when it accepts them all).
   */
  only(keep: (functionKey: string, minuteMs: number, incarnation: number | undefined) => boolean): SampleBatch {
    let all = true;
    for (const m of this.entries.values()) all &&= keep(m.function, m.minute * MINUTE_MS, m.incarnation);
    if (all) return this;
    const out = new SampleBatch();
    for (const [key, entry] of this.entries) {
      if (!keep(entry.function, entry.minute * MINUTE_MS, entry.incarnation)) continue;
      out.entries.set(key, entry);
      out.length += entry.tally.count + entry.tally.scaleToZero;
    }
    return out;
  }

  minutes(): IterableIterator<MinuteTally> {
    return this.entries.values();
  }

  /** The same runs per function and hour (floor(startedAt / 3 600 000)), keyed `<function>/<hour>`. */
  hours(): Map<string, { function: string; hour: number; tally: Tally }> {
    const out = new Map<string, { function: string; hour: number; tally: Tally }>();
    for (const m of this.entries.values()) {
      const hour = Math.floor((m.minute * MINUTE_MS) / HOUR_MS);
      const key = `${m.function}/${hour}`;
      let entry = out.get(key);
      if (entry === undefined) out.set(key, (entry = { function: m.function, hour, tally: emptyTally() }));
      mergeTally(entry.tally, m.tally);
    }
    return out;
  }

  /** Invocations, errors and cold starts per function. */
  totals(): Map<string, UsageCounts> {
    const out = new Map<string, UsageCounts>();
    for (const m of this.entries.values()) {
      const t = out.get(m.function) ?? { invocations: 0, errors: 0, coldStarts: 0 };
      t.invocations += m.tally.count;
      t.errors += m.tally.errors;
      t.coldStarts += m.tally.cold;
      out.set(m.function, t);
    }
    return out;
  }

  /** The newest successful run per function. */
  lastOk(): Map<string, { runId: string; at: number }> {
    const out = new Map<string, { runId: string; at: number }>();
    for (const m of this.entries.values()) {
      const prev = out.get(m.function);
      if (m.lastOk !== null && (prev === undefined || m.lastOk.at >= prev.at)) out.set(m.function, m.lastOk);
    }
    return out;
  }
}
