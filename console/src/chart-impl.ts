/** uPlot, loaded with the first chart (its own chunk). */
import uPlot from 'uplot';

export interface SeriesDef {
  label: string;
  values: (number | null)[];
  color: string;
  /** Which y axis: left (`a`) or right (`b`). */
  axis?: 'a' | 'b';
  bars?: boolean;
  dash?: boolean;
}

export interface ChartSpec {
  /** Bucket starts, Unix ms. */
  x: number[];
  series: SeriesDef[];
  units: { a: string; b?: string };
  height?: number;
}

export function drawChart(el: HTMLElement, spec: ChartSpec): { resize: (width: number) => void; destroy: () => void } {
  const bars = uPlot.paths.bars?.({ size: [0.7, 40] });
  // A tick is written with the decimals its axis' step needs: a sub-millisecond latency axis (steps of
  // 0.05 or 0.25 ms) read "0.1 ms, 0.1 ms, 0.2 ms" and "0.3 ms" for 0.25 with one decimal for all (console round 8).
  const fmt = (unit: string) => (_u: uPlot, ticks: number[], _axis: number, _space: number, step: number) => {
    if (unit === '%') return ticks.map((t) => `${(t * 100).toFixed(stepDecimals(step * 100))}%`);
    if (unit === 'ms') return ticks.map((t) => `${t.toFixed(stepDecimals(step))} ms`);
    return ticks.map((t) => String(Math.round(t * 100) / 100));
  };
  const opts: uPlot.Options = {
    width: Math.max(200, el.clientWidth),
    height: spec.height ?? 200,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, a: { auto: true, range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] }, ...(spec.units.b !== undefined ? { b: { auto: true, range: (_u: uPlot, min: number, max: number) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } } : {}) },
    axes: [
      { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' } },
      { scale: 'a', stroke: 'currentColor', values: fmt(spec.units.a), size: 60, grid: { stroke: 'rgba(128,128,128,0.15)' } },
      ...(spec.units.b !== undefined ? [{ scale: 'b', side: 1 as const, stroke: 'currentColor', values: fmt(spec.units.b), size: 60, grid: { show: false } }] : []),
    ],
    series: [
      {},
      ...spec.series.map((s): uPlot.Series => ({
        label: s.label,
        scale: s.axis ?? 'a',
        stroke: s.color,
        width: 1.5,
        spanGaps: !s.bars,
        ...(s.bars ? { fill: `${s.color}66`, paths: bars } : {}),
        ...(s.dash ? { dash: [4, 4] } : {}),
        // A line needs two points: the one value of a window with a single call drew nothing (the
        // latency chart looked empty beside "p50 8.7 ms"). Drawn as a point when uPlot hides points.
        ...(s.bars ? { points: { show: false } } : { points: { size: 5, filter: (u: uPlot, si: number, show: boolean) => (show ? null : lonePoint(u.data[si] ?? [])) } }),
      })),
    ],
  };
  const data: uPlot.AlignedData = [spec.x.map((t) => t / 1000), ...spec.series.map((s) => s.values)];
  const plot = new uPlot(opts, data, el);
  return { resize: (width) => plot.setSize({ width: Math.max(200, width), height: opts.height }), destroy: () => plot.destroy() };
}

/** The decimals that write an axis step whole (5 → 0, 0.2 → 1, 0.25 and 0.05 → 2), at most 3. */
function stepDecimals(step: number): number {
  if (!Number.isFinite(step) || step <= 0) return 0;
  const text = String(Number(step.toPrecision(6)));
  return Math.min(3, text.includes('e-') ? 3 : (text.split('.')[1]?.length ?? 0));
}

/** The index of a series' only value, when it has exactly one; else null (a line shows the rest). */
function lonePoint(values: ArrayLike<number | null | undefined>): number[] | null {
  let at: number | null = null;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) continue;
    if (at !== null) return null;
    at = i;
  }
  return at === null ? null : [at];
}
