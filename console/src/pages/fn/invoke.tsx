/**
 * Invoke: sync or async, JSON payload and headers; the answer's status, body (as text), duration and
 * cold marker; async gives a run id linked to its timeline. Named test cases are saved with the
 * function (server-side) and re-run in one click. A curl line for the same request.
 */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, enc, type InvokeAnswer, type TestCase, type TestRequest } from '../../api.js';
import { can, currentSession } from '../../auth.js';
import { curlLine } from '../../curl.js';
import { duration, inlineText, ms, resultText, shownText } from '../../format.js';
import { href } from '../../router.js';
import { samplePayload } from '../../scaffolds.js';
import { jsonNumbersSurviveParse } from '../../../../protocol/json-numbers.js';
import { CopyButton, ErrorBox, useAsync } from '../../ui.js';
import type { TabProps } from './tab.js';
import { AppRoutes } from './app-routes.js';
import { TestCaseRow } from './test-case-row.js';
import { keepForm, keptForm, pendingSend, sendKept, type Sent } from './invoke-form.js';

const METHODS = ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'];

/** `Name: value` lines → a header map (blank lines skipped). */
export function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (line.trim() === '') continue;
    if (i <= 0) throw new Error(`a header line needs "Name: value": ${line.slice(0, 40)}`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * The Path field as typed (`/items?q=1&q=2`) → the request's `path` and `query` (repeated keys as
 * lists), as the CLI's `invoke` splits it: the API takes the query string apart from the path.
 */
export function splitPath(text: string): Pick<TestRequest, 'path' | 'query'> {
  const raw = text.trim().replace(/#.*$/, '');
  const q = raw.indexOf('?');
  const bare = q < 0 ? raw : raw.slice(0, q);
  // A space (or another blank or control character) is sent percent-encoded, as a browser's address bar
  // sends it: the API takes no blank in a path, and refused `/items/two words` with INVALID_FIELD (console round 14).
  const path = (bare.startsWith('/') ? bare : `/${bare}`).replace(/[\s\x00-\x1f\x7f]/gu, (c) => encodeURIComponent(c));
  if (q < 0) return { path };
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(raw.slice(q + 1))) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return Object.keys(query).length > 0 ? { path, query } : { path };
}

/** A request's path and query back into the Path field (a saved test case loaded into the form). */
export function joinPath(path: string, query?: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) for (const v of Array.isArray(value) ? value : [value]) q.append(key, v);
  const search = q.toString();
  return search === '' ? path : `${path}?${search}`;
}

function invalidIf(problem: { field: string } | null, id: string): { 'aria-invalid'?: true; 'aria-describedby'?: string } {
  return problem?.field === id ? { 'aria-invalid': true, 'aria-describedby': `${id}-problem` } : {};
}

export function InvokeTab({ name, fn }: TabProps): JSX.Element {
  const f = fn.function;
  // What this page typed and got here before (another tab visited meanwhile, Back), else the defaults.
  const workspace = currentSession()?.workspace ?? 'default';
  const [kept] = useState(() => keptForm(workspace, name));
  const [mode, setMode] = useState<'sync' | 'async'>(kept?.mode ?? (f.invocation === 'async' ? 'async' : 'sync'));
  const [method, setMethod] = useState(kept?.method ?? 'POST');
  const [path, setPath] = useState(kept?.path ?? '/');
  const [headers, setHeaders] = useState(kept?.headers ?? '');
  const [payload, setPayload] = useState(() => kept?.payload ?? samplePayload(f.preset).trim());
  const [result, setResult] = useState<InvokeAnswer | null>(kept?.result ?? null);
  const [queued, setQueued] = useState<string | null>(kept?.queued ?? null);
  const [error, setError] = useState<unknown>(kept?.error ?? null);
  const [busy, setBusy] = useState(() => pendingSend(workspace, name) !== undefined);
  const [caseName, setCaseName] = useState(kept?.caseName ?? '');
  useEffect(() => keepForm(workspace, name, { mode, method, path, headers, payload, caseName, result, queued, error }), [workspace, name, mode, method, path, headers, payload, caseName, result, queued, error]);
  // A send still on its way, from this tab or from its visit before (left before the answer came):
  // its answer is shown when it comes, while this tab is; invoke-form.ts keeps it either way.
  const [waiting, setWaiting] = useState<Promise<Sent> | undefined>(() => pendingSend(workspace, name));
  useEffect(() => {
    if (waiting === undefined) return undefined;
    let shown = true;
    void waiting.then((sent) => {
      if (!shown) return;
      setResult(sent.result);
      setQueued(sent.queued);
      setError(sent.error);
      setBusy(false);
    });
    return () => {
      shown = false;
    };
  }, [waiting]);
  // A name the API refuses is said under the name's field, not in the Response panel.
  const [caseError, setCaseError] = useState<unknown>(null);
  const cases = useAsync(() => api<{ items: TestCase[] }>('GET', `/functions/${enc(name)}/test-cases`), [name]);

  /** What is wrong with the headers or the payload as typed (shown at the field, live), or null. */
  const fieldProblem = (): { field: 'inv-headers' | 'inv-payload'; message: string } | null => {
    try {
      parseHeaders(headers);
    } catch (err) {
      return { field: 'inv-headers', message: (err as Error).message };
    }
    if (payload.trim() !== '' && method !== 'GET') {
      try {
        JSON.parse(payload);
      } catch (err) {
        return { field: 'inv-payload', message: `The payload is not JSON: ${(err as Error).message}. Leave it empty to send no body.` };
      }
    }
    return null;
  };
  const problem = fieldProblem();

  const request = (): TestRequest => {
    const req: TestRequest = { method, ...splitPath(path) };
    const h = parseHeaders(headers);
    if (Object.keys(h).length > 0) req.headers = h;
    if (payload.trim() !== '' && method !== 'GET') {
      try {
        req.body = JSON.parse(payload);
      } catch {
        throw new Error('the payload is not JSON');
      }
      if (!jsonNumbersSurviveParse(payload)) {
        // 9007199254740993 parsed is ...992: send the payload's bytes as typed, as JSON.
        delete req.body;
        req.bodyBase64 = utf8Base64(payload);
        if (!Object.keys(req.headers ?? {}).some((k) => k.toLowerCase() === 'content-type')) req.headers = { ...req.headers, 'content-type': 'application/json' };
      }
    }
    return req;
  };

  const send = (req: TestRequest, how: 'sync' | 'async'): void => {
    setBusy(true);
    setError(null);
    setResult(null);
    setQueued(null);
    setWaiting(sendKept(workspace, name, async (): Promise<Sent> => {
      try {
        if (how === 'sync') return { result: await api<InvokeAnswer>('POST', `/functions/${enc(name)}/invoke`, req), queued: null, error: null };
        return { result: null, queued: (await api<{ runId: string }>('POST', `/functions/${enc(name)}/invoke/async`, req)).runId, error: null };
      } catch (err) {
        return { result: null, queued: null, error: err };
      }
    }));
  };

  const load = (c: TestCase): void => {
    setMode(c.mode);
    setMethod(c.request.method ?? 'POST');
    setPath(joinPath(c.request.path ?? '/', c.request.query));
    setHeaders(Object.entries(c.request.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n'));
    setPayload(c.request.bodyBase64 !== undefined ? base64Utf8(c.request.bodyBase64) : c.request.body === undefined ? '' : JSON.stringify(c.request.body, null, 2));
    setCaseName(c.name);
  };

  const save = async (): Promise<void> => {
    setError(null);
    if (problem !== null) return void document.getElementById(problem.field)?.focus();
    try {
      await api('PUT', `/functions/${enc(name)}/test-cases/${enc(caseName.trim())}`, { mode, request: request() });
      setCaseError(null);
      cases.reload();
    } catch (err) {
      setCaseError(err);
    }
  };

  // A function that takes one kind of call only (platform.yaml `invocation`) answers 409
  // INVOCATION_MODE_NOT_ALLOWED on the other's URL: an async-only function's /fn/ URL was shown as
  // the curl line of a sync test call (the test invoke runs it; that URL does not), and a sync-only
  // function's async radio queued nothing but an error.
  const syncOnly = f.invocation === 'sync';
  const testCallOnly = mode === 'sync' && f.invocation === 'async';
  let curl = '';
  try {
    const req = request();
    const url = (mode === 'async' ? fn.asyncUrl ?? fn.invokeUrl.replace('/fn/', '/async/') : fn.invokeUrl).replace(/\/$/, '') + joinPath(req.path ?? '/', req.query);
    curl = curlLine({ method, url, headers: { ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers }, body: req.bodyBase64 !== undefined ? payload : req.body === undefined ? null : JSON.stringify(req.body), token: f.auth === 'token' });
  } catch {
    curl = '(fix the request above to see its curl line)';
  }

  return (
    <div class="invoke-tab grid2">
      <form class="card form" aria-label="Request" onSubmit={(e) => {
        e.preventDefault();
        // A request that cannot be built is said at its field (below), not sent.
        if (problem !== null) return void document.getElementById(problem.field)?.focus();
        send(request(), mode);
      }}>
        <fieldset class="row">
          <legend>Mode</legend>
          <label class="choice inline"><input type="radio" name="mode" checked={mode === 'sync'} onChange={() => setMode('sync')} /> sync</label>
          <label class="choice inline"><input type="radio" name="mode" checked={mode === 'async'} disabled={syncOnly} aria-describedby={syncOnly ? 'inv-mode-note' : undefined} onChange={() => setMode('async')} /> async</label>
          {syncOnly ? <p id="inv-mode-note" class="hint" data-testid="mode-note">This function takes sync calls only (<code>invocation: sync</code>): it is never queued.</p> : null}
          {testCallOnly ? <p id="inv-mode-note" class="hint" data-testid="mode-note">This function takes async calls only (<code>invocation: async</code>): Invoke makes a test call through the API; its <code>/fn/</code> URL answers 409 <code>INVOCATION_MODE_NOT_ALLOWED</code>.</p> : null}
        </fieldset>
        <div class="row">
          <div>
            <label for="inv-method">Method</label>
            <select id="inv-method" value={method} onChange={(e) => setMethod((e.target as HTMLSelectElement).value)}>{METHODS.map((m) => <option key={m}>{m}</option>)}</select>
          </div>
          <div class="grow">
            <label for="inv-path">Path</label>
            <input id="inv-path" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
          </div>
        </div>
        <label for="inv-headers">Headers (one <code>Name: value</code> per line)</label>
        <textarea id="inv-headers" rows={3} value={headers} onInput={(e) => setHeaders((e.target as HTMLTextAreaElement).value)} spellcheck={false} {...invalidIf(problem, 'inv-headers')} />
        {problem?.field === 'inv-headers' ? <p id="inv-headers-problem" class="field-problem">{problem.message}</p> : null}
        <label for="inv-payload">JSON payload{method === 'GET' ? ' (not sent with GET)' : ''}</label>
        <textarea id="inv-payload" rows={8} class="mono" value={payload} onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)} spellcheck={false} {...invalidIf(problem, 'inv-payload')} />
        {problem?.field === 'inv-payload' ? <p id="inv-payload-problem" class="field-problem">{problem.message}</p> : null}
        {can('invoker')
          ? <button type="submit" class="primary" disabled={busy}>{busy ? 'Sending…' : mode === 'sync' ? 'Invoke' : 'Queue async run'}</button>
          : <p class="notice" data-testid="role-note">Your token's role ({currentSession()?.role}) can read this function but not call it from here: that needs the invoker role.</p>}
        {testCallOnly ? (
          <p class="hint" data-testid="no-curl">No curl line for a sync call: callers reach this function at its async URL (choose async for its curl line).</p>
        ) : (
          <div class="curl">
            <label for="inv-curl">curl</label>
            <div class="row"><code id="inv-curl" class="grow wrap">{curl}</code>{problem === null ? <CopyButton text={curl} /> : null}</div>
            {f.auth === 'token' ? <p class="hint">Set <code>FP_INVOKE_TOKEN</code> to the function's invoke token (Settings → rotate shows a new one).</p> : null}
          </div>
        )}
      </form>
      <div>
        {/* Not a live region as a whole: a screen reader read the whole answer, body and headers, at each call; the one line below says what came (console round 10). */}
        <section class="card" aria-label="Response">
          <h2>Response</h2>
          <p class="visually-hidden" role="status" data-testid="invoke-said">{responseSaid(busy, queued, result)}</p>
          {!busy && error === null && queued === null && result === null
            ? <p class="muted" data-testid="response-none">No call yet: {can('invoker') ? 'Invoke sends the request; its answer shows here, and each call is a run in the Runs tab.' : 'the calls made by others are in the Runs tab.'}</p> : null}
          <ErrorBox error={error} />
          {/* A streamed answer (an SSE endpoint) comes whole at its end: one that never ends showed "Sending…" for the whole timeout, with nothing said (console round 4). */}
          {busy ? <p class="muted" data-testid="sending-note">Waiting for the answer: it is shown once the function has sent all of it (a streamed answer too; the curl line shows one as it comes). The call ends by the function's timeout, {duration(f.limits.timeoutMs)}.</p> : null}
          {error instanceof ApiError && error.code === 'FUNCTION_NOT_DEPLOYED' ? <p data-testid="not-deployed">Nothing runs until a version is deployed: <a href={href(['functions', name, 'code'])}>open the Code tab and deploy</a>.</p> : null}
          {queued !== null ? (
            <p data-testid="async-run">Queued as run <code>{queued}</code> — <a href={href(['functions', name, 'runs'], { run: queued })}>open its timeline</a></p>
          ) : null}
          {result !== null ? (
            <div data-testid="invoke-result">
              <div class="row">
                <span class={`status s${Math.floor(result.status / 100)}xx`}>HTTP {result.status}</span>
                <span>{ms(result.durationMs)}</span>
                <span class={result.cold ? 'badge badge-cold' : 'badge badge-warm'}>{result.cold ? 'cold start' : 'warm'}</span>
                <a href={href(['functions', name, 'runs'], { run: result.runId })}>run</a>
              </div>
              {result.error ? (
                <p class="bad">
                  <code>{result.error.code}</code> {result.error.type ? `${inlineText(result.error.type)}: ` : ''}{shownText(result.error.message)}
                  {result.error.file ? <> — <a href={href(['functions', name, 'code'], { file: result.error.file, line: result.error.line })}>open {inlineText(result.error.file)}:{result.error.line}</a></> : null}
                </p>
              ) : null}
              <details><summary>Headers</summary><pre class="out">{Object.entries(result.headers).map(([k, v]) => shownText(`${k}: ${v}`)).join('\n')}</pre></details>
              <pre class="out" data-testid="response-body">{resultText(result, 'shown')}</pre>
            </div>
          ) : null}
        </section>
        <section class="card" aria-label="Saved test cases">
          <h2>Test cases</h2>
          {can('deployer') ? <form class="row" aria-label="Save as a test case" onSubmit={(e) => { e.preventDefault(); if (caseName.trim() !== '') void save(); }}>
            <label for="case-name" class="visually-hidden">Test case name</label>
            <input id="case-name" placeholder="name, e.g. happy path" value={caseName} maxLength={64} aria-invalid={caseError !== null ? true : undefined}
              onInput={(e) => { setCaseName((e.target as HTMLInputElement).value); setCaseError(null); }} />
            <button type="submit" disabled={caseName.trim() === ''}>Save</button>
          </form> : null}
          <div data-testid="case-error"><ErrorBox error={caseError} /></div>
          <ErrorBox error={cases.error} />
          {cases.data?.items.length === 0
            ? <p class="muted" data-testid="cases-none">No saved test cases{can('deployer') ? ': name the request and Save it to send it again with one click.' : ' (a deployer saves them, with their request).'}</p> : null}
          <ul class="cases">
            {(cases.data?.items ?? []).map((c) => (
              <TestCaseRow key={c.name} fn={name} testCase={c} line={`${c.request.method ?? 'POST'} ${joinPath(c.request.path ?? '/', c.request.query)}`}
                onLoad={() => load(c)} onRun={() => send(c.request, c.mode)} onDeleted={cases.reload} />
            ))}
          </ul>
        </section>
        <AppRoutes name={name} version={f.activeVersion} methods={METHODS} onUse={(r) => {
          setMethod(r.method);
          setPath(r.path);
          document.getElementById('inv-path')?.focus();
        }} />
      </div>
    </div>
  );
}

/** The Response panel's one line for a screen reader: what the call came to, never its body. */
function responseSaid(busy: boolean, queued: string | null, result: InvokeAnswer | null): string {
  if (busy) return 'Calling…';
  if (queued !== null) return `Queued as run ${queued}.`;
  if (result === null) return '';
  return `HTTP ${result.status}${result.error ? ` ${result.error.code}` : ''}, ${ms(result.durationMs)}, ${result.cold ? 'cold start' : 'warm'}.`;
}

function utf8Base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function base64Utf8(base64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}
