/**
 * The async wing's Prometheus families (docs/gateway.md, "Metrics"), registered in the platform's
 * registry: queue depth and the age of the oldest ready job per function (read from the Queue at
 * scrape time), dispatch lag, attempts by outcome, dead letters, cancellations, cron ticks and
 * webhook verdicts. The dispatcher, the cron scheduler and the webhooks see this object only
 * through their small interfaces (DispatchMetrics, CronMetrics, WebhookMetrics), injected at
 * wiring (controlplane/controlplane.ts); nothing here is global.
 *
 * Cardinality: `function` goes through the registry's label cap (protocol/metric-labels.ts: the
 * first 500 names, then `_other`); every other label comes from a closed `as const` list.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { functionLabelsOf, type FunctionLabels } from '../../protocol/index.js';
import type { AttemptOutcomeLabel, DeadLetterReason, DispatchMetrics } from './dispatcher/index.js';
import type { FunctionQueueStats, Queue } from './queue/index.js';
import type { CronMetrics, CronTickOutcome, TriggerRef, WebhookMetrics, WebhookVerdictLabel } from './triggers/index.js';

/** Claim lag: the idle poll (200 ms) up to an hour-long backlog. */
const LAG_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const QUEUE_STATES = ['ready', 'delayed', 'leased'] as const;

export interface AsyncMetricsOptions {
  registry: Registry;
  /** The queue the gauges read at scrape time; null: no queue gauges. */
  queue: Queue | null;
  /** The clock the oldest job's age is measured with (default Date.now). */
  now?: () => number;
  /** A failed queue read at scrape time (the queue gauges are then empty for that scrape). */
  onError?: (err: unknown) => void;
}

type Summed = Record<(typeof QUEUE_STATES)[number], number> & { oldestReadyAt: number | null };

export class AsyncMetrics implements DispatchMetrics, CronMetrics, WebhookMetrics {
  private readonly labels: FunctionLabels;
  private readonly lag: Histogram<'function'>;
  private readonly attempts: Counter<'function' | 'outcome'>;
  private readonly deadLetters: Counter<'function' | 'reason'>;
  private readonly cancels: Counter<'function'>;
  private readonly ticks: Counter<'function' | 'outcome'>;
  private readonly verdicts: Counter<'function' | 'verdict'>;
  /** The queue read under way: both queue gauges of a scrape (collected concurrently) share it. */
  private reading: Promise<FunctionQueueStats[] | null> | null = null;

  constructor(private readonly options: AsyncMetricsOptions) {
    const registers = [options.registry];
    this.labels = functionLabelsOf(options.registry);
    this.lag = new Histogram({
      name: 'fp_async_dispatch_lag_seconds',
      help: 'Async jobs: time from ready (enqueued, or retry due) to claimed by a dispatcher, first deliveries only.',
      labelNames: ['function'],
      buckets: LAG_BUCKETS_SECONDS,
      registers,
    });
    this.attempts = new Counter({
      name: 'fp_async_attempts_total',
      help: 'Async attempts by outcome: succeeded, failed_retry, failed_final, lease_lost, abandoned.',
      labelNames: ['function', 'outcome'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'fp_async_dead_letters_total',
      help: 'Async runs moved to the dead-letter list, by reason: max_attempts, non_retryable, max_event_age, function_deleted.',
      labelNames: ['function', 'reason'],
      registers,
    });
    this.cancels = new Counter({
      name: 'fp_async_runs_cancelled_total',
      help: 'Async runs cancelled while waiting in the queue.',
      labelNames: ['function'],
      registers,
    });
    this.ticks = new Counter({
      name: 'fp_cron_ticks_total',
      help: 'Cron ticks seen by this process, by outcome: fired, skipped_locked, skipped_late, skipped_paused, skipped_limited, failed_lock, failed_enqueue, missed.',
      labelNames: ['function', 'outcome'],
      registers,
    });
    this.verdicts = new Counter({
      name: 'fp_webhook_verdicts_total',
      help: 'Webhook requests by verdict: accepted, a WEBHOOK_* refusal, TRIGGER_NOT_FOUND or TRIGGER_UNAVAILABLE.',
      labelNames: ['function', 'verdict'],
      registers,
    });
    if (options.queue !== null) this.queueGauges(registers);
  }

  claimed(fn: string, lagSeconds: number): void {
    this.lag.observe({ function: this.labels.of(fn) }, lagSeconds);
  }

  attempt(fn: string, outcome: AttemptOutcomeLabel): void {
    this.attempts.inc({ function: this.labels.of(fn), outcome });
  }

  deadLettered(fn: string, reason: DeadLetterReason): void {
    this.deadLetters.inc({ function: this.labels.of(fn), reason });
  }

  /** A queued run was cancelled (`POST /api/v1/runs/:id/cancel`). */
  cancelled(fn: string): void {
    this.cancels.inc({ function: this.labels.of(fn) });
  }

  tick(ref: TriggerRef, outcome: CronTickOutcome): void {
    this.ticks.inc({ function: this.labels.of(ref.function), outcome });
  }

  verdict(fn: string, verdict: WebhookVerdictLabel): void {
    this.verdicts.inc({ function: this.labels.of(fn), verdict });
  }

  private queueGauges(registers: Registry[]): void {
    const metrics = this;
    const now = this.options.now ?? Date.now;
    new Gauge({
      name: 'fp_async_queue_depth',
      help: 'Async jobs in the queue per function, by state: ready (claimable), delayed (waiting for a retry time), leased (claimed).',
      labelNames: ['function', 'state'],
      registers,
      async collect() {
        this.reset(); // functions whose jobs are all gone disappear
        for (const [label, s] of await metrics.perLabel()) for (const state of QUEUE_STATES) this.set({ function: label, state }, s[state]);
      },
    });
    new Gauge({
      name: 'fp_async_queue_oldest_age_seconds',
      help: 'How long the oldest ready (claimable, unclaimed) job of each function has waited; 0 when none is ready.',
      labelNames: ['function'],
      registers,
      async collect() {
        this.reset();
        const at = now();
        for (const [label, s] of await metrics.perLabel()) {
          this.set({ function: label }, s.oldestReadyAt === null ? 0 : Math.max(0, at - s.oldestReadyAt) / 1000);
        }
      },
    });
  }

  /** The queue's per-function stats summed per label (`_other` sums its functions); empty when the read failed. */
  private async perLabel(): Promise<Map<string, Summed>> {
    const out = new Map<string, Summed>();
    for (const s of (await this.queueStats()) ?? []) {
      const label = this.labels.of(s.function);
      const sum = out.get(label) ?? { ready: 0, delayed: 0, leased: 0, oldestReadyAt: null };
      sum.ready += s.ready;
      sum.delayed += s.delayed;
      sum.leased += s.leased;
      if (s.oldestReadyAt !== null && (sum.oldestReadyAt === null || s.oldestReadyAt < sum.oldestReadyAt)) sum.oldestReadyAt = s.oldestReadyAt;
      out.set(label, sum);
    }
    return out;
  }

  /**
   * One read of the queue per scrape: prom-client collects every metric of a registry at once,
   * so the second gauge finds the first one's read still under way and waits for the same one.
   */
  private queueStats(): Promise<FunctionQueueStats[] | null> {
    if (this.reading !== null) return this.reading;
    const stats = this.options.queue!.functionStats().catch((err: unknown) => {
      this.options.onError?.(err);
      return null;
    });
    this.reading = stats;
    void stats.then(() => {
      this.reading = null;
    });
    return stats;
  }
}
