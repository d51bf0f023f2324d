/**
 * Prometheus metrics of one gateway, in its own prom-client Registry (never the global one, so
 * several gateways in one process, e.g. tests, do not collide).
 *
 * Cardinality is bounded: `function` is a registered function name, at most `maxFunctions`
 * distinct ones (then `_other`); `status` is `ok` or a code of the closed registry; `cold` is
 * `true|false`. Hot-path updates go through cached label children (one Map lookup, no
 * label-object hashing); pool gauges are computed at scrape time from `pool.stats()`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../protocol/index.js';
import type { InvocationPool } from './pool.js';

export const OTHER_FUNCTION = '_other';

export type InvocationStatus = 'ok' | ErrorCode;

interface FunctionChildren {
  label: string;
  duration: Histogram.Internal<'function'>;
  coldStarts: Counter.Internal;
  /** Keyed by `${status}|${cold}`. */
  invocations: Map<string, Counter.Internal>;
}

const DURATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const POOL_STATES = ['generic', 'spawning', 'specializing', 'warm', 'busy', 'queued'] as const;

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly invocations: Counter<'function' | 'status' | 'cold'>;
  private readonly duration: Histogram<'function'>;
  private readonly coldStarts: Counter<'function'>;
  private readonly runsDropped: Counter<'reason'>;
  private readonly children = new Map<string, FunctionChildren>();
  private distinctLabels = 0;

  /**
   * `sinkDrops` (optional) reports what the run sink itself lost, by reason, as running totals;
   * they are added to `fp_runs_dropped_total` at scrape time.
   */
  constructor(pool: InvocationPool, private readonly maxFunctions = 500, sinkDrops?: () => Readonly<Record<string, number>>) {
    const registers = [this.registry];
    this.invocations = new Counter({
      name: 'fp_invocations_total',
      help: 'Function invocations by outcome: status is ok or an error code.',
      labelNames: ['function', 'status', 'cold'],
      registers,
    });
    this.duration = new Histogram({
      name: 'fp_invocation_duration_seconds',
      help: 'Gateway-measured invocation time, request arrival to response ready.',
      labelNames: ['function'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.coldStarts = new Counter({
      name: 'fp_cold_starts_total',
      help: 'Invocations that had to specialize an instance.',
      labelNames: ['function'],
      registers,
    });
    const reported = new Map<string, number>();
    this.runsDropped = new Counter({
      name: 'fp_runs_dropped_total',
      help: 'Run records lost: the buffer overflowed, the sink threw, or the sink lost them (store_*).',
      labelNames: ['reason'],
      registers,
      collect() {
        if (!sinkDrops) return;
        // The sink keeps running totals; a counter only goes up, so add what is new since the last scrape.
        for (const [reason, total] of Object.entries(sinkDrops())) {
          const delta = total - (reported.get(reason) ?? 0);
          if (delta > 0) this.inc({ reason }, delta);
          reported.set(reason, total);
        }
      },
    });
    const metrics = this;
    new Gauge({
      name: 'fp_pool_runtimes',
      help: 'Runtime processes (and queued calls) of the pool by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = pool.stats();
        for (const state of POOL_STATES) this.set({ state }, stats[state]);
      },
    });
    new Gauge({
      name: 'fp_function_instances',
      help: 'Specialized instances per function by state.',
      labelNames: ['function', 'state'],
      registers,
      collect() {
        this.reset(); // drained versions must disappear, not freeze at their last value
        for (const [label, s] of metrics.perFunction(pool)) {
          this.set({ function: label, state: 'warm' }, s.warm);
          this.set({ function: label, state: 'busy' }, s.busy);
          this.set({ function: label, state: 'specializing' }, s.specializing);
        }
      },
    });
    new Gauge({
      name: 'fp_function_queued',
      help: 'Calls waiting for a free instance, per function.',
      labelNames: ['function'],
      registers,
      collect() {
        this.reset();
        for (const [label, s] of metrics.perFunction(pool)) this.set({ function: label }, s.queued);
      },
    });
  }

  /** Records one finished invocation. Cheap: cached children, no allocation when warm. */
  observe(fnName: string, status: InvocationStatus, cold: boolean, durationSeconds: number): void {
    const c = this.childrenFor(fnName);
    const key = cold ? `${status}|1` : `${status}|0`;
    let counter = c.invocations.get(key);
    if (!counter) {
      counter = this.invocations.labels(c.label, status, cold ? 'true' : 'false');
      c.invocations.set(key, counter);
    }
    counter.inc();
    c.duration.observe(durationSeconds);
    if (cold) c.coldStarts.inc();
  }

  runDropped(count: number, reason: 'overflow' | 'sink_error'): void {
    this.runsDropped.inc({ reason }, count);
  }

  /** The metric label for a function name: itself for the first `maxFunctions` names, then `_other`. */
  functionLabel(name: string): string {
    const known = this.children.get(name);
    if (known) return known.label;
    return this.distinctLabels < this.maxFunctions ? name : OTHER_FUNCTION;
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private childrenFor(name: string): FunctionChildren {
    let c = this.children.get(name);
    if (!c) {
      const label = this.functionLabel(name);
      if (label !== OTHER_FUNCTION) this.distinctLabels++;
      c = {
        label,
        duration: this.duration.labels(label),
        coldStarts: this.coldStarts.labels(label),
        invocations: new Map(),
      };
      // Names past the cap share `_other` children but still get a map entry (bounded by the
      // registry's size, which the caller checked: only registered functions get here).
      this.children.set(name, c);
    }
    return c;
  }

  /** Pool stats summed per function label (the pool keys them by name@version). */
  private perFunction(pool: InvocationPool): Map<string, { warm: number; busy: number; specializing: number; queued: number }> {
    const out = new Map<string, { warm: number; busy: number; specializing: number; queued: number }>();
    for (const s of Object.values(pool.stats().functions)) {
      const label = this.functionLabel(s.name);
      const sum = out.get(label) ?? { warm: 0, busy: 0, specializing: 0, queued: 0 };
      sum.warm += s.warm;
      sum.busy += s.busy;
      sum.specializing += s.specializing;
      sum.queued += s.queued;
      out.set(label, sum);
    }
    return out;
  }
}
