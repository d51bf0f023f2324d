/**
 * The cold-start dashboard across functions: how often calls start cold, what a cold start costs
 * (cold vs warm p50/p95, and the init time inside it), which functions pay it, instances warm now,
 * scale-to-zero events, over time — and the one-click fix (keep an instance warm: `minWarm`).
 * One call: `GET /api/v1/coldstarts?window=` (docs/api.md).
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { api, enc, type ColdRow, type ColdStarts } from '../api.js';
import { can } from '../auth.js';
import { Chart, COLORS, formatValue, type ChartSpec } from '../chart.js';
import { Ago } from '../ago.js';
import { count, ms, pct } from '../format.js';
import { href } from '../router.js';
import { ErrorBox, Loading, Stat, StateBadge, useAsync, usePoll } from '../ui.js';
import { useWindowParam, WindowPicker } from '../windows.js';

export function ColdStartsPage(): JSX.Element {
  const [win, setWin] = useWindowParam();
  const data = useAsync(() => api<ColdStarts>('GET', `/coldstarts?window=${win}`), [win]);
  const [error, setError] = useState<unknown>(null);
  usePoll(data, 15_000);
  const specs = useMemo(() => (data.data ? charts(data.data) : null), [data.data]);
  const keepWarm = async (row: ColdRow): Promise<void> => {
    setError(null);
    try {
      await api('PATCH', `/functions/${enc(row.function)}`, { limits: { minWarm: 1 } });
      data.reload();
    } catch (err) {
      setError(err);
    }
  };
  const d = data.data;
  return (
    <div class="page">
      <div class="page-head">
        <h1>Cold starts</h1>
        <WindowPicker value={win} onChange={setWin} />
      </div>
      <ErrorBox error={data.error ?? error} />
      {d === undefined ? <Loading what="Loading cold starts" error={data.error} /> : (
        <>
          <div class="stats" data-testid="cold-summary">
            <Stat label="calls that started cold" value={pct(d.summary.coldStartRatio)} hint={`${count(d.summary.coldStarts)} of ${count(d.summary.invocations)} calls`} />
            <Stat label="cold p50 / p95" value={`${ms(d.summary.coldP50Ms)} / ${ms(d.summary.coldP95Ms)}`} />
            <Stat label="warm p50 / p95" value={`${ms(d.summary.warmP50Ms)} / ${ms(d.summary.warmP95Ms)}`} />
            <Stat label="a cold start costs (p50)" value={d.summary.coldPenaltyMs === null ? '—' : `+${ms(d.summary.coldPenaltyMs)}`} />
            <Stat label="init p50 / p95" value={`${ms(d.summary.initP50Ms)} / ${ms(d.summary.initP95Ms)}`} hint="specializing a warm-pool runtime with the code" />
            <Stat label="instances warm now" value={String(d.summary.warmInstances)} />
            <Stat label="scale-to-zero events" value={count(d.summary.scaleToZero)} hint="idle instances stopped" />
          </div>
          {specs ? (
            <div class="charts">
              <Chart title="Calls and cold starts" spec={specs.calls} format={formatValue} />
              <Chart title="Cold vs warm latency" spec={specs.latency} format={formatValue} />
              <Chart title="Init time of cold starts" spec={specs.init} format={formatValue} />
              <Chart title="Scale-to-zero events" spec={specs.zero} format={formatValue} />
            </div>
          ) : null}
          <h2>By function</h2>
          {d.functions.length === 0 ? <p class="muted">No functions yet.</p> : (
            <div class="table-wrap">
              <table class="list" aria-label="Cold starts by function" data-testid="cold-table">
                <thead>
                  <tr>
                    <th scope="col">Function</th><th scope="col">State</th><th scope="col">Warm / min</th><th scope="col">Calls</th><th scope="col">Cold</th><th scope="col">Cold rate</th>
                    <th scope="col">Cold p50 / p95</th><th scope="col">Warm p50 / p95</th><th scope="col">Cost</th><th scope="col">Init p50 / p95</th><th scope="col">To zero</th><th scope="col">Last cold</th><th scope="col">Advice</th>
                  </tr>
                </thead>
                <tbody>
                  {d.functions.map((r) => (
                    <tr key={r.function} data-function={r.function}>
                      <th scope="row"><a href={href(['functions', r.function, 'usage'])}>{r.function}</a></th>
                      <td><StateBadge state={r.state} /></td>
                      <td>{r.warmInstances} / {r.minWarm}</td>
                      <td>{count(r.invocations)}</td>
                      <td>{count(r.coldStarts)}</td>
                      <td class={r.coldStartRatio > 0.2 ? 'bad' : ''}>{pct(r.coldStartRatio)}</td>
                      <td>{ms(r.coldP50Ms)} / {ms(r.coldP95Ms)}</td>
                      <td>{ms(r.warmP50Ms)} / {ms(r.warmP95Ms)}</td>
                      <td>{r.coldPenaltyMs === null ? '—' : `+${ms(r.coldPenaltyMs)}`}</td>
                      <td>{ms(r.initP50Ms)} / {ms(r.initP95Ms)}</td>
                      <td>{count(r.scaleToZero)}</td>
                      <td><Ago at={r.lastColdAt} none="—" /></td>
                      <td><Advice row={r} onKeepWarm={() => void keepWarm(r)} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <details class="card explain">
            <summary>How to read this</summary>
            <p>A call starts <strong>cold</strong> when no instance of the function's version is warm: the platform takes a pre-started Python runtime from its warm pool and specializes it with the code (the <em>init</em> time, mostly your module's imports), then runs the call. Warm calls skip that. Idle instances are stopped after the idle timeout (<em>scale to zero</em>), so the next call is cold again.</p>
            <p>To avoid cold starts for a function, keep instances warm (<code>limits.minWarm</code>); to make them cheaper, import less at module level.</p>
          </details>
        </>
      )}
    </div>
  );
}

function Advice({ row, onKeepWarm }: { row: ColdRow; onKeepWarm: () => void }): JSX.Element {
  if (row.state === 'paused') return <span class="muted">paused</span>;
  if (row.invocations === 0) return <span class="muted">no calls</span>;
  if (row.minWarm === 0 && row.coldStartRatio >= 0.05) return !can('deployer') ? <span>keep 1 warm (minWarm: 1) — a deployer can set it</span> : <button type="button" class="small" onClick={onKeepWarm} title="Set limits.minWarm to 1">Keep 1 warm</button>;
  if (row.initP95Ms !== null && row.initP95Ms > 500) return <span>slow init: import less at module level</span>;
  return <span class="ok">fine</span>;
}

function charts(d: ColdStarts): { calls: ChartSpec; latency: ChartSpec; init: ChartSpec; zero: ChartSpec } {
  const x = d.points.map((p) => p.at);
  const col = (k: keyof (typeof d.points)[number]) => d.points.map((p) => p[k] as number | null);
  return {
    calls: { x, units: { a: 'calls', b: '%' }, series: [
      { label: 'calls', values: col('invocations'), color: COLORS.slate, bars: true },
      { label: 'cold starts', values: col('coldStarts'), color: COLORS.cyan, bars: true },
      { label: 'cold rate', values: d.points.map((p) => (p.invocations > 0 ? p.coldStarts / p.invocations : null)), color: COLORS.violet, axis: 'b' },
    ] },
    latency: { x, units: { a: 'ms' }, series: [
      { label: 'cold p50', values: col('coldP50Ms'), color: COLORS.cyan },
      { label: 'cold p95', values: col('coldP95Ms'), color: COLORS.blue, dash: true },
      { label: 'warm p50', values: col('warmP50Ms'), color: COLORS.green },
      { label: 'warm p95', values: col('warmP95Ms'), color: COLORS.amber, dash: true },
    ] },
    init: { x, units: { a: 'ms' }, series: [
      { label: 'init p50', values: col('initP50Ms'), color: COLORS.violet },
      { label: 'init p95', values: col('initP95Ms'), color: COLORS.red, dash: true },
    ] },
    zero: { x, units: { a: 'events' }, series: [{ label: 'scale to zero', values: col('scaleToZero'), color: COLORS.slate, bars: true }] },
  };
}
