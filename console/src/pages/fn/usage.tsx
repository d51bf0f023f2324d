/** Usage: invocations, errors and error rate, p50/p95/p99, cold starts and their share, over 1h/24h/7d/30d, as charts. */
import type { JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { api, enc, type Series, type Usage } from '../../api.js';
import { Chart, COLORS, formatValue, type ChartSpec } from '../../chart.js';
import { count, ms, pct } from '../../format.js';
import { ErrorBox, Loading, Stat, useAsync } from '../../ui.js';
import { useWindowParam, WindowPicker, type Window } from '../../windows.js';
import type { TabProps } from './tab.js';

export function UsageTab({ name }: TabProps): JSX.Element {
  const [win, setWin] = useWindowParam();
  const usage = useAsync(() => api<Usage>('GET', `/functions/${enc(name)}/usage?window=${win}`), [name, win]);
  const series = useAsync(() => api<Series>('GET', `/functions/${enc(name)}/usage/series?window=${win}`), [name, win]);
  const specs = useMemo(() => (series.data ? usageCharts(series.data) : null), [series.data]);
  const u = usage.data;
  return (
    <div class="usage">
      <div class="toolbar"><WindowPicker value={win} onChange={setWin} /><button type="button" onClick={() => { usage.reload(); series.reload(); }}>Refresh</button></div>
      <ErrorBox error={usage.error ?? series.error} />
      {u ? (
        <div class="stats" data-testid="usage-stats">
          <Stat label="invocations" value={count(u.invocations)} />
          <Stat label="error rate" value={pct(u.errorRate)} hint={`${u.errors} errors`} />
          <Stat label="p50 / p95 / p99" value={`${ms(u.p50Ms)} / ${ms(u.p95Ms)} / ${ms(u.p99Ms)}`} />
          <Stat label="cold starts" value={count(u.coldStarts)} hint={`${pct(u.coldStartRatio)} of calls`} />
          <Stat label="cold vs warm p50" value={`${ms(u.coldP50Ms)} vs ${ms(u.warmP50Ms)}`} />
          <Stat label="warm now" value={String(u.warmInstances)} />
        </div>
      ) : <Loading error={usage.error} />}
      {/* Empty axes alone read as charts that failed to draw (console round 8). */}
      {u !== undefined && u.invocations === 0 ? <p class="muted" data-testid="usage-none">No calls in the last {WINDOW_WORDS[win]}: the charts fill in as the function is called (the Invoke tab, its URL, a trigger){win !== '30d' ? '; a longer window may have some' : ''}.</p> : null}
      {specs ? (
        <div class="charts">
          <Chart title="Invocations and errors" spec={specs.calls} format={formatValue} />
          <Chart title="Latency" spec={specs.latency} format={formatValue} />
          <Chart title="Cold starts" spec={specs.cold} format={formatValue} />
        </div>
      ) : null}
    </div>
  );
}

const WINDOW_WORDS: Record<Window, string> = { '1h': 'hour', '24h': '24 hours', '7d': '7 days', '30d': '30 days' };

function usageCharts(s: Series): { calls: ChartSpec; latency: ChartSpec; cold: ChartSpec } {
  const x = s.points.map((p) => p.at);
  const v = <K extends keyof (typeof s.points)[number]>(k: K) => s.points.map((p) => p[k] as number | null);
  return {
    calls: { x, units: { a: 'calls', b: '%' }, series: [
      { label: 'invocations', values: v('invocations'), color: COLORS.blue, bars: true },
      { label: 'errors', values: v('errors'), color: COLORS.red, bars: true },
      { label: 'error rate', values: s.points.map((p) => (p.invocations > 0 ? p.errors / p.invocations : null)), color: COLORS.amber, axis: 'b' },
    ] },
    latency: { x, units: { a: 'ms' }, series: [
      { label: 'p50', values: v('p50Ms'), color: COLORS.green },
      { label: 'p95', values: v('p95Ms'), color: COLORS.amber },
      { label: 'p99', values: v('p99Ms'), color: COLORS.red },
    ] },
    cold: { x, units: { a: 'calls', b: '%' }, series: [
      { label: 'cold starts', values: v('coldStarts'), color: COLORS.cyan, bars: true },
      { label: 'cold share', values: s.points.map((p) => (p.invocations > 0 ? p.coldStarts / p.invocations : null)), color: COLORS.violet, axis: 'b' },
    ] },
  };
}
