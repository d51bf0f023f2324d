/** A function's page: header (state, version, URL, pause/resume) and the tabs of the product brief. */
import type { JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { api, ApiError, enc, type FnAnswer, type Usage } from '../../api.js';
import { can } from '../../auth.js';
import { href } from '../../router.js';
import { CopyButton, ErrorBox, functionState, Loading, StateBadge, Tabs, useAsync, usePoll } from '../../ui.js';
import { CodeTab } from './code.js';
import { DataTab } from './data.js';
import { InvokeTab } from './invoke.js';
import { LogsTab } from './logs.js';
import { RunsTab } from './runs.js';
import { SettingsTab } from './settings.js';
import { TriggersTab } from './triggers.js';
import { UsageTab } from './usage.js';
import type { TabProps } from './tab.js';

export type { TabProps } from './tab.js';

const TABS: [string, string, (p: TabProps) => JSX.Element][] = [
  ['code', 'Code', CodeTab],
  ['invoke', 'Invoke', InvokeTab],
  ['triggers', 'Triggers', TriggersTab],
  ['runs', 'Runs', RunsTab],
  ['logs', 'Logs', LogsTab],
  ['settings', 'Settings', SettingsTab],
  ['data', 'Data', DataTab],
  ['usage', 'Usage', UsageTab],
];

export function FunctionDetail({ name, tab, query }: { name: string; tab: string; query: URLSearchParams }): JSX.Element {
  const fn = useAsync(() => api<FnAnswer>('GET', `/functions/${enc(name)}`), [name]);
  // The 5 s poll also notices the function deleted elsewhere (another tab, the CLI): then the page
  // says so; and the platform not answering: then the header says that, not a state it cannot know
  // (it said `cold`, the warm instances gone, while the platform was stopped).
  // The same poll reads the function's revision: a deploy, rollback, pause or settings change made
  // elsewhere (the CLI, another tab) is shown without a reload. The header and the Code tab kept the
  // version they first read as the active one, with "Deploy v49" offered on the version serving
  // (console round 5). The function is read again only when its revision moved.
  const revision = useRef<number | undefined>(undefined);
  revision.current = fn.data?.function.revision;
  const live = useAsync(() => {
    if (revision.current !== undefined) {
      void api<FnAnswer>('GET', `/functions/${enc(name)}`).then((now) => {
        if (revision.current !== undefined && now.function.revision !== revision.current) fn.reload();
      }, () => undefined);
    }
    return api<Usage>('GET', `/functions/${enc(name)}/usage?window=1m`).catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'FUNCTION_NOT_FOUND') fn.reload();
      if (err instanceof ApiError && err.code === 'NETWORK') throw err;
      return null;
    });
  }, [name]);
  const [actionError, setActionError] = useState<unknown>(null);
  usePoll(live, 5000);
  if (fn.error instanceof ApiError && fn.error.code === 'FUNCTION_NOT_FOUND') {
    return (
      <div class="page" data-testid="function-gone">
        <h1>{name}</h1>
        <ErrorBox error={fn.error} />
        <p>{fn.data !== undefined ? 'It was deleted (in another tab or by the CLI) while this page was open.' : 'There is no function of this name in this workspace.'} <a href={href(['functions'])}>Back to the functions</a></p>
      </div>
    );
  }
  if (fn.data === undefined) return <div class="page">{fn.error ? <ErrorBox error={fn.error} /> : <Loading />}</div>;
  const f = fn.data.function;
  const unreachable = live.error instanceof ApiError && live.error.code === 'NETWORK';
  const state = unreachable ? 'unknown' : functionState(f, live.data?.state ?? undefined);
  const toggle = async (): Promise<void> => {
    setActionError(null);
    try {
      await api('POST', `/functions/${enc(name)}/${f.status === 'paused' ? 'resume' : 'pause'}`, {});
      fn.reload();
      live.reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const current = TABS.find(([id]) => id === tab) ?? TABS[0]!;
  const Panel = current[2];
  return (
    <div class="page">
      <div class="page-head fn-head">
        <div>
          <h1>{f.name}</h1>
          <div class="meta">
            <StateBadge state={state} />
            {/* Not deployed: the badge says so (it was said twice, side by side). */}
            {f.activeVersion === null ? null : <span>version {f.activeVersion}</span>}
            <span>{f.preset} · {f.invocation} · {f.auth}</span>
            {live.data && !unreachable ? <span>{live.data.warmInstances} warm</span> : null}
          </div>
          {/* The URL that takes its calls: an async-only function answers 409 at /fn/ (docs/adr/0046-invocation-mode.md). */}
          {f.invocation === 'async' && fn.data.asyncUrl !== undefined
            ? <div class="meta url"><code>{fn.data.asyncUrl}</code> <CopyButton text={fn.data.asyncUrl} label="Copy URL" /> <span class="muted">(POST: queued runs)</span></div>
            : <div class="meta url"><code>{fn.data.invokeUrl}</code> <CopyButton text={fn.data.invokeUrl} label="Copy URL" /></div>}
        </div>
        <div class="actions">
          {can('deployer') ? <button type="button" onClick={toggle} data-testid="pause-toggle">{f.status === 'paused' ? 'Resume' : 'Pause'}</button> : null}
        </div>
      </div>
      {unreachable ? (
        <p class="notice" role="status" data-testid="platform-unreachable">
          <code>NETWORK</code> The platform does not answer (stopped, or the network is down): what this page shows is from before, and it tries again every 5 seconds.
        </p>
      ) : null}
      <ErrorBox error={actionError} />
      <Tabs label="Function" current={current[0]} tabs={TABS.map(([id, label]) => ({ id, label, href: href(['functions', name, id]) }))} />
      <section id="tabpanel" role="tabpanel" aria-labelledby={`tab-${current[0]}`} class="tabpanel">
        <Panel name={name} fn={fn.data} reload={fn.reload} query={query} />
      </section>
    </div>
  );
}
