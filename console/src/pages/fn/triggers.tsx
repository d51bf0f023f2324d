/** Triggers: HTTP (URLs, auth), webhooks (URL, style, rotate the secret with a grace period), cron (schedule, time zone, next fire times, missed ticks). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, type Trigger } from '../../api.js';
import { can } from '../../auth.js';
import { Ago } from '../../ago.js';
import { localZone, time, zonedTime } from '../../format.js';
import { href } from '../../router.js';
import { CopyButton, ErrorBox, Loading, ShownOnce, useAsync } from '../../ui.js';
import type { TabProps } from './tab.js';

export function TriggersTab({ name, fn }: TabProps): JSX.Element {
  const list = useAsync(() => api<{ items: Trigger[] }>('GET', `/functions/${enc(name)}/triggers`), [name, fn.function.revision]);
  if (list.data === undefined) return list.error ? <ErrorBox error={list.error} /> : <Loading />;
  const hooks = list.data.items.filter((t) => t.type === 'webhook');
  const crons = list.data.items.filter((t) => t.type === 'cron');
  return (
    <div class="triggers">
      {list.data.items.filter((t) => t.type === 'http').map((t) => (
        <section class="card" key="http" aria-label="HTTP trigger">
          <h2>HTTP</h2>
          {t.invocation !== 'async' ? <p><code>{t.invokeUrl}</code> <CopyButton text={t.invokeUrl} /></p> : null}
          {t.asyncUrl !== undefined ? <p>Async: <code>{t.asyncUrl}</code> <CopyButton text={t.asyncUrl} /></p> : null}
          <p class="muted">Invocation {t.invocation}; auth {t.auth === 'token' ? 'by invoke token' : 'public'}.</p>
        </section>
      ))}
      <section class="card" aria-label="Webhook triggers">
        <h2>Webhooks</h2>
        {hooks.length === 0 ? <p class="muted">None. Declare one in platform.yaml: <code>triggers: [{'{'}type: webhook, id: github{'}'}]</code>, then deploy.</p> : hooks.map((t) => <Webhook key={t.id} name={name} hook={t as Extract<Trigger, { type: 'webhook' }>} reload={list.reload} />)}
        <TriggerLinks name={name} type="webhook" any={hooks.length > 0} />
      </section>
      <section class="card" aria-label="Cron triggers">
        <h2>Cron</h2>
        {crons.length === 0 ? <p class="muted">None. Declare one in platform.yaml: <code>triggers: [{'{'}type: cron, schedule: "0 */5 * * * *"{'}'}]</code>.</p> : crons.map((t) => {
          const c = t as Extract<Trigger, { type: 'cron' }>;
          return (
            <div key={c.id} class="trigger">
              <p><strong>{c.id}</strong> <code>{c.schedule}</code> ({c.timezone}; calls <code data-testid="cron-call">{c.method} {c.path}</code>){c.active ? '' : <span class="badge badge-paused">not firing (paused)</span>}</p>
              <p class="muted">Next fire times, in {c.timezone}{localZone() === c.timezone ? '' : ' (and in this browser\'s time zone)'}:</p>
              <ol data-testid="next-fires">{c.nextFires.map((at) => <li key={at}>{zonedTime(at, c.timezone)}</li>)}</ol>
              {c.missed && c.missed.lastAt !== null ? <p class="hint" data-testid="cron-missed">
                {'Missed ticks: the last at '}{zonedTime(c.missed.lastAt, c.timezone)}{' ('}<Ago at={c.missed.lastAt} />{`); ${c.missed.sinceLastFired === 0 ? 'none' : c.missed.sinceLastFired} since the last tick that fired. The platform was down or stopped before queueing them: `}
                <a href={href(['functions', name, 'runs'], { trigger: 'cron' })}>Runs</a>{' lists them as CRON_TICK_MISSED.'}
              </p> : null}
            </div>
          );
        })}
        <TriggerLinks name={name} type="cron" any={crons.length > 0} />
      </section>
    </div>
  );
}

/**
 * Where a webhook's or a cron trigger's runs are (the Runs tab filtered by the trigger) and where
 * the triggers are changed (platform.yaml, then a deploy): the tab named neither, so seeing what a
 * schedule ran or editing it meant knowing the Runs filter and the manifest (console round 4).
 */
function TriggerLinks({ name, type, any }: { name: string; type: 'webhook' | 'cron'; any: boolean }): JSX.Element {
  return (
    <p class="row" data-testid={`${type}-links`}>
      {any ? <a href={href(['functions', name, 'runs'], { trigger: type })}>{type === 'cron' ? 'Runs started by cron' : 'Runs started by webhooks'}</a> : null}
      {can('deployer') ? <a href={href(['functions', name, 'code'], { file: 'platform.yaml' })}>{any ? 'Edit in platform.yaml' : 'Open platform.yaml'}</a> : null}
    </p>
  );
}

/** The deliveries the platform refused at their signature (no run is made for them; ADR 0208), as the sender saw them: its 401s. */
function RefusedWords({ count, last }: NonNullable<Extract<Trigger, { type: 'webhook' }>['refused']>): JSX.Element {
  const what = last.detail === 'malformed' ? 'a signature header of the wrong shape' : last.detail === 'repeated' ? 'the signature header sent twice' : last.code === 'WEBHOOK_SIGNATURE_INVALID' ? 'a signature that matches no secret in force' : last.code;
  return <>{`${count} ${count === 1 ? 'delivery' : 'deliveries'} refused at the signature since the platform started (no run is made for them); the last `}<Ago at={last.at} />{`: ${what} (${last.code}).`}</>;
}

function Webhook({ name, hook, reload }: { name: string; hook: Extract<Trigger, { type: 'webhook' }>; reload: () => void }): JSX.Element {
  const [grace, setGrace] = useState('1h');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const rotate = async (): Promise<void> => {
    setError(null);
    try {
      setSecret((await api<{ secret: string }>('POST', `/functions/${enc(name)}/triggers/${enc(hook.id)}/secret/rotate`, { grace })).secret);
      reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="trigger">
      <p><strong>{hook.id}</strong> ({hook.style} style{hook.sync ? ', answered sync' : ', queued'}; calls <code data-testid="hook-path">POST {hook.path}</code>)</p>
      <p><code>{hook.url}</code> <CopyButton text={hook.url} /></p>
      {hook.previousSecretValidUntil !== null ? <p class="muted">The previous secret is accepted until {time(hook.previousSecretValidUntil)}.</p> : null}
      {hook.refused ? <p class="hint" data-testid="hook-refused"><RefusedWords {...hook.refused} /></p> : null}
      {!can('deployer') ? null : <>
      {secret === null ? <p class="hint" data-testid="hook-secret-hint">The platform made a signing secret at deploy and never shows it: rotate to get one to give to the sender ({hook.style === 'stripe' ? "the endpoint's signing secret in Stripe" : 'the webhook\'s Secret in GitHub'}). Deliveries signed otherwise are refused.</p> : null}
      <form class="row" aria-label={`Rotate the secret of ${hook.id}`} onSubmit={(e) => { e.preventDefault(); void rotate(); }}>
        <label for={`grace-${hook.id}`}>Grace for the old secret</label>
        <input id={`grace-${hook.id}`} value={grace} size={6} aria-describedby={`grace-${hook.id}-hint`} onInput={(e) => setGrace((e.target as HTMLInputElement).value)} />
        <button type="submit">Rotate secret</button>
      </form>
      <p id={`grace-${hook.id}-hint`} class="hint">How long the old secret still works (e.g. 10m, 1h; 0s ends it at once).</p>
      </>}
      <ErrorBox error={error} />
      {secret !== null ? <ShownOnce label={`Signing secret of ${hook.id}`} value={secret} /> : null}
    </div>
  );
}
