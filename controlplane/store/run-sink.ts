/**
 * RecordingRunSink: where a gateway hands each finished run. `record` only queues: one
 * BufferedRecorder writes run records (with logs) to the RunStore (MongoDB or SQLite), another
 * writes their samples to HotMetrics (Redis or memory). The two are independent, so a dead Redis
 * never holds back run history and a dead MongoDB never freezes the live metrics.
 */
import type { RunRecord } from '../../protocol/index.js';
import type { HotMetrics, RunSample } from './metrics/types.js';
import { BufferedRecorder, type BufferedRecorderOptions, type DropReason, type RecorderStats } from './recorder.js';
import type { RunStore } from './types.js';

export type RecorderTuning = Omit<BufferedRecorderOptions<unknown>, 'write' | 'onDrop' | 'onError'>;

export interface RecordingRunSinkOptions {
  runs: RunStore;
  /** Optional: without it only run records are written. */
  metrics?: HotMetrics;
  /** Capacity, batch size, retry and timeout settings for both recorders (see BufferedRecorder). */
  tuning?: RecorderTuning;
  /** Every dropped record, by destination and reason (feed a `fp_runs_dropped_total` counter). */
  onDrop?(target: 'runs' | 'metrics', count: number, reason: DropReason): void;
  onError?(target: 'runs' | 'metrics', err: unknown): void;
}

export function sampleOf(run: RunRecord): RunSample {
  return { function: run.function, runId: run.runId, startedAt: run.startedAt, durationMs: run.durationMs, status: run.status, cold: run.cold };
}

export class RecordingRunSink {
  readonly runs: BufferedRecorder<RunRecord>;
  readonly metrics: BufferedRecorder<RunSample> | null;

  constructor(options: RecordingRunSinkOptions) {
    const tuning = options.tuning ?? {};
    this.runs = new BufferedRecorder<RunRecord>({
      ...tuning,
      write: (batch) => options.runs.record(batch),
      onDrop: (count, reason) => options.onDrop?.('runs', count, reason),
      onError: (err) => options.onError?.('runs', err),
    });
    const metrics = options.metrics;
    this.metrics =
      metrics === undefined
        ? null
        : new BufferedRecorder<RunSample>({
            ...tuning,
            write: (batch, batchId) => metrics.record(batch, { batchId }),
            onDrop: (count, reason) => options.onDrop?.('metrics', count, reason),
            onError: (err) => options.onError?.('metrics', err),
          });
  }

  /** Queues the run for both destinations; synchronous and constant time, never throws. */
  record(run: RunRecord): void {
    this.runs.record(run);
    this.metrics?.record(sampleOf(run));
  }

  /** A run not yet written to the RunStore (so a read right after its call finds it). */
  pendingRun(runId: string): RunRecord | undefined {
    return this.runs.find((r) => r.runId === runId);
  }

  /** Dropped records by `<destination>_<reason>` (e.g. `runs_overflow`): `fp_runs_dropped_total{reason}`. */
  droppedByReason(): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (target: string, stats: RecorderStats | null): void => {
      if (stats === null) return;
      for (const [reason, count] of Object.entries(stats.droppedByReason)) out[`${target}_${reason}`] = count;
    };
    add('runs', this.runs.stats());
    add('metrics', this.metrics?.stats() ?? null);
    return out;
  }

  /** Records dropped so far, both destinations. */
  get dropped(): number {
    return this.runs.dropped + (this.metrics?.dropped ?? 0);
  }

  stats(): { runs: RecorderStats; metrics: RecorderStats | null } {
    return { runs: this.runs.stats(), metrics: this.metrics?.stats() ?? null };
  }

  /** Resolves true when both buffers are empty within `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const [a, b] = await Promise.all([this.runs.flush(timeoutMs), this.metrics?.flush(timeoutMs) ?? true]);
    return a && b;
  }

  /** Drains both for up to `timeoutMs`, then drops (and counts) what is left. Does not close the stores. */
  async close(timeoutMs = 5000): Promise<{ runs: RecorderStats; metrics: RecorderStats | null }> {
    const [runs, metrics] = await Promise.all([this.runs.close(timeoutMs), this.metrics?.close(timeoutMs) ?? null]);
    return { runs, metrics };
  }
}
