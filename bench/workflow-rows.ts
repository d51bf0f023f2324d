/** The table's rows for the developer-workflow sections: 6 (dev), 7 (deploy), 8 (fresh clone). */
import type { DeployLoopResult } from './deploy-loop.js';
import type { DevLoopResult } from './dev-loop.js';
import type { FreshCloneResult } from './fresh-clone.js';
import { row, type ResultRow } from './row.js';

export function workflowRows(dev: DevLoopResult | null, deploy: DeployLoopResult | null, fresh: FreshCloneResult | null): ResultRow[] {
  const rows: ResultRow[] = [];
  if (dev) {
    const d = dev;
    for (const p of ['p50', 'p95'] as const) {
      rows.push(row({
        figure: `8. dev: save → new code answers, ${p}`,
        unit: 'ms',
        platform: d.saveToAnswer.summary[p],
        platformWhat: `${d.saves} saves`,
        baseline: null,
        baselineWhat: '',
        extra: `reload ${d.reload.summary[p].toFixed(0)} ms + call ${d.call.summary[p].toFixed(0)} ms`,
        ...(p === 'p50' ? { target: '≤ 200 ms', check: (v: number) => v <= 200 } : {}),
      }));
    }
  }
  if (deploy) {
    const [now, before] = deploy.checkouts;
    if (now) {
      const figures = [
        ['9. deploy → first call with it, p50', 'total', 'p50', '≤ 300 ms'],
        ['9. deploy → first call with it, p95', 'total', 'p95', ''],
        ['9. … the deploy command alone, p50', 'deploy', 'p50', ''],
        ['9. … CLI start (--version), p50', 'cliStart', 'p50', ''],
        ['9. … validate, p50', 'validate', 'p50', ''],
      ] as const;
      for (const [figure, key, p, target] of figures) {
        rows.push(row({
          figure,
          unit: 'ms',
          platform: now[key].summary[p],
          platformWhat: 'this tree',
          baseline: before?.[key].summary[p] ?? null,
          baselineWhat: before ? 'compare' : '',
          ...(target !== '' ? { target, check: (v: number) => v <= 300 } : {}),
        }));
      }
    }
  }
  if (fresh) {
    const [now, before] = fresh.checkouts;
    if (now) {
      rows.push(row({
        figure: '10. fresh clone → first invoke (npm start)',
        unit: 's',
        platform: now.summary.p50,
        platformWhat: `${now.commit}, ${now.summary.n} run${now.summary.n === 1 ? '' : 's'}`,
        baseline: before?.summary.p50 ?? null,
        baselineWhat: before ? before.commit : '',
        target: '≤ 60 s',
        check: (v) => v <= 60,
      }));
    }
  }
  return rows;
}
