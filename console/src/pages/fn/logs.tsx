/**
 * Logs: one run's logs, or the live tail (live-tail.ts: the platform's log stream), filtered in the
 * page by stream, level (that level or above, as the API's filter) and text. The tail follows its
 * newest line while the view is at its end, and pauses (the lines shown stay put, the new ones are
 * counted) when asked or when the view is scrolled up.
 */
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, enc, type LogLine, type Run, type RunSummary } from '../../api.js';
import { clock, levelText, logText, time } from '../../format.js';
import { atLeast, openTail, type TailLine, type TailState } from '../../live-tail.js';
import { href } from '../../router.js';
import { LOG_LEVELS } from '../../../../protocol/live-logs.js';
import { ErrorBox, useAsync, usePoll } from '../../ui.js';
import type { TabProps } from './tab.js';

const MAX_LINES = 2000;
/** Lines that arrive within this long are shown in one render (a chatty function sent them one message at a time). */
const TAIL_BATCH_MS = 100;
/** The stream filter's choices (`run`: the tail's run ends). */
const STREAMS = ['stdout', 'stderr', 'log', 'run'];
/**
 * How often the run picker's list is read again while the tab is visible and the tail is off; with
 * the tail on, a run's end reads it (at most once a second). It was read once per visit: calls made
 * while the tab was open were not listed until a reload (console round 11).
 */
const RECENT_EVERY_MS = 5000;
const RECENT_AFTER_END_MS = 1000;
/**
 * A screen reader is told of the tail's new lines at most this often, as a count: the lines' box was
 * a live region, so every line of a busy function was read out, one over the other (console round
 * 12). The box itself shows each line at once.
 */
const SAY_EVERY_MS = 5000;
const STATE_TEXT: Record<TailState, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', stopped: 'stopped' };

export function LogsTab({ name, query }: TabProps): JSX.Element {
  const runId = query.get('run');
  const [live, setLive] = useState(false);
  // The live tail keeps its last MAX_LINES lines, and counts what it let go (said above them).
  const [tail, setTail] = useState<{ lines: TailLine[]; dropped: number }>({ lines: [], dropped: 0 });
  // Paused: the tail as it was when paused, shown until Resume (the tail goes on behind it). Console
  // round 5: the tail showed its oldest kept line at the top and never moved, so the newest lines of a
  // chatty function were below the fold, and the text read shifted up as older lines were let go.
  const [paused, setPaused] = useState<{ lines: TailLine[]; dropped: number } | null>(null);
  const logBox = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  const [state, setState] = useState<TailState>('stopped');
  const [error, setError] = useState<unknown>(null);
  // What the tail last said to a screen reader: the lines since the one before, and since the tail started.
  const [said, setSaid] = useState<{ fresh: number; all: number } | null>(null);
  // The stream and level filters live in the URL with the run (`?run=…&level=warning`), as the Runs
  // tab's do: a reload or Back kept the run and lost them (console round 3). A value not offered is none.
  const stream = STREAMS.includes(query.get('stream') ?? '') ? query.get('stream')! : '';
  const level = (LOG_LEVELS as readonly string[]).includes(query.get('level') ?? '') ? query.get('level')! : '';
  const go = (next: { run?: string; stream?: string; level?: string }): void => { location.hash = href(['functions', name, 'logs'], { run: runId ?? undefined, stream, level, ...next }); };
  const [text, setText] = useState('');
  const recent = useAsync(() => api<{ items: RunSummary[] }>('GET', `/runs?function=${enc(name)}&limit=20`), [name]);
  // Read again in place: the list and the run chosen (the URL's) stay while it is read.
  usePoll(recent, live ? null : RECENT_EVERY_MS);
  const one = useAsync(async () => (runId === null ? null : (await api<{ run: Run & { attempts?: { logs?: LogLine[] }[] } }>('GET', `/runs/${enc(runId)}`)).run), [runId]);

  useEffect(() => {
    if (!live) return;
    setTail({ lines: [], dropped: 0 });
    setPaused(null);
    atEnd.current = true;
    setError(null);
    setSaid(null);
    let pending: TailLine[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let listed: ReturnType<typeof setTimeout> | undefined;
    let saying: ReturnType<typeof setTimeout> | undefined;
    let unsaid = 0;
    let all = 0;
    const say = (): void => {
      saying = undefined;
      setSaid({ fresh: unsaid, all });
      unsaid = 0;
    };
    const flush = (): void => {
      timer = undefined;
      const fresh = pending;
      pending = [];
      unsaid += fresh.length;
      all += fresh.length;
      saying ??= setTimeout(say, SAY_EVERY_MS);
      setTail((old) => {
        const all = old.lines.concat(fresh);
        const over = Math.max(0, all.length - MAX_LINES);
        return { lines: over > 0 ? all.slice(over) : all, dropped: old.dropped + over };
      });
    };
    const append = (fresh: TailLine[]): void => {
      pending = pending.concat(fresh);
      timer ??= setTimeout(flush, TAIL_BATCH_MS);
    };
    const tail = openTail(name, {
      onLines: append,
      // A run's end, as a line of its own (stream `run`).
      onEnd: (end) => {
        listed ??= setTimeout(() => { listed = undefined; recent.reload(); }, RECENT_AFTER_END_MS);
        append([{ runId: end.runId, attempt: end.attempt, stream: 'run', ts: Date.now(), msg: `ended ${end.status}${end.errorCode ? ` ${end.errorCode}` : ''}${end.httpStatus !== null ? ` ${end.httpStatus}` : ''}${end.durationMs !== null ? ` ${end.durationMs.toFixed(1)} ms` : ''}` }]);
      },
      onState: (next) => {
        setState(next);
        if (next === 'live') setError(null);
      },
      onError: setError,
    });
    return () => {
      tail.stop();
      if (timer !== undefined) clearTimeout(timer);
      clearTimeout(listed);
      clearTimeout(saying);
      setState('stopped');
    };
  }, [live, name]);

  const shownSource: TailLine[] = live ? (paused ?? tail).lines : runId !== null && one.data ? (one.data.logs ?? one.data.attempts?.flatMap((a) => a.logs ?? []) ?? []).map((l) => ({ ...l, runId })) : [];
  const shown = useMemo(() => shownSource.filter((l) => (stream === '' || l.stream === stream) && (l.stream === 'run' || atLeast(l, level)) && (text === '' || l.msg.toLowerCase().includes(text.toLowerCase()))), [shownSource, stream, level, text]);
  // Following: the newest line in view after each render of the tail, unless paused.
  useLayoutEffect(() => {
    const box = logBox.current;
    if (live && paused === null && atEnd.current && box !== null) box.scrollTop = box.scrollHeight;
  }, [shown, live, paused]);
  const pause = (): void => setPaused((p) => p ?? tail);
  const resume = (): void => {
    atEnd.current = true;
    setPaused(null);
  };
  // Scrolled up while following: paused there, so the lines read stay put.
  const onScroll = (): void => {
    const box = logBox.current;
    if (box === null) return;
    atEnd.current = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
    if (live && !atEnd.current) pause();
  };
  const since = paused === null ? 0 : tail.dropped + tail.lines.length - paused.dropped - paused.lines.length;

  return (
    <div class="logs-tab">
      <div class="toolbar">
        <label class="choice inline"><input type="checkbox" checked={live} onChange={(e) => setLive((e.target as HTMLInputElement).checked)} data-testid="live-tail" /> Live tail</label>
        {live ? <span class="muted" aria-live="polite" data-testid="tail-state">{STATE_TEXT[state]}</span> : null}
        {live ? (paused === null ? <button type="button" class="small" onClick={pause}>Pause tail</button> : <button type="button" class="small" onClick={resume}>Resume tail</button>) : null}
        <label for="log-run">Run</label>
        <select id="log-run" value={runId ?? ''} disabled={live} onChange={(e) => go({ run: (e.target as HTMLSelectElement).value })}>
          <option value="">choose a run</option>
          {/* A run older than the 20 listed (a link from Runs) is still the one shown, so it is an option too. */}
          {runId !== null && !(recent.data?.items ?? []).some((r) => r.runId === runId)
            ? <option value={runId}>{typeof one.data?.startedAt === 'number' ? runChoice({ ...one.data, runId }) : `run ${shortRunId(runId)}`}</option> : null}
          {(recent.data?.items ?? []).map((r) => <option key={r.runId} value={r.runId}>{runChoice(r)}</option>)}
        </select>
        <label for="log-stream">Stream</label>
        <select id="log-stream" value={stream} onChange={(e) => go({ stream: (e.target as HTMLSelectElement).value })}><option value="">all</option><option>stdout</option><option>stderr</option><option value="log">logging</option><option value="run">run ends</option></select>
        <label for="log-level">Level</label>
        <select id="log-level" value={level} onChange={(e) => go({ level: (e.target as HTMLSelectElement).value })}><option value="">any</option>{LOG_LEVELS.map((l) => <option key={l}>{l}</option>)}</select>
        <label for="log-text" class="visually-hidden">Filter text</label>
        <input id="log-text" type="search" placeholder="Filter text" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
      </div>
      <ErrorBox error={error ?? one.error} />
      {live && paused !== null
        ? <p class="notice" data-testid="tail-paused">Paused: the lines below stay put; {since.toLocaleString('en-US')} new {since === 1 ? 'line has' : 'lines have'} arrived since. <button type="button" class="small" onClick={resume}>Resume and show the newest</button></p>
        : null}
      {live && (paused ?? tail).dropped > 0
        ? <p class="muted" data-testid="tail-dropped">The live tail shows its last {MAX_LINES.toLocaleString('en-US')} lines: {(paused ?? tail).dropped.toLocaleString('en-US')} older ones are not kept here (each run's logs have them: choose it under Runs).</p>
        : null}
      {/* The count of new lines, for a screen reader (the box below is not a live region; nor is the paused note, whose count moves with each line). */}
      {live ? <p class="visually-hidden" role="status" data-testid="tail-said">{said === null ? '' : `${said.fresh.toLocaleString('en-US')} new ${said.fresh === 1 ? 'line' : 'lines'} in the live tail${paused !== null ? ', not shown while paused' : ''} (${said.all.toLocaleString('en-US')} since it started).`}</p> : null}
      {shown.length === 0 ? <p class="muted">{live ? (state === 'live' ? 'Live: waiting for lines…' : 'Connecting…') : runId === null ? 'Choose a run, or turn on the live tail.' : one.data === undefined ? (one.error ? '' : "Loading the run's logs…") : 'No lines (or none match the filters).'}</p> : (
        <pre class="out logs" data-testid="logs" ref={logBox} onScroll={onScroll}>
          {shown.map((l, i) => <span key={i} class={`log ${l.stream}`}>{`${clock(l.ts)} ${shortRunId(l.runId)} ${l.stream}${l.level ? ` ${levelText(l.level)}` : ''} ${logText(l.msg)}\n`}</span>)}
        </pre>
      )}
    </div>
  );
}

/** A run as its log lines name it: the id's first 8 characters. */
function shortRunId(runId: string): string {
  return runId.slice(0, 8);
}

/**
 * A run in the picker: when, how it ended, its trigger, and the id its log lines show. Calls in the
 * same second read the same without it (ten runs of "11:02:23 AM · succeeded · http"; console round 8).
 */
function runChoice(r: { startedAt: number; status: string; trigger: string; runId: string }): string {
  return `${time(r.startedAt)} · ${r.status} · ${r.trigger} · ${shortRunId(r.runId)}`;
}
