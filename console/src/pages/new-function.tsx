/**
 * New → Function: name, preset, invocation mode, auth and a data binding (a Mongo database).
 * Shows the URLs at once; on create, the contract card from the API, the invoke token when there is
 * one (shown once), and a draft with the preset's scaffold (the `init` templates) to edit and deploy.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc, type FnAnswer } from '../api.js';
import { can, currentSession } from '../auth.js';
import { ContractCard } from '../contract.js';
import { href } from '../router.js';
import { DATABASE_NAME, presetOf, samplePayload, scaffold, templateLimits, type Invocation, type TemplateLimits, type Template } from '../scaffolds.js';
import { Card, ErrorBox, ShownOnce, useAsync } from '../ui.js';

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PRESETS: [Template, string, string][] = [
  ['http', 'HTTP', 'a URL that answers requests'],
  ['fastapi', 'FastAPI app', 'an ASGI app with its routes under the URL'],
  ['webhook', 'Webhook', 'signed deliveries from GitHub or Stripe, queued'],
  ['cron', 'Cron', 'runs on a schedule'],
  ['worker', 'Async worker', 'jobs queued with POST /async'],
];
/** Why `name` is not a function name (what the user must change), or null. */
export function nameProblem(name: string): string | null {
  if (name === '' || NAME.test(name)) return null;
  const bad = [...new Set(name.replace(/[a-z0-9-]/g, ''))].join('');
  if (bad !== '') return `Not allowed in a name: ${bad === ' ' ? 'spaces' : JSON.stringify(bad)}. Use lower-case letters, digits and hyphens.`;
  if (name.length > 63) return `At most 63 characters (this one has ${name.length}).`;
  return 'A name starts and ends with a letter or a digit.';
}

/** A test case saved with a new function whose template has no route for the Invoke tab's default (POST /). */
export function starterCase(template: Template): { name: string; request: { method: string; path: string; body: unknown } } | null {
  return template === 'fastapi' ? { name: 'greet', request: { method: 'POST', path: '/greet', body: JSON.parse(samplePayload('fastapi')) as unknown } } : null;
}

/** What the function is created with: its template's limits, the platform's defaults for the rest (docs/gateway.md). */
function limitsLine(l: TemplateLimits): string {
  const memory = (l.memory ?? '256Mi').replace(/([KMGT])i$/, ' $1iB');
  const calls = l.concurrency ?? 1;
  return `timeout ${l.timeout ?? '30s'} · memory ${memory} · ${calls} call${calls === 1 ? '' : 's'} per instance · up to ${l.maxInstances ?? 10} instances`;
}

const DEFAULT_MODE: Record<Template, Invocation> = { http: 'both', fastapi: 'both', webhook: 'async', cron: 'async', worker: 'async' };

/**
 * Where functions answer, seen from the console's page, until `GET /whoami` gave the platform's
 * public URL (or when it has none): the console has a host of its own,
 * `console.<base domain>`, on which no function answers (docs/console.md, "Security"); its functions
 * are at `/fn/<name>/` of the base domain, same scheme and port. With host routing off the console
 * is on the functions' host.
 */
export function functionsOrigin(at: { protocol: string; host: string; origin: string }): string {
  return at.host.startsWith('console.') ? `${at.protocol}//${at.host.slice('console.'.length)}` : at.origin;
}

export function NewFunction(): JSX.Element {
  const [name, setName] = useState('');
  const [preset, setPreset] = useState<Template>('http');
  const [mode, setMode] = useState<Invocation>('both');
  const [auth, setAuth] = useState<'public' | 'token'>('public');
  const [database, setDatabase] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<FnAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  const valid = NAME.test(name);
  // A name refused because a function has it (FUNCTION_EXISTS): said at the field, with the way on.
  const [taken, setTaken] = useState<string | null>(null);
  const problem = nameProblem(name) ?? (taken !== null && taken === name ? 'taken' : null);
  // The form is replaced by the result: the focus goes to its heading, not to the page's start.
  useEffect(() => {
    if (created !== null) document.getElementById('created-title')?.focus();
  }, [created]);
  const databaseValid = database === null || DATABASE_NAME.test(database);
  // Where functions answer, as the API will say once the function exists (its invokeUrl): the
  // platform's public URL (FP_PUBLIC_URL) may be another host than the one this page is on.
  const who = useAsync(() => api<{ publicUrl?: string }>('GET', '/whoami'), []);
  const origin = who.data?.publicUrl || functionsOrigin(location);
  // A function's key in URLs: its name in `default`, `<name>.<workspace>` elsewhere (ADR 0011).
  const workspace = currentSession()?.workspace ?? 'default';
  const key = `${valid ? name : '<name>'}${workspace === 'default' ? '' : `.${workspace}`}`;

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api<FnAnswer>('POST', '/functions', { name, preset: presetOf(preset), invocation: mode, auth, limits: templateLimits(preset) });
      await api('PUT', `/functions/${enc(name)}/draft`, { baseVersion: null, files: scaffold(name, preset, mode, database ?? undefined), removed: [] });
      // The Invoke tab's default (POST /) is not a route of the FastAPI template (405): a saved test
      // case gives the first call that works (the template's "Try it"). Not worth failing the create for.
      const starter = starterCase(preset);
      if (starter !== null) await api('PUT', `/functions/${enc(name)}/test-cases/${enc(starter.name)}`, { mode: 'sync', request: starter.request }).catch(() => undefined);
      setCreated(answer);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'FUNCTION_EXISTS') {
        setTaken(name);
        document.getElementById('fn-name')?.focus();
      } else setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!can('deployer')) {
    return (
      <div class="page narrow">
        <h1>New function</h1>
        <p class="notice" data-testid="role-note">Your token's role ({currentSession()?.role}) cannot create functions: that needs the deployer role.</p>
      </div>
    );
  }

  if (created !== null) {
    return (
      <div class="page narrow">
        <h1 tabIndex={-1} id="created-title" data-testid="created">Created <code>{created.function.name}</code></h1>
        {created.invokeToken !== undefined ? <ShownOnce label="Invoke token" value={created.invokeToken} expiresAt={created.invokeTokenExpiresAt} /> : null}
        <Card title="Contract">
          <ContractCard contract={created.contract} asyncUrl={created.asyncUrl} invocation={created.function.invocation} />
        </Card>
        <p>Its code is a draft from the <strong>{preset}</strong> template: edit it, then deploy.</p>
        {starterCase(preset) !== null ? <p>A test case <strong>{starterCase(preset)!.name}</strong> ({starterCase(preset)!.request.method} {starterCase(preset)!.request.path}) is saved on its Invoke tab: run it once deployed.</p> : null}
        <a class="button primary" href={href(['functions', created.function.name, 'code'])}>Open the editor</a>
      </div>
    );
  }

  return (
    <div class="page narrow">
      <h1>New function</h1>
      <form onSubmit={submit} class="card form" aria-label="New function">
        <label for="fn-name">Name</label>
        <input id="fn-name" required value={name} aria-describedby={problem !== null ? 'fn-name-problem fn-name-hint fn-preview' : 'fn-name-hint fn-preview'} aria-invalid={name !== '' && (!valid || problem !== null)} autoComplete="off" spellcheck={false}
          onInput={(e) => setName((e.target as HTMLInputElement).value.toLowerCase())} />
        {problem === 'taken'
          ? <p id="fn-name-problem" class="field-problem" role="alert" data-testid="name-problem">A function named <strong>{name}</strong> exists already in {workspace}: pick another name, or <a href={href(['functions', name])}>open it</a>. <code>FUNCTION_EXISTS</code></p>
          : problem !== null ? <p id="fn-name-problem" class="field-problem" data-testid="name-problem">{problem}</p> : null}
        <p id="fn-name-hint" class="hint">Lower-case letters, digits and hyphens (a DNS label): it is part of the URL.</p>

        <fieldset>
          <legend>Preset</legend>
          {PRESETS.map(([id, label, what]) => (
            <label key={id} class="choice">
              <input type="radio" name="preset" value={id} checked={preset === id} onChange={() => { setPreset(id); setMode(DEFAULT_MODE[id]); }} />
              <span><strong>{label}</strong> — {what}</span>
            </label>
          ))}
        </fieldset>

        <fieldset>
          <legend>Invocation</legend>
          <p class="muted">Which URLs take calls: sync <code>/fn/</code>, async <code>/async/</code> (queued, retried), or both.</p>
          {(['sync', 'async', 'both'] as const).map((m) => (
            <label key={m} class="choice inline">
              <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} /> {m}
            </label>
          ))}
        </fieldset>

        <fieldset>
          <legend>Auth</legend>
          <label class="choice inline"><input type="radio" name="auth" checked={auth === 'public'} onChange={() => setAuth('public')} /> public</label>
          <label class="choice inline"><input type="radio" name="auth" checked={auth === 'token'} onChange={() => setAuth('token')} /> invoke token</label>
        </fieldset>

        <label for="binding">Data binding</label>
        <select id="binding" aria-describedby="binding-hint" value={database === null ? 'none' : 'mongo'} onChange={(e) => setDatabase((e.target as HTMLSelectElement).value === 'mongo' ? database ?? 'app' : null)}>
          <option value="none">none</option>
          <option value="mongo">Mongo database</option>
        </select>
        {database !== null ? (
          <>
            <label for="binding-db">Database</label>
            <input id="binding-db" value={database} aria-invalid={!databaseValid} aria-describedby="binding-hint" autoComplete="off" spellcheck={false}
              onInput={(e) => setDatabase((e.target as HTMLInputElement).value)} />
          </>
        ) : null}
        <p id="binding-hint" class="hint">{database === null
          ? 'A database of this workspace as context.db in the handler (platform.yaml data.mongo).'
          : 'Lower-case letters, digits, _ and -, starting with a letter (1-32): a database of this workspace, created on first deploy, as context.db in the handler.'}</p>

        {/* Not a live region: its URLs change at each letter of the name, and a screen reader read them out over the typing (console round 10); the name field's description is the preview, said when the field is reached. */}
        <div class="preview" id="fn-preview">
          {/* An async-only function's /fn/ URL answers 409 INVOCATION_MODE_NOT_ALLOWED: not shown as its URL (docs/adr/0048-newcomer-round-3.md). */}
          {mode !== 'async' ? <div><span class="muted">Invoke URL</span> <code>{origin}/fn/{key}/</code></div> : null}
          {mode !== 'sync' ? <div><span class="muted">Async URL</span> <code>{origin}/async/{key}/</code></div> : null}
          <div data-testid="new-limits"><span class="muted">Limits</span> {limitsLine(templateLimits(preset))} · scale to zero · {auth === 'token' ? 'invoke token' : 'public'}</div>
        </div>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={!valid || problem === 'taken' || !databaseValid || busy}>{busy ? 'Creating…' : 'Create function'}</button>
      </form>
    </div>
  );
}
