/**
 * Workspaces (the admin token only; docs/adr/0011-tenants.md): the list with each one's function
 * count, create one, switch to one, delete an empty one — `GET/POST /workspaces`,
 * `GET/DELETE /workspaces/{name}`, as `fastapi-platform workspaces …` does.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { currentSession, isWorkspaceName, switchWorkspace } from '../auth.js';
import { time } from '../format.js';
import { navigate } from '../router.js';
import { ErrorBox, Loading, useAsync } from '../ui.js';
import { workspacesChanged } from '../workspace-gone.js';
import { keepFocusInPlace } from '../focus-place.js';

interface Row {
  name: string;
  createdAt: number;
  functions: number | null;
}

/** Why `name` cannot name a workspace, or null. */
export function workspaceNameProblem(name: string): string | null {
  if (name === '' || isWorkspaceName(name)) return null;
  if (name.length > 30) return `At most 30 characters (this one has ${name.length}).`;
  if (/[^a-z0-9-]/.test(name)) return 'Lower-case letters, digits and hyphens only.';
  return 'A name starts and ends with a letter or a digit.';
}

async function loadRows(): Promise<Row[]> {
  const { items } = await api<{ items: { name: string; createdAt: number }[] }>('GET', '/workspaces');
  return Promise.all(items.map(async (w) => {
    const one = await api<{ usage: { functions: { used: number } } }>('GET', `/workspaces/${enc(w.name)}`).catch(() => null);
    return { name: w.name, createdAt: w.createdAt, functions: one?.usage.functions.used ?? null };
  }));
}

export function WorkspacesPage(): JSX.Element {
  const root = currentSession()?.root === true;
  // A workspace token asks nothing (it was asked, and refused with a 403 behind the note; console round 6).
  const rows = useAsync(async () => (root ? loadRows() : []), [root]);
  const [name, setName] = useState('');
  const [outcome, setOutcome] = useState<{ saved?: string; error?: unknown } | null>(null);
  const [rowError, setRowError] = useState<{ name: string; error: unknown } | null>(null);
  const [busy, setBusy] = useState(false);
  const session = currentSession();
  const problem = workspaceNameProblem(name);
  if (session === null || !session.root) {
    return <div class="page"><h1>Workspaces</h1><p>Only the admin token manages workspaces; this token acts in <strong>{session?.workspace}</strong>.</p></div>;
  }

  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (name === '' || problem !== null) return void document.getElementById('ws-name')?.focus();
    setBusy(true);
    setOutcome(null);
    try {
      await api('POST', '/workspaces', { name });
      setOutcome({ saved: name });
      setName('');
      rows.reload();
      workspacesChanged();
    } catch (err) {
      setOutcome({ error: err });
    } finally {
      setBusy(false);
    }
  };
  const remove = async (ws: string): Promise<void> => {
    setRowError(null);
    if (!confirm(`Delete the workspace ${ws} and its tokens?`)) return;
    keepFocusInPlace();
    try {
      await api('DELETE', `/workspaces/${enc(ws)}`);
      // The console acted in it: move now rather than on the next refused call.
      if (currentSession()?.workspace === ws) switchWorkspace('default');
      rows.reload();
      workspacesChanged();
    } catch (err) {
      setRowError({ name: ws, error: err });
    }
  };
  const open = (ws: string): void => {
    switchWorkspace(ws);
    navigate(['functions']);
  };

  return (
    <div class="page narrow">
      <h1>Workspaces</h1>
      <form class="card form" aria-label="New workspace" onSubmit={create}>
        <h2>New workspace</h2>
        <label for="ws-name">Name</label>
        <div class="row">
          <input id="ws-name" class="grow" value={name} autoComplete="off" spellcheck={false} aria-invalid={problem !== null ? true : undefined}
            aria-describedby={problem !== null ? 'ws-name-problem ws-name-hint' : 'ws-name-hint'} onInput={(e) => setName((e.target as HTMLInputElement).value.toLowerCase())} />
          <button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : 'Create workspace'}</button>
        </div>
        {problem !== null ? <p id="ws-name-problem" class="field-problem">{problem}</p> : null}
        <p id="ws-name-hint" class="hint">Lower-case letters, digits and hyphens, 1–30 characters. Its functions are reached at <code>/fn/&lt;name&gt;.&lt;workspace&gt;/</code>.</p>
        {outcome?.saved !== undefined ? (
          <p class="ok" role="status">Workspace {outcome.saved} created. <button type="button" class="small" onClick={() => open(outcome.saved!)}>Switch to {outcome.saved}</button></p>
        ) : null}
        <ErrorBox error={outcome?.error ?? null} />
      </form>
      <ErrorBox error={rows.error} />
      {rows.data === undefined ? <Loading what="Loading workspaces" error={rows.error} /> : (
        <div class="table-wrap">
          <table class="list" aria-label="Workspaces">
            <thead><tr><th scope="col">Name</th><th scope="col">Functions</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {rows.data.map((w) => (
                <tr key={w.name} data-workspace={w.name}>
                  <th scope="row">{w.name}{w.name === session.workspace ? <span class="muted"> (current)</span> : null}</th>
                  <td>{w.functions ?? '—'}</td>
                  <td>{time(w.createdAt)}</td>
                  <td>
                    {w.name !== session.workspace ? <button type="button" class="small" onClick={() => open(w.name)} aria-label={`Switch to ${w.name}`}>Switch</button> : null}
                    {w.name !== 'default' ? <button type="button" class="small danger" onClick={() => void remove(w.name)} aria-label={`Delete ${w.name}`}>Delete</button> : null}
                    {rowError?.name === w.name ? <ErrorBox error={rowError.error} /> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
