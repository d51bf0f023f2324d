/**
 * Small shared pieces. Everything a function produced (names, logs, bodies, error messages) is put
 * on the page as text — JSX children and attribute values, which Preact sets as text nodes and
 * properties — never as HTML: no `dangerouslySetInnerHTML` anywhere in the console, and no
 * function-provided string in an `href` (tests/e2e/console-xss checks the page stays inert).
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { keepTabInside } from './focus-trap.js';
import { shownText, time } from './format.js';

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /**
   * Whether a read is asked for and not answered yet, from the moment `reload` is called: `loading`
   * is a render's, and turns true only once the render and its effect ran (a poll's next tick could
   * come first: console round 12).
   */
  onItsWay: () => boolean;
}

/**
 * Runs `load` when `deps` change (and on `reload`); the latest call wins. A reload keeps the data
 * shown until the new answer; new `deps` drop it at once, so nothing loaded for other deps (another
 * run, another filter) is ever shown under the new ones, nor left beside their error.
 */
/** How often a read the platform did not answer is tried again (the function header's poll is as often). */
const NETWORK_RETRY_MS = 5000;

export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): AsyncState<T> {
  // The state holds the deps it was loaded for: a render with new deps comes before the effect
  // that loads them, and must not get the old deps' data as theirs (the Runs tab switched to an
  // async state rendered the sync runs it still held as async runs, and threw on their missing
  // `state`, when runs were listed before the switch).
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean; deps: readonly unknown[] | null }>({ data: undefined, error: null, loading: true, deps: null });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  const asked = useRef(true);
  useEffect(() => {
    const mine = ++seq.current;
    asked.current = true;
    setState((s) => (s.deps !== null && !sameDeps(s.deps, deps) ? { data: undefined, error: null, loading: true, deps } : { ...s, loading: true, deps }));
    const answered = (): boolean => {
      if (mine !== seq.current) return false;
      asked.current = false;
      return true;
    };
    load().then(
      (data) => answered() && setState({ data, error: null, loading: false, deps }),
      (error: unknown) => answered() && setState((s) => ({ data: s.data, error, loading: false, deps })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps -- deps are the caller's
  }, [...deps, tick]);
  const reload = useCallback(() => {
    asked.current = true;
    setTick((t) => t + 1);
  }, []);
  const onItsWay = useCallback(() => asked.current, []);
  // A read the platform did not answer (stopped, restarting, the network gone) is tried again until
  // it answers: the page's NETWORK error stayed under a header that had come back, until Refresh
  // was clicked, on every page but the function header's own poll (console round 7).
  const unanswered = state.error instanceof ApiError && state.error.code === 'NETWORK';
  useInterval(reload, unanswered ? NETWORK_RETRY_MS : null);
  if (state.deps !== null && !sameDeps(state.deps, deps)) return { data: undefined, error: null, loading: true, reload, onItsWay };
  return { data: state.data, error: state.error, loading: state.loading, reload, onItsWay };
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((d, i) => Object.is(d, b[i]));
}

/**
 * Keeps a keyboard user's place at a list's **Load more**: the page that ends the list takes the
 * button away, and the focus on it fell to the page's top (Tab started over from the header, 50
 * rows above; console round 8). `pressed()` when the button is pressed; `added(index, last)` once
 * the rows from `index` on are in the list, `last` when no more are: the focus, if the button had
 * it, goes to the first added row's link (or its first cell). While the button stays,
 * the focus stays on it.
 */
export function useLoadMoreFocus(): { table: { current: HTMLTableElement | null }; pressed: () => void; added: (index: number, last: boolean) => void } {
  const table = useRef<HTMLTableElement | null>(null);
  const hadFocus = useRef(false);
  const [row, setRow] = useState<number | null>(null);
  useEffect(() => {
    if (row === null) return;
    setRow(null);
    const added = table.current?.tBodies[0]?.rows[row];
    if (added === undefined) return;
    // Its link, or its first cell (a row of text only: an audit entry), focusable from the script only.
    let target = added.querySelector<HTMLElement>('a[href], button');
    if (target === null && added.cells[0] !== undefined) {
      target = added.cells[0];
      target.tabIndex = -1;
    }
    target?.focus();
  }, [row]);
  return {
    table,
    pressed: () => { hadFocus.current = document.activeElement instanceof HTMLButtonElement; },
    added: (index, last) => {
      if (last && hadFocus.current) setRow(index);
      hadFocus.current = false;
    },
  };
}

/**
 * Calls `fn` every `ms` while the page is visible, and at once when the tab comes back after a call
 * it skipped while hidden (the list or the run then showed what it was when the tab was left, for up
 * to `ms` more: console round 12).
 */
export function useInterval(fn: () => void, ms: number | null): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (ms === null) return;
    let skipped = false;
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
      else skipped = true;
    }, ms);
    const back = (): void => {
      if (!skipped || document.visibilityState !== 'visible') return;
      skipped = false;
      saved.current();
    };
    document.addEventListener('visibilitychange', back);
    return () => {
      clearInterval(id);
      document.removeEventListener('visibilitychange', back);
    };
  }, [ms]);
}

/** How many periods a poll waits for its read's answer before it starts another. */
const POLL_PATIENCE = 12;

/**
 * Reads `state` again every `ms` (as useInterval), but not while a read of it is on its way: the
 * latest read wins, so a poll that started one every period over a link slower than the period
 * dropped each answer for the next and never showed one (the functions list, then every poll of the
 * console: a function's header, an unfinished run, the cold starts, the Logs run picker; console round 12).
 */
export function usePoll(state: Pick<AsyncState<unknown>, 'onItsWay' | 'reload'>, ms: number | null): void {
  const waited = useRef(0);
  useInterval(() => {
    // A read with no answer for POLL_PATIENCE periods (a connection left hanging by a network change;
    // the console's fetches have no timeout) is given up for a new one, so the poll never stops for good.
    if (state.onItsWay() && ++waited.current < POLL_PATIENCE) return;
    waited.current = 0;
    state.reload();
  }, ms);
}

export function ErrorBox({ error }: { error: unknown }): JSX.Element | null {
  if (error === null || error === undefined) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div class="error-box" role="alert">
      {e !== null ? <code class="code">{e.code}</code> : null} {shownText(error instanceof Error ? error.message : String(error))}
    </div>
  );
}

/** "Loading…", until it loaded; nothing once the load failed (its error is said beside it: "Loading…" under it stayed forever). */
export function Loading({ what = 'Loading', error = null }: { what?: string; error?: unknown }): JSX.Element | null {
  if (error !== null && error !== undefined) return null;
  return <p class="muted" aria-live="polite">{what}…</p>;
}

/**
 * A moment in a list (Runs, Audit): an inline `<time>`, kept whole (no break inside), so a narrow
 * screen shows it on one line of its stacked row (console round 9: four lines at 375 px). `text` is
 * how it reads (the local `time()` by default; Audit's UTC).
 */
export function When({ at, text = time(at) }: { at: number; text?: string }): JSX.Element {
  return <time class="when" dateTime={new Date(at).toISOString()}>{text}</time>;
}

export function StateBadge({ state }: { state: string }): JSX.Element {
  return <span class={`badge badge-${state.replace(/ /g, '-')}`}>{state}</span>;
}

/** A function's status as the list and its page show it: paused, not deployed (no version serves it), else what the pool says (cold when it has nothing). */
export function functionState(fn: { status: 'active' | 'paused'; activeVersion: number | null }, live: string | undefined): string {
  if (fn.status === 'paused') return 'paused';
  if (fn.activeVersion === null) return 'not deployed';
  return live ?? 'cold';
}

export function Card({ title, children, class: cls }: { title?: string; children: ComponentChildren; class?: string }): JSX.Element {
  return (
    <section class={`card ${cls ?? ''}`} aria-label={title}>
      {title !== undefined ? <h2>{title}</h2> : null}
      {children}
    </section>
  );
}

export function Stat({ label, value, hint }: { label: string; value: string; hint?: string }): JSX.Element {
  return (
    <div class="stat">
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
      {hint !== undefined ? <div class="stat-hint">{hint}</div> : null}
    </div>
  );
}

/** An inline SVG line of `values` (no chart library on the list page). */
export function Sparkline({ values, label, width = 120, height = 28 }: { values: readonly number[]; label: string; width?: number; height?: number }): JSX.Element {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

export interface TabDef {
  id: string;
  label: string;
  href: string;
}

/** Tabs as links (deep-linkable); arrow keys move between them (WAI-ARIA tabs pattern). */
export function Tabs({ tabs, current, label }: { tabs: readonly TabDef[]; current: string; label: string }): JSX.Element {
  const onKey = (e: KeyboardEvent): void => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft' && e.key !== 'Home' && e.key !== 'End') return;
    const i = tabs.findIndex((t) => t.id === current);
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : (i + (e.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
    e.preventDefault();
    location.hash = tabs[next]!.href;
    requestAnimationFrame(() => document.getElementById(`tab-${tabs[next]!.id}`)?.focus());
  };
  return (
    <nav class="tabs" role="tablist" aria-label={label} onKeyDown={onKey}>
      {tabs.map((t) => (
        <a id={`tab-${t.id}`} key={t.id} role="tab" href={t.href} aria-selected={t.id === current} aria-controls="tabpanel" tabIndex={t.id === current ? 0 : -1} class={t.id === current ? 'tab active' : 'tab'}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}

/**
 * Copies `text`, and says whether it did (a status a screen reader reads). Without the Clipboard API
 * — a page over plain http from another machine is no secure context and has none — or when the
 * browser refuses it, the older copy command is tried; when that fails too the button says so and
 * to copy the text by hand. It did nothing and said nothing, so a token shown once was taken for
 * copied and lost (console round 10).
 */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }): JSX.Element {
  const [said, setSaid] = useState<'copied' | 'failed' | null>(null);
  return (
    <span class="copy">
      <button
        type="button"
        class="small"
        onClick={(e) => {
          const near = e.currentTarget.parentElement;
          void copyText(text, near).then((copied) => {
            setSaid(copied ? 'copied' : 'failed');
            if (copied) setTimeout(() => setSaid(null), 1500);
          });
        }}
      >
        {said === 'copied' ? 'Copied' : label}
      </button>
      <span role="status" class={said === 'failed' ? 'field-problem' : 'visually-hidden'} data-testid="copy-said">
        {said === 'copied' ? 'Copied.' : said === 'failed' ? 'Not copied: this browser gave the page no clipboard. Select the text and copy it by hand.' : ''}
      </span>
    </span>
  );
}

async function copyText(text: string, near: HTMLElement | null): Promise<boolean> {
  try {
    if (navigator.clipboard !== undefined) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (no permission, the page not focused): the older way below.
  }
  return copiedByCommand(text, near ?? document.body);
}

/** The copy command over a hidden text area beside the button (inside an open dialog: the page behind it is inert). */
function copiedByCommand(text: string, near: HTMLElement): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.readOnly = true;
  area.className = 'visually-hidden';
  const focused = document.activeElement;
  near.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  if (focused instanceof HTMLElement) focused.focus();
  return copied;
}

/** A modal dialog (native <dialog>: the page behind inert, Tab kept inside, Escape closes, the focus given back on close). */
export function Dialog({ title, open, onClose, children }: { title: string; open: boolean; onClose: () => void; children: ComponentChildren }): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  // Every render, not only when `open` changes: the page's state decides whether the dialog is open.
  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  });
  // Escape closes the dialog at once (the focus back where it was) and tells the page then, at
  // `cancel`: its `close` event comes a task later, and a key pressed in between (Enter on Deploy…,
  // where the focus went back) opened a dialog the late event then closed (the key was lost: CI, a
  // loaded machine). That late `close` is the one already said; any other (a dialog closed another way) is said.
  const cancelled = useRef(false);
  const cancel = (): void => {
    cancelled.current = true;
    onClose();
  };
  const closed = (): void => {
    if (cancelled.current) cancelled.current = false;
    else onClose();
  };
  return (
    <dialog ref={ref} aria-label={title} onCancel={cancel} onClose={closed} class="dialog" onKeyDown={(e) => keepTabInside(e, e.currentTarget)}>
      {open ? (
        <>
          <header class="dialog-head">
            <h2>{title}</h2>
            <button type="button" class="small" onClick={onClose} aria-label="Close">✕</button>
          </header>
          {children}
        </>
      ) : null}
    </dialog>
  );
}

/** A secret shown once (invoke token, webhook secret): the user must copy it now. */
/** A secret shown once; `expiresAt` (Unix ms) says when it stops working (absent: never). */
export function ShownOnce({ label, value, expiresAt }: { label: string; value: string; expiresAt?: number | undefined }): JSX.Element {
  return (
    <div class="notice" role="status">
      <strong>{label}</strong> — shown only now; copy it:
      <div class="row">
        <code class="secret" data-testid="shown-once">{value}</code>
        <CopyButton text={value} />
      </div>
      {expiresAt !== undefined
        ? <p data-testid="shown-once-expires">It stops working on {time(expiresAt)}, when the token you signed in with does (it cannot outlive it); a token without an expiry issues one that does not end.</p>
        : null}
    </div>
  );
}
