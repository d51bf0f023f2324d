/**
 * A time chart (uPlot, loaded on first use) with its numbers also as a table (for screen readers
 * and anyone who wants the values), inside a labelled figure.
 */
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ChartSpec } from './chart-impl.js';

export type { ChartSpec, SeriesDef } from './chart-impl.js';

export function Chart({ title, spec, format }: { title: string; spec: ChartSpec; format: (v: number | null, unit: string) => string }): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    let chart: { resize: (w: number) => void; destroy: () => void } | null = null;
    let gone = false;
    const observer = new ResizeObserver(() => chart?.resize(el.clientWidth));
    void import('./chart-impl.js').then(({ drawChart }) => {
      if (gone) return;
      el.textContent = '';
      chart = drawChart(el, spec);
      // uPlot's legend is a table of its own, with no name, whose values follow the pointer: the
      // Data table below says the same to a screen reader (console round 4).
      el.querySelector('.u-legend')?.setAttribute('aria-hidden', 'true');
      el.dataset['rendered'] = 'true';
      observer.observe(el);
    });
    return () => {
      gone = true;
      observer.disconnect();
      chart?.destroy();
    };
  }, [spec]);
  const rows = spec.x.map((t, i) => ({ t, values: spec.series.map((s) => s.values[i] ?? null) })).filter((r) => r.values.some((v) => v !== null && v !== 0));
  return (
    <figure class="chart card">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={`${title} chart`} data-chart={title} />
      <details>
        <summary>Data ({rows.length} non-empty points)</summary>
        <div class="table-wrap">
          <table class="list small" aria-label={`${title}: data`}>
            <thead><tr><th scope="col">Time</th>{spec.series.map((s) => <th scope="col" key={s.label}>{s.label}</th>)}</tr></thead>
            <tbody>{rows.slice(-200).map((r) => <tr key={r.t}><th scope="row">{new Date(r.t).toLocaleString()}</th>{r.values.map((v, k) => <td key={k}>{format(v, spec.series[k]!.axis === 'b' ? spec.units.b ?? '' : spec.units.a)}</td>)}</tr>)}</tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

/** Formats a chart value by its axis unit. */
export function formatValue(v: number | null, unit: string): string {
  if (v === null) return '—';
  if (unit === 'ms') return v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`;
  if (unit === '%') return `${(v * 100).toFixed(1)}%`;
  return String(v);
}

export const COLORS = { blue: '#3b82f6', red: '#ef4444', amber: '#f59e0b', green: '#10b981', violet: '#8b5cf6', slate: '#64748b', cyan: '#06b6d4' };
