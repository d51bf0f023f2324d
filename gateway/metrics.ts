/**
 * Prometheus metrics of one gateway, in a prom-client Registry of its own or the one it is given
 * (the platform's: the control plane registers its families there too). Never the global
 * registry, so several gateways in one process, e.g. tests, do not collide. `/metrics` renders
 * that registry merged with the process's default metrics (./process-metrics.ts).
 *
 * Cardinality is bounded: `function` is a registered function name, at most `maxFunctions`
 * distinct ones per registry (then `_other`, protocol/metric-labels.ts); `status` is `ok` or a
 * code of the closed registry; `cold` is `true|false`. Hot-path updates go through cached label
 * children (one Map lookup, no label-object hashing); pool gauges are computed at scrape time
 * from `pool.stats()`.
 *
 * Who sees which series is decided per scrape (docs/adr/0036-metrics-scope.md): the whole registry
 * is rendered, then cut to the scraper's view (./metrics-view.ts).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { ALL_METRICS, functionLabelsOf, OTHER_FUNCTION, type ErrorCode, type FunctionLabels, type MetricsView } from '../protocol/index.js';
import { OneLabelHistogram } from './function-histogram.js';
import { viewOf } from './metrics-view.js';
import type { InvocationPool } from './pool.js';
import { processRegistry } from './process-metrics.js';

export { OTHER_FUNCTION };

export interface GatewayMetricsOptions {
  /** Where the families are registered (default: a new Registry). */
  registry?: Registry;
  /** Distinct `function` labels before `_other` (default 500; the registry's first user sets it). */
  maxFunctions?: number;
  /**
   * What the run sink itself lost, by reason, as running totals; added to
   * `fp_runs_dropped_total` at scrape time.
   */
  sinkDrops?: () => Readonly<Record<string, number>>;
  /** Render the process's default metrics too (default true). */
  processMetrics?: boolean;
}

/** fp_invocations_total's `status` of a call the function answered 5xx itself (no platform code: ADR 0185). */
export const ANSWERED_5XX = 'answered_5xx';
export type InvocationStatus = 'ok' | typeof ANSWERED_5XX | ErrorCode;

interface FunctionChildren {
  label: string;
  coldStarts: Counter.Internal;
  /** Keyed by status, for cold = false and cold = true: invocations not yet added to the counter. */
  invocations: [Map<string, PendingCount>, Map<string, PendingCount>];
}

/** Invocations of one series counted since the last scrape; added to the prom-client counter at scrape time. */
interface PendingCount {
  labels: { function: string; status: string; cold: 'true' | 'false' };
  n: number;
}

const DURATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** How long a deleted function's calls may still end (and not be counted): the longest function timeout (1 h). */
const FORGOTTEN_KEEP_MS = 3_600_000;

/**
 * Removes the series of a prom-client metric whose `function` label is `label`. prom-client's
 * `remove()` needs every label's value, so the series are found in its `hashMap` (its entries hold
 * their `labels`; prom-client is pinned, and gateway-metrics-forget tests this).
 */
function removeSeries(metric: object, label: string): void {
  const m = metric as { labelNames?: readonly string[]; hashMap?: Record<string, { labels?: Record<string, unknown> }>; remove?: (labels: Record<string, unknown>) => void };
  if (m.labelNames?.includes('function') !== true || m.hashMap === undefined || m.remove === undefined) return;
  for (const entry of Object.values(m.hashMap)) {
    if (entry.labels?.['function'] === label) m.remove.call(metric, entry.labels);
  }
}

const POOL_STATES = ['generic', 'spawning', 'specializing', 'warm', 'busy', 'queued'] as const;

export class GatewayMetrics {
  readonly registry: Registry;
  private readonly labels: FunctionLabels;
  /** The process's default metrics, rendered with ours (null: turned off). */
  private readonly process: Registry | null;
  private readonly duration: OneLabelHistogram;
  private readonly coldStarts: Counter<'function'>;
  private readonly invocations: Counter<'function' | 'status' | 'cold'>;
  private readonly runsDropped: Counter<'reason'>;
  private readonly refusals: Counter<'function' | 'code'>;
  private readonly children = new Map<string, FunctionChildren>();
  /** Deleted functions (by name) and when: calls of theirs that began before are not counted (they drain after the delete). */
  private readonly forgotten = new Map<string, number>();

  constructor(pool: InvocationPool, options: GatewayMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.labels = functionLabelsOf(this.registry, options.maxFunctions);
    // Made now, not at the first scrape: the event-loop monitor starts with the gateway.
    this.process = options.processMetrics === false ? null : processRegistry();
    const sinkDrops = options.sinkDrops;
    const registers = [this.registry];
    // Counted per call in plain numbers (PendingCount), added to the counter when it is scraped:
    // prom-client's `labels(...).inc()` hashes the label object on every call (issue 11).
    const children = this.children;
    this.invocations = new Counter({
      name: 'fp_invocations_total',
      help: 'Function invocations by outcome: status is ok or an error code.',
      labelNames: ['function', 'status', 'cold'],
      registers,
      collect() {
        for (const c of children.values()) {
          for (const byStatus of c.invocations) {
            for (const pending of byStatus.values()) {
              if (pending.n === 0) continue;
              this.inc(pending.labels, pending.n);
              pending.n = 0;
            }
          }
        }
      },
    });
    // Same family and text as prom-client's Histogram, without its per-observation hashing (./function-histogram.ts).
    this.duration = new OneLabelHistogram('fp_invocation_duration_seconds', 'Gateway-measured invocation time, request arrival to response ready.',
      'function', DURATION_BUCKETS_SECONDS);
    this.registry.registerMetric(this.duration as unknown as Parameters<Registry['registerMetric']>[0]); // the Registry takes any metric of this shape
    this.coldStarts = new Counter({
      name: 'fp_cold_starts_total',
      help: 'Instances started for a call (calls waiting for the same start count once).',
      labelNames: ['function'],
      registers,
    });
    // Calls refused at admission by the function's rate limit or its workspace's quota never reach
    // the pool, so fp_invocations_total and usage never showed them (ops round 1).
    this.refusals = new Counter({
      name: 'fp_invocations_refused_total',
      help: "Calls refused before they ran by the function's rate limit or its workspace's quota: code is RATE_LIMITED, QUOTA_EXCEEDED or the limiter's outage code.",
      labelNames: ['function', 'code'],
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
    // A deleted function's series leave the whole registry, the control plane's families too (red team 6).
    this.labels.onForget((name) => metrics.forget(name));
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
    let startFailures = 0;
    new Counter({
      name: 'fp_runtime_start_failures_total',
      help: 'Runtimes that ended before they took a function, not stopped by the platform (out of pids, a box that could not be built): the operator\'s log names each cause.',
      registers,
      collect() {
        const total = pool.startHealth?.()?.startFailures ?? 0;
        if (total > startFailures) this.inc(total - startFailures);
        startFailures = total;
      },
    });
    new Gauge({
      name: 'fp_zygote_bypassed',
      help: 'Per preset: 1 while its zygote is bypassed (it or its forks failed repeatedly; runtimes are spawned), else 0.',
      labelNames: ['preset'],
      registers,
      collect() {
        for (const [preset, z] of Object.entries(pool.startHealth?.()?.zygotes ?? {})) this.set({ preset }, z.state === 'bypassed' ? 1 : 0);
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

  /**
   * Records one finished invocation that began at `startedAt` (ms, wall clock; absent: now); a cold
   * one whose instance another call started (`sharedStart`) is no cold start of its own. Cheap:
   * two Map lookups and additions, no allocation when warm.
   */
  observe(fnName: string, status: InvocationStatus, cold: boolean, durationSeconds: number, startedAt?: number, sharedStart = false): void {
    if (this.forgotten.size > 0 && startedAt !== undefined && startedAt < (this.forgotten.get(fnName) ?? -Infinity)) return;
    const c = this.childrenFor(fnName);
    const byStatus = c.invocations[cold ? 1 : 0];
    let pending = byStatus.get(status);
    if (pending === undefined) {
      pending = { labels: { function: c.label, status, cold: cold ? 'true' : 'false' }, n: 0 };
      byStatus.set(status, pending);
    }
    pending.n++;
    this.duration.observe(c.label, durationSeconds);
    if (cold && !sharedStart) c.coldStarts.inc();
  }

  /**
   * Removes every series of the function `name` from the registry (any family with a `function`
   * label, the control plane's too); calls of it still running are not counted when they end.
   * Through FunctionLabels.forget, when the function is deleted.
   */
  private forget(name: string): void {
    const now = Date.now();
    for (const [old, at] of this.forgotten) if (now - at > FORGOTTEN_KEEP_MS) this.forgotten.delete(old);
    this.forgotten.set(name, now);
    const label = this.functionLabel(name);
    if (label === OTHER_FUNCTION) return;
    this.children.delete(name);
    this.duration.forget(label);
    for (const metric of this.registry.getMetricsAsArray()) removeSeries(metric, label);
  }

  /** One call of the registered function `fnName` refused at admission (its rate limit, its workspace's quota) with `code`. */
  refused(fnName: string, code: string): void {
    this.refusals.inc({ function: this.childrenFor(fnName).label, code });
  }

  runDropped(count: number, reason: 'overflow' | 'sink_error'): void {
    this.runsDropped.inc({ reason }, count);
  }

  /** The metric label for a function name: itself for the first `maxFunctions` names, then `_other`. */
  functionLabel(name: string): string {
    return this.children.get(name)?.label ?? this.labels.of(name);
  }

  /**
   * The text exposition of the registry, plus the process's default metrics unless turned off,
   * as far as `view` may see it (./metrics-view.ts; default: all of it).
   */
  async render(view: MetricsView = ALL_METRICS): Promise<{ contentType: string; body: string }> {
    // Merged per scrape (a few dozen references), so families registered later still show.
    const registry = this.process === null ? this.registry : Registry.merge([this.registry, this.process]);
    return { contentType: registry.contentType, body: viewOf(await registry.metrics(), view) };
  }

  private childrenFor(name: string): FunctionChildren {
    let c = this.children.get(name);
    // A name that got `_other` while the labels were taken takes its own once one is free again
    // (red team round 26): kept, it stayed `_other` here until a restart while the async families
    // (which ask every time) gave it its own name. Another workspace's functions filled the cap
    // for a while, and this workspace's function went dark for good.
    if (c !== undefined && c.label === OTHER_FUNCTION && this.labels.size < this.labels.max && this.labels.of(name) !== OTHER_FUNCTION) {
      this.flush(c);
      this.children.delete(name);
      c = undefined;
    }
    if (!c) {
      const label = this.labels.of(name);
      c = {
        label,
        coldStarts: this.coldStarts.labels(label),
        invocations: [new Map(), new Map()],
      };
      // Names past the cap share `_other` children but still get a map entry (bounded by the
      // registry's size, which the caller checked: only registered functions get here).
      this.children.set(name, c);
    }
    return c;
  }

  /** Adds what `c` counted since the last scrape to the counter now (its children are being replaced). */
  private flush(c: FunctionChildren): void {
    for (const byStatus of c.invocations) {
      for (const pending of byStatus.values()) if (pending.n > 0) this.invocations.inc(pending.labels, pending.n);
    }
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
