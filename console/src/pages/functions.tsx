/** The functions list: status, invocations, error rate, p95, cold starts, last success and a 24 h sparkline; search and sort. */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { api, enc, type FnListed, type Series, type Usage } from '../api.js';
import { can, currentSession } from '../auth.js';
import { ago, count, ms, pct } from '../format.js';
import { href } from '../router.js';
import { ErrorBox, functionState, Loading, Sparkline, StateBadge, useAsync, useInterval } from '../ui.js';

interface Row {
  fn: FnListed;
  usage: Usage | null;
  spark: number[];
}

type SortKey = 'name' | 'state' | 'invocations' | 'errorRate' | 'p95' | 'coldStarts' | 'lastSuccess';

/** At most `limit` calls at once (a browser opens six connections per host anyway); none started once `stop()` says so. */
async function pooled<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>, stop: () => boolean): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !stop()) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  }));
  return out;
}

async function loadRows(): Promise<Row[]> {
  // Another workspace chosen meanwhile: the page is gone, and the rest of this workspace's usage
  // requests would go out with the other's FP-Workspace (a 404 each, a function of the same name
  // there read for nothing).
  const workspace = currentSession()?.workspace;
  const items: FnListed[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: FnListed[]; nextCursor: string | null } = await api('GET', `/functions?limit=1000${cursor !== null ? `&cursor=${enc(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  const rows = await pooled(items, 6, async (fn) => {
    const [usage, series] = await Promise.all([
      api<Usage>('GET', `/functions/${enc(fn.name)}/usage?window=24h`).catch(() => null),
      api<Series>('GET', `/functions/${enc(fn.name)}/usage/series?window=24h`).catch(() => null),
    ]);
    return { fn, usage, spark: series?.points.map((p) => p.invocations) ?? [] };
  }, () => currentSession()?.workspace !== workspace);
  return rows.filter((r) => r !== undefined);
}

function sortValue(r: Row, key: SortKey): number | string {
  const u = r.usage;
  switch (key) {
    case 'name': return r.fn.name;
    case 'state': return functionState(r.fn, u?.state);
    case 'invocations': return u?.invocations ?? 0;
    case 'errorRate': return u?.errorRate ?? 0;
    case 'p95': return u?.p95Ms ?? -1;
    case 'coldStarts': return u?.coldStarts ?? 0;
    case 'lastSuccess': return u?.lastSuccess?.at ?? 0;
  }
}

const COLUMNS: [SortKey, string][] = [
  ['name', 'Name'], ['state', 'Status'], ['invocations', 'Invocations (24h)'], ['errorRate', 'Error rate'], ['p95', 'p95'], ['coldStarts', 'Cold starts'], ['lastSuccess', 'Last success'],
];

export function FunctionList(): JSX.Element {
  const rows = useAsync(loadRows, []);
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  useInterval(rows.reload, 15_000);
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const list = (rows.data ?? []).filter((r) => q === '' || r.fn.name.includes(q));
    list.sort((a, b) => {
      const [x, y] = [sortValue(a, sort.key), sortValue(b, sort.key)];
      const c = x < y ? -1 : x > y ? 1 : 0;
      return sort.desc ? -c : c;
    });
    return list;
  }, [rows.data, query, sort]);

  return (
    <div class="page">
      <div class="page-head">
        <h1>Functions</h1>
        {can('deployer') ? <a class="button primary" href={href(['new'])}>New function</a> : null}
      </div>
      <div class="toolbar">
        <label for="search" class="visually-hidden">Search functions</label>
        <input id="search" type="search" placeholder="Search by name" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <span class="muted" aria-live="polite">{rows.data ? `${shown.length} of ${rows.data.length}` : ''}</span>
      </div>
      <ErrorBox error={rows.error} />
      {rows.data === undefined ? <Loading what="Loading functions" error={rows.error} /> : rows.data.length === 0 ? (
        <div class="empty card">
          <p>No functions yet.</p>
          {can('deployer') ? <a class="button primary" href={href(['new'])}>Create your first function</a> : null}
        </div>
      ) : shown.length === 0 ? (
        <p class="empty card" data-testid="no-match">
          No function name contains “{query.trim()}”. <button type="button" class="small" onClick={() => { setQuery(''); document.getElementById('search')?.focus(); }}>Clear the search</button>
        </p>
      ) : (
        <div class="table-wrap">
          <table class="list cards" aria-label="Functions">
            <thead>
              <tr>
                {COLUMNS.map(([key, label]) => (
                  <th key={key} scope="col" aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                    <button type="button" class="th-sort" onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : key !== 'name' && key !== 'state' }))}>
                      {label}{sort.key === key ? (sort.desc ? ' ▾' : ' ▴') : ''}
                    </button>
                  </th>
                ))}
                <th scope="col">Activity (24h)</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => {
                const u = r.usage;
                const state = functionState(r.fn, u?.state);
                return (
                  <tr key={r.fn.name} data-function={r.fn.name}>
                    <th scope="row"><a href={href(['functions', r.fn.name])}>{r.fn.name}</a></th>
                    <td data-label="Status"><StateBadge state={state} /></td>
                    <td data-label="Invocations">{count(u?.invocations)}</td>
                    <td data-label="Error rate" class={u !== null && u !== undefined && u.errorRate > 0.05 ? 'bad' : ''}>{pct(u?.errorRate)}</td>
                    <td data-label="p95">{ms(u?.p95Ms)}</td>
                    <td data-label="Cold starts">{count(u?.coldStarts)}</td>
                    <td data-label="Last success">{ago(u?.lastSuccess?.at)}</td>
                    <td data-label="Activity"><Sparkline values={r.spark} label={`invocations per hour over 24 hours, ${r.spark.reduce((a, b) => a + b, 0)} in all`} /></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
