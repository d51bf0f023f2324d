/** The functions list: status, invocations, error rate, p95, cold starts, last success and a 24 h sparkline; search and sort. */
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, enc, type FnListed, type Series, type Usage } from '../api.js';
import { can, currentSession } from '../auth.js';
import { Ago } from '../ago.js';
import { count, ms, pct } from '../format.js';
import { href } from '../router.js';
import { ErrorBox, functionState, Loading, Sparkline, StateBadge, useAsync, usePoll } from '../ui.js';

interface Row {
  fn: FnListed;
  usage: Usage | null;
  spark: number[];
  /** Its numbers read (or their read failed): before, its state is not said (it said "cold" of a warm function). */
  read: boolean;
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

/** Every function of the workspace (the list pages past 1,000). */
async function listFunctions(): Promise<FnListed[]> {
  const items: FnListed[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: FnListed[]; nextCursor: string | null } = await api('GET', `/functions?limit=1000${cursor !== null ? `&cursor=${enc(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

type Numbers = Pick<Row, 'usage' | 'spark'>;

/** A deployed function's state while its numbers are on their way. */
const NOT_YET_READ = '…';

async function numbersOf(name: string): Promise<Numbers> {
  const [usage, series] = await Promise.all([
    api<Usage>('GET', `/functions/${enc(name)}/usage?window=24h`).catch(() => null),
    api<Series>('GET', `/functions/${enc(name)}/usage/series?window=24h`).catch(() => null),
  ]);
  return { usage, spark: series?.points.map((p) => p.invocations) ?? [] };
}

/**
 * Each function's 24 h numbers, read six at a time and shown as each arrives, after the list itself
 * (console round 6): the list waited for every function's two usage reads — with 200 functions
 * 8.7 s of "Loading functions…" on this host, and over a slow link never, as the 15 s poll started
 * the whole pass again before it ended. A pass still going is not started again; another workspace
 * chosen meanwhile, or the page left, stops it (its requests would go out with the other's
 * FP-Workspace, a 404 each).
 */
function useNumbers(fns: FnListed[] | undefined): Record<string, Numbers> {
  const [numbers, setNumbers] = useState<Record<string, Numbers>>({});
  const running = useRef(false);
  const alive = useRef(true);
  useEffect(() => () => { alive.current = false; }, []);
  useEffect(() => {
    if (fns === undefined || running.current) return;
    running.current = true;
    const workspace = currentSession()?.workspace;
    const stop = (): boolean => !alive.current || currentSession()?.workspace !== workspace;
    void pooled(fns, 6, async (fn) => {
      const got = await numbersOf(fn.name);
      if (!stop()) setNumbers((m) => ({ ...m, [fn.name]: got }));
    }, stop).finally(() => { running.current = false; });
  }, [fns]);
  return numbers;
}

function sortValue(r: Row, key: SortKey): number | string {
  const u = r.usage;
  switch (key) {
    case 'name': return r.fn.name;
    case 'state': return functionState(r.fn, r.read ? u?.state : NOT_YET_READ);
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
  const fns = useAsync(listFunctions, []);
  const numbers = useNumbers(fns.data);
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  // Not while a read is on its way: a slow one was dropped for the next, and the list never came.
  usePoll(fns, 15_000);
  const rows = { ...fns, data: useMemo(() => fns.data?.map((fn): Row => ({ fn, usage: numbers[fn.name]?.usage ?? null, spark: numbers[fn.name]?.spark ?? [], read: numbers[fn.name] !== undefined })), [fns.data, numbers]) };
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
                const state = functionState(r.fn, r.read ? u?.state : NOT_YET_READ);
                return (
                  <tr key={r.fn.name} data-function={r.fn.name}>
                    <th scope="row"><a href={href(['functions', r.fn.name])}>{r.fn.name}</a></th>
                    <td data-label="Status"><StateBadge state={state} /></td>
                    <td data-label="Invocations">{count(u?.invocations)}</td>
                    <td data-label="Error rate" class={u !== null && u !== undefined && u.errorRate > 0.05 ? 'bad' : ''}>{pct(u?.errorRate)}</td>
                    <td data-label="p95">{ms(u?.p95Ms)}</td>
                    <td data-label="Cold starts">{count(u?.coldStarts)}</td>
                    <td data-label="Last success"><Ago at={u?.lastSuccess?.at} /></td>
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
