/**
 * A histogram with one label, kept as plain arrays and rendered by a prom-client Registry like
 * prom-client's own Histogram (same series, same order, same text). Why: prom-client's
 * `histogram.labels(x).observe(v)` converts, validates and hashes the label object on every
 * observation (~0.5 µs); this is one array lookup and two additions, on every invocation
 * (issue 11). The Registry takes any object with this shape (`name`, `help`, `type`,
 * `aggregator`, `get()`, `reset()`).
 */

/** One label value's state: a count per bucket (not cumulative), their sum and count. */
interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface ValuePair {
  labels: Record<string, string | number>;
  sharedLabels: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
  exemplar?: null;
}

export class OneLabelHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<string, HistogramSeries>();

  constructor(readonly name: string, readonly help: string, private readonly labelName: string, private readonly upperBounds: readonly number[]) {}

  /** Records one value under the label value `of`; a value that is not finite is not recorded. */
  observe(of: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let s = this.series.get(of);
    if (s === undefined) {
      s = { labels: { [this.labelName]: of }, counts: new Float64Array(this.upperBounds.length), sum: 0, count: 0 };
      this.series.set(of, s);
    }
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += value;
    s.count += 1;
  }

  /** Removes the series of the label value `of` (a deleted function's). */
  forget(of: string): void {
    this.series.delete(of);
  }

  /** What the Registry renders: per series its cumulative buckets, `+Inf`, `_sum` and `_count` (prom-client's order). */
  get(): { name: string; help: string; type: string; values: ValuePair[]; aggregator: string } {
    const values: ValuePair[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.upperBounds[i]! }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Forgets every series (Registry.resetMetrics), as prom-client's reset does. */
  reset(): void {
    this.series = new Map();
  }
}
