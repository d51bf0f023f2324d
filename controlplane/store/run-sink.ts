/**
 * RecordingRunSink: where a gateway hands each finished run. `record` only queues: one
 * BufferedRecorder writes run records (with logs) to the RunStore (MongoDB or SQLite), a
 * SampleRecorder writes their samples to HotMetrics (Redis or memory). The two are independent, so
 * a dead Redis never holds back run history and a dead MongoDB never freezes the live metrics. A
 * third one (optional) adds the samples to the durable store's hourly usage rollups (UsageHistory).
 * Samples wait folded per function-minute (./sample-recorder.ts), so an outage loses none of them
 * at any call rate until it spans `capacity` function-minutes.
 */
import { workspaceOfKey, type RunRecord } from '../../protocol/index.js';
import type { UsageHistory } from './metrics/history.js';
import type { HotMetrics, RunSample } from './metrics/types.js';
import type { SampleBatch } from './metrics/batch.js';
import { BufferedRecorder, type BufferedRecorderOptions, type DropReason, type RecorderStats, type RefusalAction } from './recorder.js';
import { reducedRun } from './reduced-run.js';
import type { RunJournal } from './run-journal.js';
import { isRefusal } from './refusal.js';
import { KEEP_ALL, RunSampler, type RunSampling } from './run-sampling.js';
import { SampleRecorder } from './sample-recorder.js';
import type { Incarnations, RunStore } from './types.js';

export type SinkTarget = 'runs' | 'metrics' | 'history';

export type RecorderTuning = Omit<BufferedRecorderOptions<unknown>, 'write' | 'onDrop' | 'onError' | 'onWrite' | 'refused' | 'onRefuse' | 'reduce'>;

export interface RecordingRunSinkOptions {
  runs: RunStore;
  /**
   * Whether a function key names a function that exists now, and did when the run started (a run
 * that started before the function now under that key was created is a deleted one's); absent:
 * every record is written.
   * Checked when a batch is written: a function deleted meanwhile had its runs and usage removed,
   * and its records still buffered (up to a second of them) would outlive that, to be shown to a
   * function created later under the same key, another tenant's in a workspace whose name was
   * deleted and given again (red team 5). Such records are dropped.
   * Asked of samples, and of run records handed without the incarnation they are of; a run record
   * with one is kept when it is still the key's `incarnation` (no wall clock: ADR 0219).
   */
  exists?: (functionKey: string, startedAt: number) => boolean;
  /**
   * The incarnation of the function a key names now (its `createdAt`), stamped on its runs and logs
   * when a batch is written (ADR 0190); absent, or undefined for a key: written without one. A run
   * record handed with the incarnation that served it is written only while that is this one.
   */
  incarnation?: (functionKey: string) => number | undefined;
  /**
   * Optional: every run record held is also journaled there (the state directory), so a crash loses
   * none of them; `restore` takes back what it held at the last one (./run-journal.ts, ADR 0220).
   */
  journal?: RunJournal;
  /** Optional: without it only run records are written. */
  metrics?: HotMetrics;
  /** Optional: hourly usage rollups in the durable store (for the 7d/30d windows). */
  history?: UsageHistory;
  /**
   * Which runs get a full record in the RunStore (./run-sampling.ts); every run still goes to the
   * live metrics and the rollups. Default: every run.
   */
  sampling?: RunSampling;
  /**
   * Capacity, batch size, retry and timeout settings for every recorder (see BufferedRecorder). For
   * the sample recorders `capacity` and `batchSize` count function-minutes, not records.
   */
  tuning?: RecorderTuning;
  /** Overrides `tuning` for the HotMetrics recorder (e.g. a shorter retry: live numbers recover fast). */
  metricsTuning?: RecorderTuning;
  /** Overrides `tuning` for the history recorder (e.g. a longer linger: fewer, bigger writes). */
  historyTuning?: RecorderTuning;
  /** Every dropped record, by destination and reason (feed a `fp_runs_dropped_total` counter). */
  onDrop?(target: SinkTarget, count: number, reason: DropReason): void;
  /** Every failed write, with the number failed in a row (1 = the first of an outage). */
  onError?(target: SinkTarget, err: unknown, consecutiveFailures: number): void;
  /** Every write attempt, by destination: records in it, seconds it took, success (the sink's metrics). */
  onWrite?(target: SinkTarget, count: number, seconds: number, ok: boolean): void;
  /**
   * Every write a store refused for what it held (./refusal.ts), by destination: how many records,
   * and what the recorder did (split the batch, wrote the one record reduced, or dropped it).
   */
  onRefuse?(target: SinkTarget, err: unknown, count: number, action: RefusalAction): void;
  /** Which failed writes are refusals, not outages. Default: ./refusal.ts `isRefusal` (tests put their own). */
  refused?(err: unknown): boolean;
}

/**
 * How the platform tunes the sink (controlplane.ts; bench section 7 uses the same). Run records are
 * written at most once a second under steady load, in one batch of what came meanwhile (at 20 000
 * calls/s with the default sampling ~200 records), and at once when 2000 wait: each write costs the
 * store a round trip and a transaction whatever its size (FerretDB: ~1 ms of CPU, then ~75 µs a
 * document), so fewer, larger batches cost it less. Reads do not wait for it: `GET /runs` flushes
 * first and `GET /runs/:id` looks in the buffer. Live metrics go every 100 ms (one Redis script per
 * write, whatever the call rate) and retry at least every second, so they catch up within moments
 * of Redis coming back; the rollups (for 7d/30d) every 5 s: one document per function-hour.
 */
export const PLATFORM_SINK_TUNING = {
  tuning: { lingerMs: 1000, batchSize: 2000 },
  metricsTuning: { lingerMs: 100, retryMaxMs: 1000 },
  historyTuning: { lingerMs: 5000 },
} as const satisfies Pick<RecordingRunSinkOptions, 'tuning' | 'metricsTuning' | 'historyTuning'>;

/** `n`, or 0 when it is not a finite number. */
const finite = (n: number): number => (Number.isFinite(n) ? n : 0);

/**
 * The sample of a run, for the live metrics and the rollups: the one place samples are shaped. Its
 * times are finite numbers (0 otherwise): FerretDB closes the connection on a NaN, which reads as
 * an outage, so one NaN held every later rollup of every workspace for ever (sink round 2, ADR 0173).
 */
export function sampleOf(run: RunRecord): RunSample {
  const sample: RunSample = { function: run.function, runId: run.runId, startedAt: finite(run.startedAt), durationMs: finite(run.durationMs), status: run.status, cold: run.cold, ...(run.cold ? { initMs: finite(run.initMs) } : {}) };
  if (run.sharedStart === true) sample.sharedStart = true;
  return sample;
}

/** The incarnation of each function a batch's runs are of, read once per function (ADR 0190). */
export function incarnationsOf(batch: readonly RunRecord[], incarnation: (functionKey: string) => number | undefined): Incarnations {
  const out = new Map<string, number>();
  let last = '';
  for (const run of batch) {
    const key = run.function;
    if (key === last || out.has(key)) continue;
    last = key;
    const at = incarnation(key);
    if (at !== undefined) out.set(key, at);
  }
  return out;
}

export class RecordingRunSink {
  readonly runs: BufferedRecorder<RunRecord>;
  readonly metrics: SampleRecorder | null;
  readonly history: SampleRecorder | null;
  private readonly sampler: RunSampler;
  /** Runs only counted (in the metrics and rollups), without a full record: sampled out. */
  summarized = 0;
  /** The incarnation each buffered run record was handed with (`record`). */
  private readonly madeFor = new WeakMap<RunRecord, number>();
  private readonly journal: RunJournal | null;
  /** Set by `close`: the recorder drops what it could not write, and the journal keeps it. */
  private closing = false;

  constructor(options: RecordingRunSinkOptions) {
    this.sampler = new RunSampler(options.sampling ?? KEEP_ALL);
    const journal = (this.journal = options.journal ?? null);
    // After each write of the RunStore (its batch released by then): the journal's files none of
    // whose records is still held go.
    const released = (): void => {
      if (!this.closing) journal!.release(this.runs.find(() => true));
    };
    const tuning = options.tuning ?? {};
    const exists = options.exists;
    const incarnation = options.incarnation;
    const MINUTE_MS = 60_000; // a sample batch keeps minutes: one that ends before the function was created is a deleted one's
    const madeFor = this.madeFor;
    // A run handed with its incarnation is of that function, whatever the wall clock did since it
    // was created (a step back dated its new runs before it: chaos round 2, ADR 0219); one without
    // is compared by time.
    const kept = (r: RunRecord): boolean => {
      const of = madeFor.get(r);
      if (of !== undefined && incarnation !== undefined) return of === incarnation(r.function);
      return exists === undefined || exists(r.function, r.startedAt);
    };
    const existing = (batch: readonly RunRecord[]): readonly RunRecord[] => (exists === undefined && incarnation === undefined ? batch : batch.filter(kept));
    // A function-minute of samples served by a known incarnation is kept while it is the key's
    // (ADR 0219: a step back dated them before the function and they were dropped: chaos round 2);
    // one without (scale-to-zero events) is compared by time.
    const keptMinute = (fn: string, minuteMs: number, of: number | undefined): boolean =>
      of !== undefined && incarnation !== undefined ? of === incarnation(fn) : exists === undefined || exists(fn, minuteMs + MINUTE_MS - 1);
    const existingSamples = (batch: SampleBatch): SampleBatch => (exists === undefined && incarnation === undefined ? batch : batch.only(keptMinute));
    // A refused record is isolated, written reduced, or dropped counted; nothing else waits for it (ADR 0173).
    const refusal = { refused: options.refused ?? isRefusal };
    const onRefuse = (target: SinkTarget) => (err: unknown, count: number, action: RefusalAction): void => options.onRefuse?.(target, err, count, action);
    this.runs = new BufferedRecorder<RunRecord>({
      ...tuning,
      ...refusal,
      reduce: reducedRun,
      // One workspace's flood (failed runs through a store outage) keeps half the buffer at most.
      ownerOf: (r) => workspaceOfKey(r.function),
      onRefuse: onRefuse('runs'),
      write: (batch) => {
        const kept = existing(batch);
        return options.runs.record(kept, incarnation === undefined ? undefined : incarnationsOf(kept, incarnation));
      },
      onDrop: (count, reason) => options.onDrop?.('runs', count, reason),
      onError: (err, n) => options.onError?.('runs', err, n),
      onWrite: (count, seconds, ok) => {
        if (ok && journal !== null) queueMicrotask(released);
        options.onWrite?.('runs', count, seconds, ok);
      },
    });
    const metrics = options.metrics;
    this.metrics =
      metrics === undefined
        ? null
        : new SampleRecorder({
            ...tuning,
            ...options.metricsTuning,
            ...refusal,
            onRefuse: onRefuse('metrics'),
            write: (batch, batchId) => metrics.record(existingSamples(batch), { batchId }),
            onDrop: (count, reason) => options.onDrop?.('metrics', count, reason),
            onError: (err, n) => options.onError?.('metrics', err, n),
            onWrite: (count, seconds, ok) => options.onWrite?.('metrics', count, seconds, ok),
          });
    const history = options.history;
    this.history =
      history === undefined
        ? null
        : new SampleRecorder({
            ...tuning,
            ...options.historyTuning,
            ...refusal,
            onRefuse: onRefuse('history'),
            write: (batch, batchId) => history.record(existingSamples(batch), batchId),
            onDrop: (count, reason) => options.onDrop?.('history', count, reason),
            onError: (err, n) => options.onError?.('history', err, n),
            onWrite: (count, seconds, ok) => options.onWrite?.('history', count, seconds, ok),
          });
  }

  /**
   * Queues the run for every destination (its full record only when the sampling keeps it);
   * synchronous and constant time, never throws. `incarnation`: that of the function version that
   * served it (FunctionVersion.incarnation); its record is written only while the key names that one.
   */
  record(run: RunRecord, incarnation?: number): void {
    if (this.sampler.keep(run)) {
      if (incarnation !== undefined) this.madeFor.set(run, incarnation);
      this.journal?.append(run, incarnation);
      this.runs.record(run);
    } else this.summarized++;
    if (this.metrics === null && this.history === null) return;
    const sample = sampleOf(run);
    if (incarnation !== undefined) sample.incarnation = incarnation;
    this.metrics?.record(sample);
    this.history?.record(sample);
  }

  /**
   * Takes back the run records the journal held when the process last stopped (a crash, or a stop
   * that could not write them), to be written as any other; their samples were counted then, or
   * are lost with the process's memory. Returns how many. Call once, before the first `record`.
   */
  restore(): number {
    if (this.journal === null) return 0;
    const runs = this.journal.replay();
    for (const { run, incarnation } of runs) {
      if (incarnation !== undefined) this.madeFor.set(run, incarnation);
      this.runs.record(run);
    }
    return runs.length;
  }

  /** Records the journal did not keep (at its cap, or a failed write); 0 without one. */
  get unjournaled(): number {
    return this.journal?.skipped ?? 0;
  }

  /** Events that are not runs (scale-to-zero), for HotMetrics and the rollups only. */
  recordEvents(samples: readonly RunSample[]): void {
    for (const sample of samples) {
      this.metrics?.record(sample);
      this.history?.record(sample);
    }
  }

  /** A run not yet written to the RunStore (so a read right after its call finds it). */
  pendingRun(runId: string): RunRecord | undefined {
    return this.runs.find((r) => r.runId === runId);
  }

  /** The incarnation a record still held was handed with (`record`), if any. */
  incarnationOf(run: RunRecord): number | undefined {
    return this.madeFor.get(run);
  }

  /** Every attempt of a run not yet written to the RunStore, oldest first. */
  pendingAttempts(runId: string): RunRecord[] {
    return this.runs.filter((r) => r.runId === runId);
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
    add('history', this.history?.stats() ?? null);
    return out;
  }

  /** Records dropped so far, every destination. */
  get dropped(): number {
    return this.runs.dropped + (this.metrics?.dropped ?? 0) + (this.history?.dropped ?? 0);
  }

  stats(): { runs: RecorderStats; metrics: RecorderStats | null; history: RecorderStats | null } {
    return { runs: this.runs.stats(), metrics: this.metrics?.stats() ?? null, history: this.history?.stats() ?? null };
  }

  /** Resolves true when every buffer is empty within `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const done = await Promise.all([this.runs.flush(timeoutMs), this.metrics?.flush(timeoutMs) ?? true, this.history?.flush(timeoutMs) ?? true]);
    return done.every(Boolean);
  }

  /** Drains every recorder for up to `timeoutMs`, then drops (and counts) what is left. Does not close the stores. */
  async close(timeoutMs = 5000): Promise<{ runs: RecorderStats; metrics: RecorderStats | null; history: RecorderStats | null }> {
    this.closing = true;
    const lost = this.runs.stats().droppedByReason.shutdown;
    const [runs, metrics, history] = await Promise.all([this.runs.close(timeoutMs), this.metrics?.close(timeoutMs) ?? null, this.history?.close(timeoutMs) ?? null]);
    // Every record written: the journal is empty; some dropped (the store down): it keeps them for the next start.
    if (runs.droppedByReason.shutdown === lost) this.journal?.release(undefined);
    this.journal?.close();
    return { runs, metrics, history };
  }
}
