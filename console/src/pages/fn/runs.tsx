/**
 * Runs: history with status, duration, cold/warm, attempt and trigger; filters; a run's timeline,
 * logs, error (type, cause class, stack), replay (a failed async run), cancel (one waiting in the queue) and "open at error line". `?run=` opens one.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, enc, type AsyncRun, type AsyncRunSummary, type LogLine, type Run, type RunError, type RunSummary, type RunWrite } from '../../api.js';
import { can } from '../../auth.js';
import { clock, inlineText, levelText, logText, ms, resultText, shownText } from '../../format.js';
import { href, navigate } from '../../router.js';
import { ErrorBox, Loading, StateBadge, useAsync, useLoadMoreFocus, usePoll, When } from '../../ui.js';
import type { TabProps } from './tab.js';
import { cancelRun, rowNow, waitingState } from './run-cancel.js';
import { timelineDetailText } from '../../../../protocol/run-timeline.js';
import { FINAL_ASYNC_RUN_STATES } from '../../../../protocol/records.js';
import { asyncStateLost } from '../../../../protocol/api-runs.js';
import { callFailed } from '../../../../protocol/run-outcome.js';

interface Page {
  items: (Run | AsyncRunSummary)[];
  nextCursor: string | null;
}

/** States of async runs not yet finished (or never run): listed from the async run index, in their own shape (ADR 0068). */
const ASYNC_STATES = ['queued', 'running', 'retried', 'cancelled'];
/** How often an async run's detail is read again while it is not finished. */
const RUN_POLL_MS = 2000;

/** Triggers a run can have (the filter's choices). */
const TRIGGERS = ['http', 'async', 'cron', 'webhook', 'test'];

export function RunsTab({ name, query }: TabProps): JSX.Element {
  // The filters live in the URL (`?status=failed&trigger=cron`), as the run shown does: a reload,
  // Back and a shared link keep them (they were the page's state alone: a reload showed every run
  // under a link that named a failed one; console round 3). A value the filter does not offer is none.
  const status = oneOf(query.get('status'), ['succeeded', 'failed', ...ASYNC_STATES]);
  const trigger = oneOf(query.get('trigger'), TRIGGERS);
  const selected = query.get('run');
  const filtered = (next: { status?: string; trigger?: string }): void => navigate(['functions', name, 'runs'], { status, trigger, ...next, run: selected ?? undefined });
  const runLink = (runId: string): string => href(['functions', name, 'runs'], { status, trigger, run: runId });
  const [extra, setExtra] = useState<(Run | AsyncRunSummary)[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<unknown>(null);
  const q = `/runs?function=${enc(name)}&limit=50${status ? `&status=${status}` : ''}${trigger ? `&trigger=${trigger}` : ''}`;
  const page = useAsync(async () => {
    const p = await api<Page>('GET', q);
    setExtra([]);
    setCursor(p.nextCursor);
    return p;
  }, [q]);
  const shown = useRef(q);
  shown.current = q;
  const moreFocus = useLoadMoreFocus();
  const more = async (): Promise<void> => {
    if (cursor === null) return;
    const asked = q;
    moreFocus.pressed();
    setMoreError(null);
    let p: Page;
    try {
      p = await api<Page>('GET', `${q}&cursor=${enc(cursor)}`);
    } catch (err) {
      // Said under the list (the platform stopped, the network gone): it was an unhandled rejection, nothing shown.
      if (shown.current === asked) setMoreError(err);
      return;
    }
    if (shown.current !== asked) return; // the filter changed meanwhile: these are another list's runs (maybe of the other shape)
    moreFocus.added((page.data?.items.length ?? 0) + extra.length, p.nextCursor === null);
    setExtra((e) => [...e, ...p.items]);
    setCursor(p.nextCursor);
  };
  const runs = [...(page.data?.items ?? []), ...extra];
  const asyncState = ASYNC_STATES.includes(status);
  return (
    <div class="runs-tab">
      <div class="toolbar">
        <label for="runs-status">Status</label>
        <select id="runs-status" value={status} onChange={(e) => filtered({ status: (e.target as HTMLSelectElement).value })}>
          <option value="">any</option><option value="succeeded">succeeded</option><option value="failed">failed</option>
          {ASYNC_STATES.map((s) => <option key={s} value={s}>{s} (async)</option>)}
        </select>
        <label for="runs-trigger">Trigger</label>
        <select id="runs-trigger" value={trigger} onChange={(e) => filtered({ trigger: (e.target as HTMLSelectElement).value })}>
          <option value="">any</option>{TRIGGERS.map((t) => <option key={t}>{t}</option>)}
        </select>
        <button type="button" onClick={page.reload}>Refresh</button>
      </div>
      <ErrorBox error={page.error} />
      {/* Keyed by the run: a refused replay's error stayed under the next run opened (console round 7). */}
      {selected !== null ? <RunDetail key={selected} name={name} runId={selected} onChanged={page.reload} /> : null}
      {page.data === undefined ? <Loading what="Loading runs" error={page.error} /> : runs.length === 0 ? <p class="muted">{status ? `No ${status} runs.` : 'No runs yet: invoke it from the Invoke tab.'}</p> : asyncState ? <AsyncRunTable runs={runs as AsyncRunSummary[]} selected={selected} runLink={runLink} table={moreFocus.table} onChanged={page.reload} /> : (
        <div class="table-wrap">
          <table class="list cards flow" aria-label="Runs" ref={moreFocus.table}>
            <thead><tr><th scope="col">Started</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">HTTP</th><th scope="col">Duration</th><th scope="col">Start</th><th scope="col">Attempt</th><th scope="col">Trigger</th><th scope="col">Version</th></tr></thead>
            <tbody>
              {(runs as RunSummary[]).map((r) => (
                <tr key={r.runId} class={r.runId === selected ? 'selected' : ''}>
                  <th scope="row"><a href={runLink(r.runId)}><When at={r.startedAt} /></a></th>
                  <td class="request" data-label="Request" title={requestOf(r)}><code>{requestOf(r)}</code></td>
                  {/* The code of a platform-said failure, as `runs` prints it (FUNCTION_ERROR 500): a raise and the function's own 500 answer both read "failed 500" (console round 7). */}
                  <td data-label="Status"><StateBadge state={r.status} />{r.errorCode !== null ? <> <code class="muted word" data-testid="run-code">{r.errorCode}</code></> : null}</td>
                  <td data-label="HTTP">{r.httpStatus ?? '—'}{r.clientAborted === true ? <ClientLeft /> : null}</td>
                  <td data-label="Duration">{ms(r.durationMs)}</td>
                  <td data-label="Start">{r.cold ? <span class="badge badge-cold">cold{r.initMs > 0 ? ` +${ms(r.initMs)}` : ''}</span> : <span class="badge badge-warm">warm</span>}</td>
                  <td data-label="Attempt">{r.attempt ?? 1}</td>
                  <td data-label="Trigger">{r.trigger}</td>
                  <td data-label="Version">{r.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={moreError} />
      {cursor !== null ? <button type="button" onClick={() => void more()}>Load more</button> : null}
      {!asyncState && status !== 'failed' && (trigger === '' || trigger === 'http') ? <SampledNote /> : null}
    </div>
  );
}

/** `value` when it is one of `allowed`, else `''` (no filter). */
function oneOf(value: string | null, allowed: readonly string[]): string {
  return value !== null && allowed.includes(value) ? value : '';
}

/**
 * Why a busy function lists fewer runs than Usage counts calls, and why a run id from a response
 * header can be not found: of the successful warm HTTP calls, the platform keeps the first of each
 * minute and then a sample (docs/stores.md, "Retention"); every other run has its record. The
 * Runs tab listed 163 runs of 10,000 calls with nothing said (console round 5).
 */
function SampledNote(): JSX.Element {
  return <p class="muted" data-testid="runs-sampled">Every failed, cold, async, cron, webhook and test run is kept. Of the successful warm HTTP calls, only the first ones of each minute and then a sample are (the platform's <code>FP_RUN_KEEP_PER_MINUTE</code> and <code>FP_RUN_SAMPLE_ONE_IN</code>): the others are counted in Usage, with no run to show.</p>;
}

/**
 * Why a run with no error failed: the function answered 5xx itself, which counts as a failed call
 * (ADR 0185) in the error rate, the failed filter and `runs --status failed`; or an attempt of a
 * queued run answered 4xx, which fails it (protocol/run-outcome.ts). The detail said "failed" and
 * nothing else (console round 7).
 */
function AnsweredFailure({ status }: { status: number }): JSX.Element {
  if (status < 500) return <p class="notice" data-testid="run-answered-4xx">The function answered HTTP {status} itself (no exception): an attempt of an async run that answers 4xx fails it, and it is not retried (but for 408 and 429). Its logs below may say why.</p>;
  return <p class="notice" data-testid="run-answered-5xx">The function answered HTTP {status} itself (no exception): a 5xx answer counts as a failed run, in the error rate and the failed filter. Its logs below may say why.</p>;
}

/** A run whose caller hung up before the whole answer was sent, as the CLI says it (`runs`). */
function ClientLeft() {
  return <span class="muted" data-testid="client-left" title="the caller hung up before the whole answer was sent"> · client went away</span>;
}

/**
 * Async runs in one state: no version, status or timings before an attempt ran. A run still waiting
 * in the queue has its Cancel at its row (`invoker` and above; console round 9: it was only in the
 * run's detail), its refusal said under that row; `onChanged` reads the list again once one is cancelled.
 */
function AsyncRunTable({ runs, selected, runLink, table, onChanged }: { runs: AsyncRunSummary[]; selected: string | null; runLink: (runId: string) => string; table: { current: HTMLTableElement | null }; onChanged: () => void }): JSX.Element {
  const cancels = can('invoker') && runs.some((r) => waitingState(r.state) !== null);
  return (
    <div class="table-wrap">
      <table class="list cards flow" aria-label="Async runs" ref={table}>
        <thead><tr><th scope="col">Queued</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Attempts</th><th scope="col">Trigger</th>{cancels ? <th scope="col"><span class="visually-hidden">Cancel</span></th> : null}</tr></thead>
        <tbody>
          {runs.map((r) => <AsyncRunRow key={r.runId} run={r} selected={r.runId === selected} link={runLink(r.runId)} cancels={cancels} onChanged={onChanged} />)}
        </tbody>
      </table>
    </div>
  );
}

function AsyncRunRow({ run: listed, selected, link, cancels, onChanged }: { run: AsyncRunSummary; selected: boolean; link: string; cancels: boolean; onChanged: () => void }): JSX.Element {
  const [error, setError] = useState<unknown>(null);
  // The run as read again after a refused Cancel; the list's own row once that is as new.
  const [now, setNow] = useState<Pick<AsyncRunSummary, 'state' | 'updatedAt' | 'attempts'> | null>(null);
  const r = now !== null && now.updatedAt >= listed.updatedAt ? { ...listed, ...now, attempts: Math.max(listed.attempts, now.attempts) } : listed;
  const waiting = waitingState(r.state);
  const cancel = async (): Promise<void> => {
    if (waiting === null) return;
    const outcome = await cancelRun(r.runId, waiting, setError);
    // Cancelled: the list is read again (the row goes). Refused (it started or ended meanwhile):
    // the row stays, with why under it, and shows what the run is now (it kept its old state and Cancel).
    if (outcome === 'cancelled') onChanged();
    else if (outcome === 'refused') setNow(await rowNow(r.runId));
  };
  return (
    <>
      <tr class={selected ? 'selected' : ''}>
        <th scope="row"><a href={link}><When at={r.acceptedAt} /></a></th>
        <td data-label="State"><StateBadge state={r.state} /></td>
        <td data-label="Since"><When at={r.updatedAt} /></td>
        <td data-label="Attempts">{r.attempts}</td>
        <td data-label="Trigger">{r.trigger}</td>
        {cancels ? <td>{waiting !== null ? <button type="button" class="small danger" onClick={() => void cancel()} aria-label={`Cancel run ${r.runId}`} data-testid="cancel-row">Cancel</button> : null}</td> : null}
      </tr>
      {error !== null ? <tr data-testid="cancel-row-error"><td colSpan={cancels ? 6 : 5}><ErrorBox error={error} /></td></tr> : null}
    </>
  );
}

type RunAnswer = { run: Run | AsyncRun };

function isAsync(run: Run | AsyncRun): run is AsyncRun {
  return 'transitions' in run;
}

/** `GET /items/3` (a caller's path, so its controls shown escaped), or — for a record written before runs kept it. */
/** `GET /items?q=1&api_key=***`: the query as the run record keeps it, a value that may be a credential masked by the gateway (ADR 0251). */
function requestOf(r: { method?: string; path?: string; query?: string }): string {
  return r.method !== undefined && r.path !== undefined ? shownText(`${r.method} ${r.path}${r.query !== undefined ? `?${r.query}` : ''}`) : '—';
}

/** `onChanged`: the list of runs has a run more (a replay) or a run that ended while shown. */
export function RunDetail({ name, runId, onChanged }: { name: string; runId: string; onChanged?: () => void }): JSX.Element {
  const run = useAsync(() => api<RunAnswer>('GET', `/runs/${enc(runId)}`), [runId]);
  const [error, setError] = useState<unknown>(null);
  // An async run not finished yet is read again until it is: its timeline stayed at "queued" or
  // "retried" (a retry's backoff is up to minutes) until Refresh was clicked (console round 4).
  const unfinished = run.data !== undefined && isAsync(run.data.run) && !(FINAL_ASYNC_RUN_STATES as readonly string[]).includes(run.data.run.state);
  usePoll(run, unfinished ? RUN_POLL_MS : null);
  // Once it ends, the list beside it is read again: the run's row appears (a queued run is listed when it ends).
  const wasUnfinished = useRef(false);
  useEffect(() => {
    if (wasUnfinished.current && !unfinished && run.data !== undefined) onChanged?.();
    wasUnfinished.current = unfinished;
  }, [unfinished, run.data]);
  if (run.data === undefined) return <section class="card">{run.error ? <><ErrorBox error={run.error} />{(run.error as { code?: string }).code === 'RUN_NOT_FOUND' ? <SampledNote /> : null}</> : <Loading what="Loading the run" />}</section>;
  const r = run.data.run;
  const async = isAsync(r);
  const last = async ? r.attempts[r.attempts.length - 1] : r;
  const err: RunError | null = last?.error ?? null;
  const logs: LogLine[] = async ? r.attempts.flatMap((a) => a.logs ?? []) : r.logs ?? [];
  const failed = async ? r.state === 'failed' : r.status === 'failed';
  // Its async state lost (ADR 0193): no timeline, no acceptance time; its request went with it, so
  // the API refuses a replay (RUN_NOT_REPLAYABLE). Replay was offered and answered RUN_NOT_FOUND.
  const lost = async && asyncStateLost(r);
  // A run still waiting in the queue (queued, or backing off after a failed attempt) can be taken out
  // of it, as `runs cancel` does; the console could not (console round 8): a call queued by mistake
  // behind a slow one waited its turn. One that started meanwhile is refused (RUN_NOT_CANCELLABLE),
  // said under the run.
  const waiting = async ? waitingState(r.state) : null;
  const cancellable = waiting !== null && !lost && can('invoker');
  const cancel = async (): Promise<void> => {
    if (waiting === null || await cancelRun(runId, waiting, setError) === 'dismissed') return;
    run.reload(); // cancelled (final: the list beside it is read again), or what it became meanwhile
  };
  const replay = async (): Promise<void> => {
    setError(null);
    try {
      const answer = await api<{ runId: string }>('POST', `/runs/${enc(runId)}/replay`);
      onChanged?.();
      navigate(['functions', name, 'runs'], { run: answer.runId });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="card run-detail" aria-label={`Run ${runId}`} data-testid="run-detail">
      <div class="row">
        <h2>Run <code>{runId}</code></h2>
        <StateBadge state={async ? r.state : r.status} />
        {!async ? <span data-testid="run-http">HTTP {r.httpStatus}</span> : null}
        {!async && r.clientAborted === true ? <ClientLeft /> : null}
        {last !== undefined && requestOf(last) !== '—' ? <code data-testid="run-request">{requestOf(last)}</code> : null}
        <span class="spacer" />
        {async && failed && !lost && can('invoker') ? <button type="button" onClick={() => void replay()} data-testid="replay">Replay</button> : null}
        {cancellable ? <button type="button" class="danger" onClick={() => void cancel()} data-testid="cancel-run">Cancel run</button> : null}
        {err?.file !== undefined ? <a class="button" href={href(['functions', name, 'code'], { file: err.file, line: err.line })} data-testid="open-at-line">Open {inlineText(err.file)}:{err.line}</a> : null}
        <button type="button" class="small" onClick={run.reload}>Refresh</button>
      </div>
      <ErrorBox error={error} />
      {lost ? <p class="notice" data-testid="run-state-lost">This run's queued state was lost (the async store lost its data, or it was pruned before the run's records): its timeline, result and request are not kept. It is final, as its last attempt ended, and cannot be replayed: call the function again to run it again.</p> : null}
      {last !== undefined && failed && err === null && last.httpStatus !== undefined && callFailed({ httpStatus: last.httpStatus, errored: false, queued: async }) ? <AnsweredFailure status={last.httpStatus} /> : null}
      <Timeline run={r} />
      <Writes attempts={async ? r.attempts : [{ ...r, attempt: 1 }]} />
      {err !== null ? (
        <div class="run-error" data-testid="run-error">
          <p><strong data-testid="error-type">{inlineText(err.type)}</strong>: <span data-testid="error-message">{shownText(err.message)}</span></p>
          <p class="muted">Code <code>{last?.errorCode ?? '—'}</code> · cause <code>{last?.errorClass ?? '—'}</code>{err.file ? ` · at ${inlineText(err.file)}:${err.line}` : ''}</p>
          {err.stack ? <details open><summary>Stack trace</summary><pre class="out">{shownText(err.stack)}</pre></details> : null}
        </div>
      ) : null}
      {async && r.result !== null ? <details><summary>Result (HTTP {r.result.status}, attempt {r.result.attempt})</summary><pre class="out">{resultText(r.result)}</pre></details> : null}
      <h3>Logs</h3>
      <LogView lines={logs} />
    </section>
  );
}

function Timeline({ run }: { run: Run | AsyncRun }): JSX.Element {
  if (isAsync(run)) {
    const t0 = run.transitions[0]?.at ?? run.acceptedAt ?? 0;
    return (
      <ol class="timeline" aria-label="Timeline">
        {run.transitions.map((t, i) => (
          <li key={i}><span class="t">+{ms(t.at - t0)}</span> <StateBadge state={t.state} /> <span title={t.detail ?? ''}>{timelineDetailText(t.detail)}</span></li>
        ))}
        {run.attempts.map((a) => (
          <li key={`a${a.attempt}`} class="muted">attempt {a.attempt}: {a.status}{a.httpStatus !== undefined ? ` (HTTP ${a.httpStatus})` : ''} in {ms(a.durationMs)}, {a.cold ? `cold (init ${ms(a.initMs)})` : 'warm'}, version {a.version}</li>
        ))}
        {run.replayOf !== null ? <li>replay of <code>{run.replayOf}</code></li> : null}
      </ol>
    );
  }
  const total = Math.max(run.durationMs, 0.001);
  const parts: [string, number][] = [['queued', run.queuedMs], ['init', run.initMs], ['handler', run.handlerMs]];
  return (
    <div class="timeline-bar" aria-label={`Timeline: ${parts.map(([k, v]) => `${k} ${ms(v)}`).join(', ')}, total ${ms(run.durationMs)}`}>
      {parts.map(([k, v]) => (v > 0 ? <span key={k} class={`seg seg-${k}`} style={{ width: `${Math.max(2, (v / total) * 100)}%` }} title={`${k} ${ms(v)}`}>{k} {ms(v)}</span> : null))}
      <span class="muted"> total {ms(run.durationMs)} · {run.cold ? `cold (${run.start})` : 'warm'}</span>
    </div>
  );
}

/**
 * What the run wrote through its data binding, per collection and attempt (`runs <id> --writes`);
 * nothing for a function without a binding (no `writes` at all).
 */
function Writes({ attempts }: { attempts: readonly { attempt: number; writes?: RunWrite[] }[] }): JSX.Element | null {
  const bound = attempts.filter((a) => a.writes !== undefined);
  if (bound.length === 0) return null;
  const rows = bound.flatMap((a) => a.writes!.map((w) => ({ attempt: a.attempt, ...w })));
  const several = attempts.length > 1;
  return (
    <>
      <h3>Writes</h3>
      {rows.length === 0 ? <p class="muted" data-testid="writes">Wrote nothing through its database binding.</p> : (
        <div class="table-wrap"><table class="list" aria-label="Writes" data-testid="writes">
          <thead><tr>{several ? <th>Attempt</th> : null}<th>Database</th><th>Collection</th><th>Inserted</th><th>Updated</th><th>Deleted</th><th>Upserted</th></tr></thead>
          <tbody>
            {rows.map((w) => (
              <tr key={`${w.attempt} ${w.database} ${w.collection}`}>{several ? <td>{w.attempt}</td> : null}<td>{inlineText(w.database)}</td><td>{inlineText(w.collection)}</td><td>{w.inserted}</td><td>{w.updated}</td><td>{w.deleted}</td><td>{w.upserted}</td></tr>
            ))}
          </tbody>
        </table></div>
      )}
    </>
  );
}

/** Log lines as text (never HTML): time, stream, level, message. */
export function LogView({ lines }: { lines: readonly LogLine[] }): JSX.Element {
  if (lines.length === 0) return <p class="muted">No log lines.</p>;
  return (
    <pre class="out logs" data-testid="logs">
      {lines.map((l, i) => <span key={i} class={`log ${l.stream}`}>{`${clock(l.ts)} ${l.stream}${l.level ? ` ${levelText(l.level)}` : ''} ${logText(l.msg)}\n`}</span>)}
    </pre>
  );
}
