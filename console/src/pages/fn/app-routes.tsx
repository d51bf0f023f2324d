/**
 * The Invoke tab's Routes card: reads the app's OpenAPI document (`GET /openapi.json`, a test call,
 * on request only: each read is a run) and lists its routes; choosing one fills the request's
 * method and path. A FastAPI app's routes were nowhere in the console: its Invoke tab starts at
 * POST /, which such an app answers 404 or 405 (console round 4). The document is the function's
 * text: shown escaped on one line (`inlineText`), bounded (openapi.ts). ADR 0205.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, type InvokeAnswer } from '../../api.js';
import { can } from '../../auth.js';
import { inlineText } from '../../format.js';
import { routesOf, type AppRoute } from '../../openapi.js';
import { ErrorBox } from '../../ui.js';

const DOC_PATH = '/openapi.json';

/** What a read found, and the version that served it (`activeVersion` then). */
type Read = ({ routes: AppRoute[]; more: number } | { none: string }) & { version: number | null };

export function AppRoutes({ name, version, methods, onUse }: { name: string; version: number | null; methods: readonly string[]; onUse: (route: AppRoute) => void }): JSX.Element | null {
  const [read, setRead] = useState<Read | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!can('invoker')) return null;
  const load = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    const from = version;
    try {
      const answer = await api<InvokeAnswer>('POST', `/functions/${enc(name)}/invoke`, { method: 'GET', path: DOC_PATH });
      const found = answer.status === 200 ? routesOf(answer.body, methods) : null;
      setRead({ ...(found ?? { none: answer.status === 200 ? `${DOC_PATH} is not an OpenAPI document.` : `${DOC_PATH} answered HTTP ${answer.status}: the app serves no OpenAPI document there (FastAPI serves one unless openapi_url is changed).` }), version: from });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-label="App routes" data-testid="app-routes">
      <h2>Routes</h2>
      <p class="hint">A FastAPI app lists its routes at <code>{DOC_PATH}</code>. Reading it is a GET test call (a run of its own); choosing a route fills the request's method and path.</p>
      <button type="button" onClick={() => void load()} disabled={busy}>{busy ? 'Reading…' : `Read ${DOC_PATH}`}</button>
      <ErrorBox error={error} />
      {/* A deploy or rollback since (here or elsewhere): the routes listed are another version's (console round 10: they stayed with nothing said). */}
      {read !== null && read.version !== version
        ? <p class="notice" data-testid="routes-stale">Read from version {read.version ?? '—'}; version {version ?? '—'} serves now, and its routes may differ: read {DOC_PATH} again.</p> : null}
      {read !== null && 'none' in read ? <p class="muted" data-testid="routes-none">{read.none}</p> : null}
      {read !== null && 'routes' in read ? (
        <>
          {read.routes.length === 0 ? <p class="muted">The document lists no route this form can send ({methods.join(', ')}).</p> : null}
          <ul class="cases routes">
            {read.routes.map((r) => (
              <li key={`${r.method} ${r.path}`}>
                <button type="button" class="link wrap" onClick={() => onUse(r)}>{r.method} {inlineText(r.path)}</button>
                {r.summary !== '' ? <> <span class="muted">{inlineText(r.summary)}</span></> : null}
              </li>
            ))}
          </ul>
          {read.more > 0 ? <p class="muted">and {read.more} more routes (the first {read.routes.length} are listed).</p> : null}
        </>
      ) : null}
    </section>
  );
}
