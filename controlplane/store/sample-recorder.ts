/**
 * SampleRecorder: the recorder of run samples (for HotMetrics and the usage rollups). Same engine
 * as the BufferedRecorder (one batch at a time, retried as it is with the same batch id, counted
 * drops), but samples wait folded into one tally per function and minute (metrics/batch.ts), which
 * is all either destination keeps of them. So what waits during an outage grows with the
 * function-minutes it spans, not with the call rate: a 3 s Redis outage at 20 000 calls/s is one
 * entry per busy function, where a ring of 10 000 samples would have dropped two thirds of them.
 *
 * Bound: `capacity` function-minutes waiting (default 10 000, ~1 KiB each), plus the batch being
 * written (at most `batchSize` of them). Past it, a sample that needs a new function-minute is
 * dropped and counted (`overflow`); samples of function-minutes already waiting are still counted
 * in. E.g. 100 busy functions fill it after a 100-minute outage.
 */
import { SampleBatch } from './metrics/batch.js';
import type { RunSample } from './metrics/types.js';
import { Recorder, type RecorderOptions, type Waiting } from './recorder.js';

export interface SampleRecorderOptions extends RecorderOptions<SampleBatch> {
  /** Most function-minutes waiting. Default 10 000. */
  capacity?: number;
  /** Most function-minutes per write. Default 500. */
  batchSize?: number;
}

class FoldedSamples implements Waiting<RunSample, SampleBatch> {
  private pending = new SampleBatch();

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.pending.length;
  }

  add(sample: RunSample): number {
    return this.pending.add(sample, this.capacity) ? 0 : 1;
  }

  full(max: number): boolean {
    return this.pending.size >= max;
  }

  take(max: number): { batch: SampleBatch; count: number } | null {
    if (this.pending.length === 0) return null;
    const batch = this.pending.size <= max ? this.pending : this.pending.take(max);
    if (batch === this.pending) this.pending = new SampleBatch();
    return { batch, count: batch.length };
  }

  clear(): number {
    const n = this.pending.length;
    this.pending = new SampleBatch();
    return n;
  }

  /** A refused batch (no longer held by anyone) in two: its older function-minutes, and the rest. */
  split(batch: SampleBatch): [{ batch: SampleBatch; count: number }, { batch: SampleBatch; count: number }] | null {
    if (batch.size < 2) return null;
    const first = batch.take(Math.ceil(batch.size / 2));
    return [{ batch: first, count: first.length }, { batch, count: batch.length }];
  }
}

export class SampleRecorder extends Recorder<RunSample, SampleBatch> {
  constructor(options: SampleRecorderOptions) {
    const capacity = options.capacity ?? 10_000;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be an integer ≥ 1');
    super(options, new FoldedSamples(capacity));
  }
}
