/**
 * Data: the function's Mongo binding and its access context (docs/data-binding.md) — the database
 * it is bound to (its name in the workspace and on the server), the other functions using that
 * database, credential rotation (role deployer) and what recent runs wrote. Credentials are never
 * shown: no API answer carries them. Only existing routes: `GET /functions/:name/data`,
 * `GET /data/databases`, `POST /functions/:name/data/rotate`, `GET /runs?function=`.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, enc, type RunSummary } from '../../api.js';
import { can, currentSession } from '../../auth.js';
import { duration, inlineText, time } from '../../format.js';
import { href } from '../../router.js';
import { Card, ErrorBox, Loading, useAsync } from '../../ui.js';
import type { TabProps } from './tab.js';

interface Binding {
  workspace: string;
  database: string;
  physical: string;
  create: boolean;
}
interface Database {
  workspace: string;
  database: string;
  physical: string;
  functions: string[];
}

/** How many recent runs are read to find the ones that wrote, and how many of those are shown. */
const RUNS_READ = 50;
const WROTE_SHOWN = 5;

/** What a failed read means here, beyond its code and message (ErrorBox shows those). */
function backendHint(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  if (error.code === 'DATA_BACKEND_UNAVAILABLE') return 'The database server behind data bindings cannot be reached right now; the binding itself is unchanged.';
  if (error.code === 'DATA_BACKEND_NOT_CONFIGURED') return 'This platform has no database server for data bindings (FP_DATA_MONGO_URL, or FerretDB for the embedded platform).';
  return null;
}

function Failure({ error }: { error: unknown }): JSX.Element {
  const hint = backendHint(error);
  return (
    <div data-testid="data-error">
      <ErrorBox error={error} />
      {hint !== null ? <p class="muted">{hint}</p> : null}
    </div>
  );
}

export function DataTab({ name, fn }: TabProps): JSX.Element {
  const binding = useAsync(() => api<{ binding: Binding | null }>('GET', `/functions/${enc(name)}/data`), [name, fn.function.activeVersion]);
  const bound = binding.data?.binding ?? null;
  return (
    <div class="data-tab grid2">
      <Card title="Binding">
        {binding.data === undefined ? (binding.error ? <Failure error={binding.error} /> : <Loading what="Loading the binding" />)
          : bound === null ? <HowTo name={name} /> : <BindingView binding={bound} />}
        <p class="hint" data-testid="credentials-note">Credentials are never shown: the function gets them in <code>FP_MONGO_URI</code> and as <code>context.db</code>, and they work only from this function.</p>
      </Card>
      {bound !== null ? <Sharing name={name} binding={bound} /> : null}
      {bound !== null ? <Rotate name={name} /> : null}
      {bound !== null ? <RecentWrites name={name} /> : null}
    </div>
  );
}

function BindingView({ binding }: { binding: Binding }): JSX.Element {
  return (
    <dl class="kv" data-testid="binding">
      <dt>Database</dt><dd data-testid="binding-database"><code>{binding.database}</code> of workspace <code>{binding.workspace}</code></dd>
      <dt>On the server</dt><dd data-testid="binding-physical"><code>{binding.physical}</code> (what <code>context.db.name</code> says)</dd>
      <dt>Create</dt><dd data-testid="binding-create">{binding.create ? 'yes: created on first use if missing' : 'no: the database had to exist at upload'}</dd>
    </dl>
  );
}

function HowTo({ name }: { name: string }): JSX.Element {
  return (
    <div data-testid="data-howto">
      <p>This function has no database binding (its active version declares none).</p>
      <p>To give it one, declare it in its <code>platform.yaml</code> and deploy:</p>
      <pre class="out">{'data:\n  mongo:\n    database: shop   # a database of this workspace\n    create: true     # default; false: it must exist'}</pre>
      <p class="muted">
        The handler then gets the database as <code>context.db</code>. See docs/data-binding.md.{' '}
        <a href={href(['functions', name, 'code'], { file: 'platform.yaml' })}>Open platform.yaml</a>
      </p>
      <p class="muted">A platform without a database server refuses such a version with <code>DATA_BACKEND_NOT_CONFIGURED</code> (503).</p>
    </div>
  );
}

function Sharing({ name, binding }: { name: string; binding: Binding }): JSX.Element {
  const dbs = useAsync(() => api<{ databases: Database[] }>('GET', '/data/databases'), [binding.physical]);
  const entry = dbs.data?.databases.find((d) => d.physical === binding.physical);
  const others = (entry?.functions ?? []).filter((f) => f !== name).sort();
  return (
    <Card title="Functions using this database">
      {dbs.data === undefined ? (dbs.error ? <Failure error={dbs.error} /> : <Loading what="Loading the databases" />) : (
        <div data-testid="sharing">
          {others.length === 0 ? <p class="muted">Only this function uses <code>{binding.database}</code>.</p> : (
            <>
              <p>Also bound to <code>{binding.database}</code> (they read and write the same data):</p>
              <ul data-testid="sharing-functions">{others.map((f) => <li key={f}><a href={href(['functions', f, 'data'])}>{f}</a></li>)}</ul>
            </>
          )}
        </div>
      )}
    </Card>
  );
}

function Rotate({ name }: { name: string }): JSX.Element {
  const [asking, setAsking] = useState(false);
  const [grace, setGrace] = useState('60s');
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ graceMs: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  // What the role allows is offered (the API decides): rotating needs deployer, as an invoke token's.
  if (!can('deployer')) {
    return <Card title="Credentials"><p class="muted" data-testid="rotate-role-note">Rotating the credentials needs the deployer role (your token's: {currentSession()?.role}).</p></Card>;
  }
  const rotate = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    setAnswer(null);
    try {
      const a = await api<{ rotated: boolean; graceMs: number }>('POST', `/functions/${enc(name)}/data/rotate`, grace.trim() === '' ? {} : { grace: grace.trim() });
      setAnswer({ graceMs: a.graceMs });
      setAsking(false);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Credentials">
      <p class="hint">Rotation mints new credentials; instances are replaced as their calls finish. The old credentials keep working for the grace period.</p>
      {!asking ? <button type="button" data-testid="rotate" onClick={() => { setAsking(true); setAnswer(null); setError(null); }}>Rotate credentials…</button> : (
        <form class="form" aria-label="Rotate credentials" data-testid="rotate-confirm" onSubmit={(e) => { e.preventDefault(); void rotate(); }}>
          <div class="field">
            <label for="rotate-grace">Old credentials keep working for</label>
            <input id="rotate-grace" value={grace} onInput={(e) => setGrace((e.target as HTMLInputElement).value)} aria-describedby="rotate-grace-hint" />
            <p id="rotate-grace-hint" class="hint">e.g. 60s (the default), 0s to end them at once, at most 168h</p>
          </div>
          <div class="row">
            <button type="submit" class="danger" disabled={busy}>Rotate now</button>
            <button type="button" onClick={() => setAsking(false)} disabled={busy}>Cancel</button>
          </div>
        </form>
      )}
      <p aria-live="polite" class="ok" data-testid="rotate-outcome">{answer !== null ? `Rotated: new instances get the new credentials; the old ones ${answer.graceMs === 0 ? 'no longer work' : `work for ${duration(answer.graceMs)} more`}.` : ''}</p>
      <ErrorBox error={error} />
    </Card>
  );
}

/** Sum of what a run wrote (all collections). */
function wrote(run: RunSummary): number {
  return (run.writes ?? []).reduce((n, w) => n + w.inserted + w.updated + w.deleted + w.upserted, 0);
}

function RecentWrites({ name }: { name: string }): JSX.Element {
  const runs = useAsync(() => api<{ items: RunSummary[] }>('GET', `/runs?function=${enc(name)}&limit=${RUNS_READ}`), [name]);
  const recent = (runs.data?.items ?? []).filter((r) => wrote(r) > 0).slice(0, WROTE_SHOWN);
  return (
    <Card title="Recent writes" class="span2">
      <div class="row"><span class="muted">The last runs (of the latest {RUNS_READ}) that wrote through the binding, per collection.</span><span class="spacer" /><button type="button" class="small" onClick={runs.reload}>Refresh</button></div>
      {runs.data === undefined ? (runs.error ? <Failure error={runs.error} /> : <Loading what="Loading runs" />)
        : recent.length === 0 ? <p class="muted" data-testid="writes-empty">None of the latest runs wrote anything.</p> : (
          <div class="table-wrap"><table class="list" aria-label="Recent writes" data-testid="recent-writes">
            <thead><tr><th scope="col">Run</th><th scope="col">Database</th><th scope="col">Collection</th><th scope="col">Inserted</th><th scope="col">Updated</th><th scope="col">Deleted</th><th scope="col">Upserted</th></tr></thead>
            <tbody>
              {recent.flatMap((r) => r.writes!.map((w, i) => (
                <tr key={`${r.runId} ${w.database} ${w.collection}`} data-run={r.runId}>
                  {i === 0 ? <th scope="row" rowSpan={r.writes!.length}><a href={href(['functions', name, 'runs'], { run: r.runId })}>{time(r.startedAt)}</a></th> : null}
                  <td>{inlineText(w.database)}</td><td>{inlineText(w.collection)}</td><td>{w.inserted}</td><td>{w.updated}</td><td>{w.deleted}</td><td>{w.upserted}</td>
                </tr>
              )))}
            </tbody>
          </table></div>
        )}
    </Card>
  );
}
