/**
 * Settings: limits, retries, auth, env vars, secrets (write-only: names shown, values never read
 * back), pause/resume, invoke-token rotation, delete. Changes go through `PATCH /functions/:name`.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, enc, type Fn, type FnAnswer } from '../../api.js';
import { can, currentSession } from '../../auth.js';
import { ContractCard } from '../../contract.js';
import { duration, inlineText, memory } from '../../format.js';
import { navigate } from '../../router.js';
import { Card, ErrorBox, Loading, ShownOnce, useAsync } from '../../ui.js';
import type { TabProps } from './tab.js';
import { keepFocusInPlace } from '../../focus-place.js';
import { keepSettings, keptSettings, type KeptEdit } from './settings-form.js';

/**
 * An env row; `editing`: its value, shown escaped (below), opened by Edit in its input, or in a
 * multi-line box when it holds a line break (an input drops them: console round 12).
 */
type Row = { key: string; value: string; editing?: 'line' | 'lines' };

/** A line break: an `<input>` strips CR and LF from its value, so such a value is edited in a `<textarea>`. */
const LINE_BREAK = /[\r\n]/;
type Form = 'limits' | 'retry' | 'env' | 'secrets' | 'access' | 'state';

/** The API's `field` of a refused change → the input that holds it (as sent, and as checked after the merge). */
const FIELD_INPUTS: Record<string, string> = {
  'limits.timeout': 'lim-timeout', 'limits.timeoutMs': 'lim-timeout', 'limits.memory': 'lim-memory', 'limits.memoryBytes': 'lim-memory',
  'limits.concurrency': 'lim-concurrency', 'limits.maxInstances': 'lim-max', 'limits.minWarm': 'lim-minwarm', 'limits.maxQueue': 'lim-queue',
  'retry.maxAttempts': 're-attempts', 'retry.backoff': 're-backoff', 'retry.backoffBaseMs': 're-backoff', 'retry.maxBackoff': 're-max',
  'retry.backoffMaxMs': 're-max', 'retry.maxEventAge': 're-age', 'retry.maxEventAgeMs': 're-age',
};

/** The platform's env names (protocol/manifest.ts): letters, digits and _, not starting with a digit. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What is wrong with each row's name (null: nothing); empty rows are dropped on save. */
export function envRowProblems(rows: readonly Row[]): (string | null)[] {
  const firstAt = new Map<string, number>();
  return rows.map((r, i) => {
    const name = r.key.trim();
    if (name === '') return r.value === '' ? null : 'Give this value a name (or remove the row).';
    if (!ENV_NAME.test(name)) return `${name} is not a valid name: letters, digits and _, not starting with a digit.`;
    const first = firstAt.get(name);
    if (first !== undefined) return `${name} is already set in row ${first + 1}: keep one (remove this row or rename it).`;
    firstAt.set(name, i);
    return null;
  });
}

/** The forms that write a whole setting (every limit, every retry field, the whole env, auth) over what is there. */
type Whole = 'limits' | 'retry' | 'env' | 'access';
const WHOLES: readonly Whole[] = ['limits', 'retry', 'env', 'access'];
const WHOLE: readonly Form[] = WHOLES;
const HOLDS: Record<Whole, string> = { limits: 'The limits were', retry: 'The retry policy was', env: 'The environment was', access: 'Who may call it was' };

/** The setting a whole-setting form writes (its `settingTags` key, ADR 0159). */
const SETTING: Record<Whole, 'limits' | 'retry' | 'env' | 'auth'> = { limits: 'limits', retry: 'retry', env: 'env', access: 'auth' };
/** The tag of what a whole-setting form writes, from a function record. */
function settingOf(f: Fn, form: Whole): string {
  return f.settingTags[SETTING[form]];
}

const limitsForm = (f: Fn) => ({ timeout: duration(f.limits.timeoutMs), memory: memory(f.limits.memoryBytes), concurrency: String(f.limits.concurrency), maxInstances: String(f.limits.maxInstances), minWarm: String(f.limits.minWarm), maxQueue: String(f.limits.maxQueue) });
const retryForm = (f: Fn) => ({ maxAttempts: String(f.retry.maxAttempts), backoff: duration(f.retry.backoffBaseMs), maxBackoff: duration(f.retry.backoffMaxMs), maxEventAge: duration(f.retry.maxEventAgeMs) });
const envRows = (f: Fn): Row[] => Object.entries(f.env).map(([key, value]) => ({ key, value }));
const envObject = (rows: readonly Row[]): Record<string, string> => Object.fromEntries(rows.filter((r) => r.key.trim() !== '').map((r) => [r.key.trim(), r.value]));

/** What each whole-setting form was filled from (its values as the form holds them). */
type Filled = { limits: ReturnType<typeof limitsForm>; retry: ReturnType<typeof retryForm>; env: Record<string, string>; access: string };
const filledFrom = (f: Fn): Filled => ({ limits: limitsForm(f), retry: retryForm(f), env: { ...f.env }, access: f.auth });

/**
 * `theirs` (the setting as it is now) with the changes this form made to `base` (what it was
 * filled from) laid over it: a field or variable changed or added here takes this form's value, one
 * removed here goes (unless it was changed meanwhile), the rest is theirs. "Load the current
 * values" after a SETTING_CONFLICT put the current values in place of what was typed, so the typed
 * change was lost and had to be made again (console round 3); now only what this form did not touch is loaded.
 */
export function changesOver(base: Readonly<Record<string, string>>, mine: Readonly<Record<string, string>>, theirs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = { ...theirs };
  for (const [k, v] of Object.entries(mine)) if (base[k] !== v) out[k] = v;
  for (const k of Object.keys(base)) if (!(k in mine) && theirs[k] === base[k]) delete out[k];
  return out;
}

/**
 * The tab reads the function when it opens and fills its forms from that read: the page's 5 s poll
 * could be seconds away, and a change made elsewhere meanwhile (another tab, the CLI) was shown as
 * it was before; a form filled from it then stays so (its save refused as changed since, ADR 0159)
 * (console round 15). Until the page holds that read (it reads the function again when the
 * revision moved), "Loading…"; a read that fails shows the forms from what the page holds.
 */
export function SettingsTab(props: TabProps): JSX.Element {
  const { name, fn, reload } = props;
  const fresh = useAsync(() => api<FnAnswer>('GET', `/functions/${enc(name)}`), [name]);
  const behind = fresh.data !== undefined && fresh.data.function.revision > fn.function.revision;
  useEffect(() => {
    if (behind) reload();
  }, [behind, reload]);
  if (behind || (fresh.data === undefined && fresh.error === null)) return <Loading what="Reading the settings" />;
  return <SettingsForm {...props} />;
}

function SettingsForm({ name, fn, reload }: TabProps): JSX.Element {
  const f = fn.function;
  // What this tab typed and did not save on its visit before (the Code tab looked at meanwhile), else the function's values.
  const workspace = currentSession()?.workspace ?? 'default';
  const [kept] = useState(() => keptSettings(workspace, name));
  const edit = (form: Whole): KeptEdit | undefined => kept?.edits[form];
  const [limits, setLimits] = useState(() => (edit('limits')?.value as Filled['limits'] | undefined) ?? limitsForm(f));
  const [retry, setRetry] = useState(() => (edit('retry')?.value as Filled['retry'] | undefined) ?? retryForm(f));
  const [auth, setAuth] = useState(() => (edit('access')?.value as Fn['auth'] | undefined) ?? f.auth);
  const [env, setEnv] = useState<Row[]>(() => (edit('env')?.value as Row[] | undefined) ?? envRows(f));
  // The tag of what each whole-setting form was filled from. A save sends it (`ifMatch`): when that
  // setting changed since (another tab, the CLI, a deploy), the API refuses it (SETTING_CONFLICT) and
  // the form offers the current values, since a save writes the whole setting (the env as one
  // object) and would silently undo the other change (two tabs: one added FOO, the other then saved
  // BAR, FOO gone). One call: nothing can land between the check and the save (ADR 0159; before,
  // ADR 0152's read-then-save left that window).
  // A form kept unsaved keeps the tag and values it was read from: its save is refused when the setting changed since.
  const read = useRef<Record<Whole, string>>(Object.fromEntries(WHOLES.map((w) => [w, edit(w)?.read ?? settingOf(f, w)])) as Record<Whole, string>);
  const filled = useRef<Filled>(Object.fromEntries(WHOLES.map((w) => [w, edit(w)?.filled ?? filledFrom(f)[w]])) as Filled);
  const [changed, setChanged] = useState<{ form: Whole; current: Fn } | null>(null);
  const [secretName, setSecretName] = useState(kept?.secretName ?? '');
  const [secretValue, setSecretValue] = useState(kept?.secretValue ?? '');
  // The outcome of the last change, shown in the form it came from (not at the top of a long page).
  const [outcome, setOutcome] = useState<{ form: Form; saved?: string; error?: unknown } | null>(null);
  const setError = (form: Form) => (error: unknown): void => setOutcome({ form, error });
  const [token, setTokenValue] = useState<{ value: string; expiresAt?: number | undefined } | null>(null);
  const setToken = (answer: { invokeToken: string; invokeTokenExpiresAt?: number }): void => setTokenValue({ value: answer.invokeToken, expiresAt: answer.invokeTokenExpiresAt });
  // Checked before saving (the API takes `env` as an object: a second row with the same name would
  // silently replace the first); shown from the first Save on, then as the rows change.
  const [envChecked, setEnvChecked] = useState(false);
  const envProblems = envRowProblems(env);
  // Each form that differs from what it was filled from, kept for the tab's next visit (settings-form.ts).
  const typed: Record<Whole, unknown> = { limits, retry, env: env.map((r) => [r.key, r.value]), access: auth };
  const base: Record<Whole, unknown> = { ...filled.current, env: Object.entries(filled.current.env) };
  const kinds: Record<Whole, unknown> = { limits, retry, env, access: auth };
  const edits: Partial<Record<Whole, KeptEdit>> = {};
  for (const w of WHOLES) if (JSON.stringify(typed[w]) !== JSON.stringify(base[w])) edits[w] = { value: kinds[w], read: read.current[w], filled: filled.current[w] };
  // Set as the page is drawn, not in an effect: a reload right after a keystroke comes before the effects run.
  const unsavedRef = useRef(false);
  unsavedRef.current = Object.keys(edits).length > 0 || secretName !== '' || secretValue !== '';
  useEffect(() => keepSettings(workspace, name, { edits, secretName, secretValue }));
  // Closing or reloading the page with a change not saved asks first, as the Code tab does (memory does not outlive the page).
  useEffect(() => {
    const warn = (e: BeforeUnloadEvent): void => {
      if (!unsavedRef.current) return;
      e.preventDefault();
      e.returnValue = '';
    };
    addEventListener('beforeunload', warn);
    return () => removeEventListener('beforeunload', warn);
  }, []);

  /** Sends the change; true when it was saved (the outcome is shown in `form`). */
  const patch = async (form: Form, body: Record<string, unknown> | (() => Record<string, unknown>), done: string): Promise<boolean> => {
    setOutcome(null);
    setChanged(null);
    try {
      // A builder's refusal (a count that is no number) is shown and focused as the API's would be.
      const built = typeof body === 'function' ? body() : body;
      const whole = WHOLE.includes(form) ? form as Whole : null;
      const sent = whole === null ? built : { ...built, ifMatch: { [SETTING[whole]]: read.current[whole] } };
      const answer = await api<FnAnswer>('PATCH', `/functions/${enc(name)}`, sent).catch(async (err: unknown) => {
        if (whole === null || !(err instanceof ApiError && err.code === 'SETTING_CONFLICT')) throw err;
        // Nothing was saved; the current values are read for "Load the current values" alone.
        const current = (await api<FnAnswer>('GET', `/functions/${enc(name)}`)).function;
        setChanged({ form: whole, current });
        throw new Error(`${HOLDS[whole]} changed since this page read ${whole === 'limits' ? 'them' : 'it'} (in another tab, by the CLI or a deploy): saving would undo that change, so nothing was saved. Load the current values, then make your change again.`);
      });
      if (WHOLE.includes(form)) {
        read.current[form as Whole] = settingOf(answer.function, form as Whole);
        filled.current = { ...filled.current, [form]: filledFrom(answer.function)[form as Whole] };
      }
      if (answer.invokeToken !== undefined) setToken({ invokeToken: answer.invokeToken, invokeTokenExpiresAt: answer.invokeTokenExpiresAt });
      setOutcome({ form, saved: done });
      reload();
      return true;
    } catch (err) {
      setOutcome({ form, error: err });
      const input = err instanceof ApiError && err.field !== undefined ? FIELD_INPUTS[err.field] : undefined;
      if (input !== undefined) requestAnimationFrame(() => document.getElementById(input)?.focus());
      // Deleted elsewhere: the page says so (detail.tsx) instead of a form error.
      if (err instanceof ApiError && err.code === 'FUNCTION_NOT_FOUND') reload();
      return false;
    }
  };
  const status = (form: Form): JSX.Element => (
    <div class="form-status" data-testid={`status-${form}`} id={`${form}-outcome`}>
      <p aria-live="polite" class="ok">{outcome?.form === form ? outcome.saved ?? '' : ''}</p>
      <ErrorBox error={outcome?.form === form ? outcome.error : null} />
      {changed !== null && changed.form === form ? <button type="button" class="small" onClick={() => loadCurrent(changed.form, changed.current)}>Load the current values</button> : null}
    </div>
  );
  /**
   * A form refused as changed elsewhere, filled again from the function as it is now with this
   * form's own changes kept over it (`changesOver`; its other forms keep what they hold): saving it
   * then adds the change to the other one instead of undoing it.
   */
  const loadCurrent = (form: Whole, current: Fn): void => {
    const base = filled.current;
    const now = filledFrom(current);
    if (form === 'limits') setLimits(changesOver(base.limits, limits, now.limits) as Filled['limits']);
    else if (form === 'retry') setRetry(changesOver(base.retry, retry, now.retry) as Filled['retry']);
    else if (form === 'env') setEnv(Object.entries(changesOver(base.env, envObject(env), now.env)).map(([key, value]) => ({ key, value })));
    else setAuth((auth !== base.access ? auth : now.access) as Fn['auth']);
    read.current[form] = settingOf(current, form);
    filled.current = { ...base, [form]: now[form] };
    setChanged(null);
    setOutcome({ form, saved: 'Loaded the current values, with the changes you made here kept over them: check, then save.' });
  };
  /** A count field's value; text that is no whole number is refused here, at its field (it went as null: "expected number, received null"). */
  const whole = (field: string, label: string, text: string): number => {
    if (!/^\s*\d+\s*$/.test(text)) throw new ApiError(400, 'INVALID_FIELD', `${label} must be a whole number, got ${JSON.stringify(text)}`, field);
    return Number(text);
  };
  // The input the last refusal named (its message is in the form's outcome).
  const refused = outcome?.error instanceof ApiError && outcome.error.field !== undefined ? { input: FIELD_INPUTS[outcome.error.field], form: outcome.form } : null;
  const field = (id: string, label: string, value: string, set: (v: string) => void, hint?: string): JSX.Element => {
    const bad = refused?.input === id;
    const described = [hint ? `${id}-hint` : '', bad ? `${refused!.form}-outcome` : ''].filter((x) => x !== '').join(' ');
    return (
      <div class="field">
        <label for={id}>{label}</label>
        <input id={id} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} aria-invalid={bad ? true : undefined} aria-describedby={described === '' ? undefined : described} />
        {hint ? <p id={`${id}-hint`} class="hint">{hint}</p> : null}
      </div>
    );
  };

  // What the role allows is offered (the API decides): below deployer the settings are shown, not changed.
  const canChange = can('deployer');
  return (
    <div class="settings grid2">
      {!canChange ? <p class="notice span2" data-testid="role-note">Your token's role ({currentSession()?.role}) can read these settings, not change them: that needs the deployer role (deleting the function, the owner role).</p> : null}
      <fieldset class="plain" disabled={!canChange}>
        <form class="card form" aria-label="Limits" onSubmit={(e) => { e.preventDefault(); void patch('limits', () => ({ limits: { timeout: limits.timeout, memory: limits.memory, concurrency: whole('limits.concurrency', 'Concurrency per instance', limits.concurrency), maxInstances: whole('limits.maxInstances', 'Max instances', limits.maxInstances), minWarm: whole('limits.minWarm', 'Min warm', limits.minWarm), maxQueue: whole('limits.maxQueue', 'Max waiting calls', limits.maxQueue) } }), 'Limits saved.'); }}>
          <h2>Limits</h2>
          <div class="fields">
            {field('lim-timeout', 'Timeout', limits.timeout, (v) => setLimits({ ...limits, timeout: v }), 'e.g. 500ms, 30s, 2m')}
            {field('lim-memory', 'Memory', limits.memory, (v) => setLimits({ ...limits, memory: v }), 'e.g. 128Mi, 1Gi')}
            {field('lim-concurrency', 'Concurrency per instance', limits.concurrency, (v) => setLimits({ ...limits, concurrency: v }))}
            {field('lim-max', 'Max instances', limits.maxInstances, (v) => setLimits({ ...limits, maxInstances: v }))}
            {field('lim-minwarm', 'Min warm', limits.minWarm, (v) => setLimits({ ...limits, minWarm: v }), '0 = scale to zero when idle')}
            {field('lim-queue', 'Max waiting calls', limits.maxQueue, (v) => setLimits({ ...limits, maxQueue: v }))}
          </div>
          {status('limits')}
          <button type="submit">Save limits</button>
        </form>
        <form class="card form" aria-label="Retries" onSubmit={(e) => { e.preventDefault(); void patch('retry', () => ({ retry: { maxAttempts: whole('retry.maxAttempts', 'Attempts', retry.maxAttempts), backoff: retry.backoff, maxBackoff: retry.maxBackoff, maxEventAge: retry.maxEventAge } }), 'Retries saved.'); }}>
          <h2>Retries (async, cron, webhooks)</h2>
          <div class="fields">
            {field('re-attempts', 'Attempts', retry.maxAttempts, (v) => setRetry({ ...retry, maxAttempts: v }), '1-10, the first included')}
            {field('re-backoff', 'First backoff', retry.backoff, (v) => setRetry({ ...retry, backoff: v }))}
            {field('re-max', 'Max backoff', retry.maxBackoff, (v) => setRetry({ ...retry, maxBackoff: v }))}
            {field('re-age', 'Give up after', retry.maxEventAge, (v) => setRetry({ ...retry, maxEventAge: v }))}
          </div>
          {status('retry')}
          <button type="submit">Save retries</button>
        </form>
        <form class="card form" aria-label="Environment" noValidate onSubmit={(e) => {
          e.preventDefault();
          setEnvChecked(true);
          const first = envProblems.findIndex((p) => p !== null);
          if (first >= 0) return void document.getElementById(`env-k-${first}`)?.focus();
          void patch('env', { env: envObject(env) }, 'Environment saved.');
        }}>
          <h2>Environment variables</h2>
          {env.length === 0 ? <p class="muted" data-testid="env-empty">No variables. Add one, then save (values are visible to anyone who can read the function: use a secret for a password or a key).</p> : null}
          <p class="hint" data-testid="env-deploy-note">A deploy sets the env to platform.yaml's <code>env</code>: a name saved here and not there is removed with its value (the Deploy dialog names it first). Keep it in platform.yaml, or make it a secret.</p>
          {env.map((r, i) => {
            const problem = envChecked ? envProblems[i] ?? null : null;
            return (
              <div key={i}>
                <div class="row">
                  <label class="visually-hidden" for={`env-k-${i}`}>Name</label>
                  <input id={`env-k-${i}`} placeholder="NAME" value={r.key} aria-invalid={problem !== null ? true : undefined} aria-describedby={problem !== null ? `env-k-${i}-problem` : undefined}
                    onInput={(e) => setEnv(env.map((x, k) => (k === i ? { ...x, key: (e.target as HTMLInputElement).value } : x)))} />
                  <label class="visually-hidden" for={`env-v-${i}`}>Value</label>
                  {/* A value holding a control or bidi character (U+202E reorders how it reads) is shown escaped, not in an
                      input that renders it raw; Edit opens it there (console round 11). */}
                  {r.editing === undefined && inlineText(r.value) !== r.value ? <>
                    <code id={`env-v-${i}`} class="grow env-shown" data-testid="env-value-shown">{inlineText(r.value)}</code>
                    <button type="button" class="small" aria-label={`Edit the value of ${r.key}`} onClick={() => {
                      setEnv(env.map((x, k) => (k === i ? { ...x, editing: LINE_BREAK.test(x.value) ? 'lines' : 'line' } : x)));
                      setTimeout(() => document.getElementById(`env-v-${i}`)?.focus(), 0);
                    }}>Edit</button>
                  </> : r.editing === 'lines' ? (
                    <textarea id={`env-v-${i}`} placeholder="value" class="grow mono env-lines" rows={Math.min(8, r.value.split('\n').length + 1)} value={r.value} spellcheck={false}
                      aria-describedby={r.value.includes('\r') ? `env-v-${i}-cr` : undefined} onInput={(e) => setEnv(env.map((x, k) => (k === i ? { ...x, value: (e.target as HTMLTextAreaElement).value } : x)))} />
                  ) : <input id={`env-v-${i}`} placeholder="value" class="grow" value={r.value} onInput={(e) => setEnv(env.map((x, k) => (k === i ? { ...x, value: (e.target as HTMLInputElement).value } : x)))} />}
                  <button type="button" class="small" aria-label={`Remove ${r.key}`} onClick={() => setEnv(env.filter((_, k) => k !== i))}>✕</button>
                </div>
                {r.editing === 'lines' && r.value.includes('\r') ? <p id={`env-v-${i}-cr`} class="hint">This value holds carriage returns (<code>{'\\r'}</code>): they are kept while it is not changed here; a change made in this box turns them into line breaks (a text box cannot hold them). Set it with <code>fastapi-platform env set</code> or platform.yaml to keep them.</p> : null}
                {problem !== null ? <p id={`env-k-${i}-problem`} class="field-problem" data-testid="env-problem">{problem}</p> : null}
                {problem === null && f.secrets.includes(r.key.trim()) ? <p class="hint">{r.key.trim()} is also a secret: the function gets the secret's value.</p> : null}
              </div>
            );
          })}
          {status('env')}
          <div class="row">
            <button type="button" onClick={() => setEnv([...env, { key: '', value: '' }])}>Add variable</button>
            <button type="submit">Save environment</button>
          </div>
        </form>
        <form class="card form" aria-label="Secrets" onSubmit={(e) => {
          e.preventDefault();
          const secret = secretName.trim();
          if (!ENV_NAME.test(secret)) return void setOutcome({ form: 'secrets', error: new Error(`${secret === '' ? 'Give the secret a name' : `${secret} is not a valid name`}: letters, digits and _, not starting with a digit.`) });
          void patch('secrets', { secrets: { [secret]: secretValue } }, `Secret ${secret} set.`).then((ok) => { if (ok) { setSecretName(''); setSecretValue(''); } });
        }}>
          <h2>Secrets</h2>
          <p class="hint">Write-only: values are encrypted at rest and never shown again. Setting a name that exists replaces its value.</p>
          {f.secrets.length > 0 ? <ul>{f.secrets.map((s) => <li key={s}><code>{s}</code> <button type="button" class="small" aria-label={`Remove secret ${s}`} onClick={() => { if (confirm(removeSecretQuestion(s))) { keepFocusInPlace(); void patch('secrets', { secrets: { [s]: null } }, `Secret ${s} removed.`); } }}>Remove</button></li>)}</ul> : <p class="muted">No secrets.</p>}
          <div class="row">
            <label class="visually-hidden" for="sec-name">Secret name</label>
            <input id="sec-name" placeholder="NAME" value={secretName} onInput={(e) => setSecretName((e.target as HTMLInputElement).value)} />
            <label class="visually-hidden" for="sec-value">Secret value</label>
            <input id="sec-value" type="password" autoComplete="new-password" placeholder="value" value={secretValue} onInput={(e) => setSecretValue((e.target as HTMLInputElement).value)} />
            <button type="submit" disabled={secretName.trim() === ''}>Set secret</button>
          </div>
          {status('secrets')}
        </form>
      </fieldset>
      <fieldset class="plain" disabled={!canChange}>
        <Card title="Contract"><ContractCard contract={fn.contract} asyncUrl={fn.asyncUrl} invocation={fn.function.invocation} /></Card>
        <section class="card form" aria-label="Access">
          <h2>Auth and tokens</h2>
          <fieldset>
            <legend>Who may call it</legend>
            <label class="choice inline"><input type="radio" name="auth" checked={auth === 'public'} onChange={() => setAuth('public')} /> public</label>
            <label class="choice inline"><input type="radio" name="auth" checked={auth === 'token'} onChange={() => setAuth('token')} /> invoke token</label>
          </fieldset>
          <button type="button" onClick={() => void patch('access', { auth }, 'Auth saved.')}>Save auth</button>
          {status('access')}
          {token !== null ? <ShownOnce label="Invoke token" value={token.value} expiresAt={token.expiresAt} /> : null}
          {f.auth === 'token' ? <button type="button" onClick={() => { if (confirm(ROTATE_TOKEN_QUESTION)) void api<{ invokeToken: string; invokeTokenExpiresAt?: number }>('POST', `/functions/${enc(name)}/tokens/rotate`).then(setToken, setError('access')); }}>Rotate invoke token</button> : null}
        </section>
        <section class="card form" aria-label="State">
          <h2>State</h2>
          <p>{f.status === 'paused' ? 'Paused: calls answer 503 FUNCTION_PAUSED.' : 'Active.'}</p>
          {/* In a row: the two buttons touched, Delete function reading as part of Pause. */}
          <div class="row">
            <button type="button" onClick={() => void api('POST', `/functions/${enc(name)}/${f.status === 'paused' ? 'resume' : 'pause'}`, {}).then(reload, setError('state'))}>{f.status === 'paused' ? 'Resume' : 'Pause'}</button>
            {can('owner') ? <button type="button" class="danger" onClick={() => { if (confirm(`Delete ${name} with its versions, runs and tokens?`)) void api('DELETE', `/functions/${enc(name)}`).then(() => navigate(['functions']), setError('state')); }}>Delete function</button> : null}
          </div>
          {status('state')}
        </section>
      </fieldset>
    </div>
  );
}

/*
 * Asked first, as a rollback, a version's delete and the function's delete are: a misclick took
 * effect at once and could not be undone from the page (console round 4). A secret's value is
 * never shown again, so a removed one is typed again from wherever it came from; a rotated invoke
 * token refuses every caller that holds the old one at once (401) until each is given the new one.
 */
function removeSecretQuestion(secret: string): string {
  return `Remove the secret ${secret}? Its value is never shown, so it cannot be put back from here: set it again with its value. Instances started from now on run without it.`;
}

const ROTATE_TOKEN_QUESTION = 'Rotate the invoke token? The current token stops working at once: every caller that sends it is refused (401) until it has the new one, which is shown once.';
