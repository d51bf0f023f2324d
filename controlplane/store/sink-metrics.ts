/**
 * The run sink's Prometheus families (docs/gateway.md, "Metrics"), per destination (`target`:
 * runs, metrics, history; a closed list): records waiting in the recorder (a gauge read at scrape
 * time), records written, and how long each write took. Fed by the RecordingRunSink's `onWrite`
 * hook; registered in the platform's registry. What the sink dropped stays in the gateway's
 * `fp_runs_dropped_total{reason}` (read from `droppedByReason()` at scrape time).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RecorderStats, RefusalAction } from './recorder.js';
import type { SinkTarget } from './run-sink.js';

/** From a local SQLite commit (about a millisecond) to the recorder's write timeout (10 s). */
const WRITE_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type SinkStats = Readonly<Record<SinkTarget, RecorderStats | null>>;

export class RunSinkMetrics {
  private readonly flushed: Counter<'target'>;
  private readonly duration: Histogram<'target' | 'result'>;
  private readonly refused: Counter<'target' | 'action'>;

  /**
   * `stats` is read at scrape time (the sink's `stats()`; a destination it does not have is null),
   * and so is `summarized` (the sink's count of runs only counted, without a full record), and
   * `unjournaled` (run records its journal did not keep: at its cap, or a failed write).
   */
  constructor(registry: Registry, stats: () => SinkStats, summarized: () => number = () => 0, unjournaled: () => number = () => 0) {
    const registers = [registry];
    new Counter({
      name: 'fp_run_journal_skipped_total',
      help: 'Run records held in memory only, not in the run journal (at FP_RUN_JOURNAL_MAX_BYTES, or its disk full: RUN_JOURNAL_FULL): a crash loses these.',
      registers,
      collect: following(unjournaled),
    });
    new Counter({
      name: 'fp_run_records_sampled_out_total',
      help: 'Successful warm HTTP runs counted in the usage figures without a full run record (sampling: docs/stores.md, "Retention").',
      registers,
      collect: following(summarized),
    });
    new Gauge({
      name: 'fp_run_sink_buffered_records',
      help: 'Run records and samples held by the run sink, waiting or being written, per destination.',
      labelNames: ['target'],
      registers,
      collect() {
        for (const [target, s] of Object.entries(stats())) if (s !== null) this.set({ target }, s.pending + s.inFlight);
      },
    });
    this.flushed = new Counter({
      name: 'fp_run_sink_flushed_records_total',
      help: 'Run records and samples the run sink wrote, per destination.',
      labelNames: ['target'],
      registers,
    });
    this.duration = new Histogram({
      name: 'fp_run_sink_flush_duration_seconds',
      help: 'Time of each batch write of the run sink, per destination and result (ok, error: retried later).',
      labelNames: ['target', 'result'],
      buckets: WRITE_BUCKETS_SECONDS,
      registers,
    });
    this.refused = new Counter({
      name: 'fp_run_sink_refused_records_total',
      help: 'Run records and samples a store refused for what they held (not an outage), per destination and what the sink did: split (the rest written at once), reduced (written without the function\'s text), dropped (even the reduced form was refused; also in fp_runs_dropped_total). ADR 0173.',
      labelNames: ['target', 'action'],
      registers,
    });
  }

  /** The RecordingRunSink's `onRefuse`: a split counts the batch's records, reduced and dropped the record. */
  readonly onRefuse = (target: SinkTarget, count: number, action: RefusalAction): void => {
    this.refused.inc({ target, action }, count);
  };

  /** The RecordingRunSink's `onWrite`. */
  readonly onWrite = (target: SinkTarget, count: number, seconds: number, ok: boolean): void => {
    if (ok) this.flushed.inc({ target }, count);
    this.duration.observe({ target, result: ok ? 'ok' : 'error' }, seconds);
  };
}

/** A counter's `collect` that follows a running total read at scrape time (`total`: never decreasing). */
function following(total: () => number): (this: Counter) => void {
  let counted = 0;
  return function collect(this: Counter): void {
    const now = total();
    if (now > counted) this.inc(now - counted);
    counted = now;
  };
}
