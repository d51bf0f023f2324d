/**
 * Audit: every change made in the workspace, who made it (token label, id and role), from where,
 * newest first — `GET /audit`, as `fastapi-platform audit` shows it (owner and above; the admin
 * token may read every workspace's, `scope=all`, as `audit --all`). The action and the time window
 * are filters in the URL (`#/audit?action=deploy&since=24h&all=1`); older entries page with the
 * API's cursor. Labels, targets and details are what others typed: shown as text, escaped (format.ts).
 */
import type { JSX } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { can, currentSession } from '../auth.js';
import { inlineText } from '../format.js';
import { navigate, type Route } from '../router.js';
import { ErrorBox, Loading, useAsync, useLoadMoreFocus, When } from '../ui.js';
import { AUDIT_ACTIONS, auditDetailText, auditWhenText, type AuditEntry } from '../../../protocol/audit-actions.js';

type Entry = AuditEntry;

interface Page {
  items: Entry[];
  nextCursor: string | null;
}

/** The time windows offered, as the CLI's `--since` takes them. */
const WINDOWS: [string, number][] = [['1h', 3_600_000], ['24h', 86_400_000], ['7d', 7 * 86_400_000], ['30d', 30 * 86_400_000]];

export function AuditPage({ query }: { query: Route['query'] }): JSX.Element {
  const session = currentSession();
  const owner = can('owner');
  const action = (AUDIT_ACTIONS as readonly string[]).includes(query.get('action') ?? '') ? query.get('action')! : '';
  const since = WINDOWS.find(([w]) => w === query.get('since'))?.[0] ?? '';
  const all = session?.root === true && query.get('all') === '1';
  const filtered = (next: { action?: string; since?: string; all?: string }): void => navigate(['audit'], { action, since, all: all ? '1' : '', ...next });
  // The window's start is taken when the filter is chosen or Refresh is pressed, not at each Load more.
  const [tick, setTick] = useState(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- tick: Refresh moves the window to now
  const sinceMs = useMemo(() => (since === '' ? undefined : Date.now() - WINDOWS.find(([w]) => w === since)![1]), [since, tick]);
  const q = `/audit?limit=50${action ? `&action=${enc(action)}` : ''}${sinceMs !== undefined ? `&since=${sinceMs}` : ''}${all ? '&scope=all' : ''}`;
  const [extra, setExtra] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  // Below owner nothing is asked: the API would refuse it (ROLE_FORBIDDEN), and the page says why.
  const page = useAsync(async () => {
    if (!owner) return { items: [], nextCursor: null };
    const p = await api<Page>('GET', q);
    setExtra([]);
    setCursor(p.nextCursor);
    return p;
  }, [q, owner]);
  const shown = useRef(q);
  shown.current = q;
  const moreFocus = useLoadMoreFocus();
  if (!owner) {
    return <div class="page narrow"><h1>Audit log</h1><p class="notice" data-testid="role-note">Your token's role ({session?.role}) cannot read this workspace's audit log: that needs the owner role (or the admin token).</p></div>;
  }
  const more = async (): Promise<void> => {
    if (cursor === null) return;
    const asked = q;
    moreFocus.pressed();
    setMoreError(null);
    try {
      const p = await api<Page>('GET', `${q}&cursor=${enc(cursor)}`);
      if (shown.current !== asked) return; // the filter changed meanwhile
      moreFocus.added((page.data?.items.length ?? 0) + extra.length, p.nextCursor === null);
      setExtra((e) => [...e, ...p.items]);
      setCursor(p.nextCursor);
    } catch (err) {
      if (shown.current === asked) setMoreError(err);
    }
  };
  const entries = [...(page.data?.items ?? []), ...extra];
  const workspace = session?.workspace ?? 'default';
  return (
    <div class="page">
      <h1>Audit log{all ? ' of every workspace' : ` of ${workspace}`}</h1>
      <p class="muted">Every change, newest first: who made it (the token's label, id and role), from which address, and what. Calls and reads are not in it; runs are (Runs tab). The CLI shows the same with <code>fastapi-platform audit{all ? ' --all' : ''}</code>.</p>
      <div class="toolbar">
        <label for="audit-action">Action</label>
        <select id="audit-action" value={action} onChange={(e) => filtered({ action: (e.target as HTMLSelectElement).value })}>
          <option value="">any</option>{AUDIT_ACTIONS.map((a) => <option key={a}>{a}</option>)}
        </select>
        <label for="audit-since">Since</label>
        <select id="audit-since" value={since} onChange={(e) => filtered({ since: (e.target as HTMLSelectElement).value })}>
          <option value="">the start</option>{WINDOWS.map(([w]) => <option key={w} value={w}>{w} ago</option>)}
        </select>
        {session?.root === true ? <label class="row"><input type="checkbox" checked={all} onChange={(e) => filtered({ all: (e.target as HTMLInputElement).checked ? '1' : '' })} /> Every workspace</label> : null}
        <button type="button" onClick={() => (since === '' ? page.reload() : setTick((t) => t + 1))}>Refresh</button>
      </div>
      <ErrorBox error={page.error} />
      {page.data === undefined ? <Loading what="Loading the audit log" error={page.error} /> : entries.length === 0 ? (
        <p class="muted" data-testid="audit-empty">No audit entries{action ? ` for ${action}` : ''}{since ? ` in the last ${since}` : ''}.</p>
      ) : (
        <div class="table-wrap">
          <table class="list cards flow" aria-label="Audit log" ref={moreFocus.table}>
            <thead><tr><th scope="col">Seq</th><th scope="col">When (UTC)</th>{all ? <th scope="col">Workspace</th> : null}<th scope="col">Who</th><th scope="col">From</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Detail</th></tr></thead>
            <tbody>
              {entries.map((e) => (
                <tr key={`${e.workspace ?? ''}.${e.seq}`} data-seq={e.seq}>
                  <th scope="row" class="seq">{e.seq}</th>
                  <td data-label="When (UTC)"><When at={e.at} text={auditWhenText(e.at)} /></td>
                  {all ? <td data-label="Workspace">{e.workspace ?? '(install)'}</td> : null}
                  <td data-label="Who">{inlineText(e.actor.label)} <span class="muted">({e.actor.role}, {e.actor.tokenId})</span></td>
                  <td data-label="From">{inlineText(e.address)}</td>
                  <td data-label="Action"><code class="word">{e.action}</code></td>
                  <td data-label="Target">{inlineText(e.target)}</td>
                  <td data-label="Detail"><code>{inlineText(auditDetailText(e.detail))}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={moreError} />
      {cursor !== null ? <button type="button" onClick={() => void more()}>Load more</button> : null}
    </div>
  );
}
