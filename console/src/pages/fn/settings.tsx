/**
 * Settings: limits, retries, auth, env vars, secrets (write-only: names shown, values never read
 * back), pause/resume, invoke-token rotation, delete. Changes go through `PATCH /functions/:name`.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, type FnAnswer } from '../../api.js';
import { ContractCard } from '../../contract.js';
import { duration, memory } from '../../format.js';
import { navigate } from '../../router.js';
import { Card, ErrorBox, ShownOnce } from '../../ui.js';
import type { TabProps } from './tab.js';

type Row = { key: string; value: string };

export function SettingsTab({ name, fn, reload }: TabProps): JSX.Element {
  const f = fn.function;
  const [limits, setLimits] = useState({ timeout: duration(f.limits.timeoutMs), memory: memory(f.limits.memoryBytes), concurrency: String(f.limits.concurrency), maxInstances: String(f.limits.maxInstances), minWarm: String(f.limits.minWarm), maxQueue: String(f.limits.maxQueue) });
  const [retry, setRetry] = useState({ maxAttempts: String(f.retry.maxAttempts), backoff: duration(f.retry.backoffBaseMs), maxBackoff: duration(f.retry.backoffMaxMs), maxEventAge: duration(f.retry.maxEventAgeMs) });
  const [auth, setAuth] = useState(f.auth);
  const [env, setEnv] = useState<Row[]>(Object.entries(f.env).map(([key, value]) => ({ key, value })));
  const [secretName, setSecretName] = useState('');
  const [secretValue, setSecretValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  const [token, setToken] = useState<string | null>(null);

  const patch = async (body: Record<string, unknown>, what: string): Promise<void> => {
    setError(null);
    setSaved('');
    try {
      const answer = await api<FnAnswer>('PATCH', `/functions/${enc(name)}`, body);
      if (answer.invokeToken !== undefined) setToken(answer.invokeToken);
      setSaved(`${what} saved`);
      reload();
    } catch (err) {
      setError(err);
    }
  };
  const num = (s: string): number => Number(s);
  const field = (id: string, label: string, value: string, set: (v: string) => void, hint?: string): JSX.Element => (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint ? <p id={`${id}-hint`} class="hint">{hint}</p> : null}
    </div>
  );

  return (
    <div class="settings grid2">
      <div>
        <p aria-live="polite" class="ok">{saved}</p>
        <ErrorBox error={error} />
        {token !== null ? <ShownOnce label="Invoke token" value={token} /> : null}
        <form class="card form" aria-label="Limits" onSubmit={(e) => { e.preventDefault(); void patch({ limits: { timeout: limits.timeout, memory: limits.memory, concurrency: num(limits.concurrency), maxInstances: num(limits.maxInstances), minWarm: num(limits.minWarm), maxQueue: num(limits.maxQueue) } }, 'Limits'); }}>
          <h3>Limits</h3>
          <div class="fields">
            {field('lim-timeout', 'Timeout', limits.timeout, (v) => setLimits({ ...limits, timeout: v }), 'e.g. 500ms, 30s, 2m')}
            {field('lim-memory', 'Memory', limits.memory, (v) => setLimits({ ...limits, memory: v }), 'e.g. 128Mi, 1Gi')}
            {field('lim-concurrency', 'Concurrency per instance', limits.concurrency, (v) => setLimits({ ...limits, concurrency: v }))}
            {field('lim-max', 'Max instances', limits.maxInstances, (v) => setLimits({ ...limits, maxInstances: v }))}
            {field('lim-minwarm', 'Min warm', limits.minWarm, (v) => setLimits({ ...limits, minWarm: v }), '0 = scale to zero when idle')}
            {field('lim-queue', 'Max waiting calls', limits.maxQueue, (v) => setLimits({ ...limits, maxQueue: v }))}
          </div>
          <button type="submit">Save limits</button>
        </form>
        <form class="card form" aria-label="Retries" onSubmit={(e) => { e.preventDefault(); void patch({ retry: { maxAttempts: num(retry.maxAttempts), backoff: retry.backoff, maxBackoff: retry.maxBackoff, maxEventAge: retry.maxEventAge } }, 'Retries'); }}>
          <h3>Retries (async, cron, webhooks)</h3>
          <div class="fields">
            {field('re-attempts', 'Attempts', retry.maxAttempts, (v) => setRetry({ ...retry, maxAttempts: v }), '1-10, the first included')}
            {field('re-backoff', 'First backoff', retry.backoff, (v) => setRetry({ ...retry, backoff: v }))}
            {field('re-max', 'Max backoff', retry.maxBackoff, (v) => setRetry({ ...retry, maxBackoff: v }))}
            {field('re-age', 'Give up after', retry.maxEventAge, (v) => setRetry({ ...retry, maxEventAge: v }))}
          </div>
          <button type="submit">Save retries</button>
        </form>
        <form class="card form" aria-label="Environment" onSubmit={(e) => { e.preventDefault(); void patch({ env: Object.fromEntries(env.filter((r) => r.key.trim() !== '').map((r) => [r.key.trim(), r.value])) }, 'Environment'); }}>
          <h3>Environment variables</h3>
          {env.map((r, i) => (
            <div class="row" key={i}>
              <label class="visually-hidden" for={`env-k-${i}`}>Name</label>
              <input id={`env-k-${i}`} placeholder="NAME" value={r.key} onInput={(e) => setEnv(env.map((x, k) => (k === i ? { ...x, key: (e.target as HTMLInputElement).value } : x)))} />
              <label class="visually-hidden" for={`env-v-${i}`}>Value</label>
              <input id={`env-v-${i}`} placeholder="value" class="grow" value={r.value} onInput={(e) => setEnv(env.map((x, k) => (k === i ? { ...x, value: (e.target as HTMLInputElement).value } : x)))} />
              <button type="button" class="small" aria-label={`Remove ${r.key}`} onClick={() => setEnv(env.filter((_, k) => k !== i))}>✕</button>
            </div>
          ))}
          <div class="row">
            <button type="button" onClick={() => setEnv([...env, { key: '', value: '' }])}>Add variable</button>
            <button type="submit">Save environment</button>
          </div>
        </form>
        <section class="card form" aria-label="Secrets">
          <h3>Secrets</h3>
          <p class="hint">Write-only: values are encrypted at rest and never shown again.</p>
          <ul>{f.secrets.map((s) => <li key={s}><code>{s}</code> <button type="button" class="small" onClick={() => void patch({ secrets: { [s]: null } }, `Secret ${s} removed;`)}>Remove</button></li>)}</ul>
          <div class="row">
            <label class="visually-hidden" for="sec-name">Secret name</label>
            <input id="sec-name" placeholder="NAME" value={secretName} onInput={(e) => setSecretName((e.target as HTMLInputElement).value)} />
            <label class="visually-hidden" for="sec-value">Secret value</label>
            <input id="sec-value" type="password" autoComplete="new-password" placeholder="value" value={secretValue} onInput={(e) => setSecretValue((e.target as HTMLInputElement).value)} />
            <button type="button" disabled={secretName === ''} onClick={() => { void patch({ secrets: { [secretName]: secretValue } }, `Secret ${secretName}`); setSecretValue(''); }}>Set</button>
          </div>
        </section>
      </div>
      <div>
        <Card title="Contract"><ContractCard contract={fn.contract} asyncUrl={fn.asyncUrl} /></Card>
        <section class="card form" aria-label="Access">
          <h3>Auth and tokens</h3>
          <fieldset>
            <legend>Who may call it</legend>
            <label class="choice inline"><input type="radio" name="auth" checked={auth === 'public'} onChange={() => setAuth('public')} /> public</label>
            <label class="choice inline"><input type="radio" name="auth" checked={auth === 'token'} onChange={() => setAuth('token')} /> invoke token</label>
          </fieldset>
          <button type="button" onClick={() => void patch({ auth }, 'Auth')}>Save auth</button>
          {f.auth === 'token' ? <button type="button" onClick={() => void api<{ invokeToken: string }>('POST', `/functions/${enc(name)}/tokens/rotate`).then((a) => setToken(a.invokeToken), setError)}>Rotate invoke token</button> : null}
        </section>
        <section class="card form" aria-label="State">
          <h3>State</h3>
          <p>{f.status === 'paused' ? 'Paused: calls answer 503 FUNCTION_PAUSED.' : 'Active.'}</p>
          <button type="button" onClick={() => void api('POST', `/functions/${enc(name)}/${f.status === 'paused' ? 'resume' : 'pause'}`, {}).then(reload, setError)}>{f.status === 'paused' ? 'Resume' : 'Pause'}</button>
          <button type="button" class="danger" onClick={() => { if (confirm(`Delete ${name} with its versions, runs and tokens?`)) void api('DELETE', `/functions/${enc(name)}`).then(() => navigate(['functions']), setError); }}>Delete function</button>
        </section>
      </div>
    </div>
  );
}
