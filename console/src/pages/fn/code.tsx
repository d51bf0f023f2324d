/**
 * Code: the version's files in a Python editor (CodeMirror, loaded on first use), checked as you
 * type by `POST /validate` (problems marked at their line), edits saved as a server-side draft,
 * deploy with the diff shown first, version history with deploy and rollback. `?file=&line=` opens
 * a file at a line (a failed run's "open at error line").
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, enc, type DeployEntry, type Fn, type Problem, type Validation } from '../../api.js';
import { can, currentSession } from '../../auth.js';
import type { EditorHandle } from '../../editor/editor.js';
import { Ago } from '../../ago.js';
import { inlineText, logText, shownText } from '../../format.js';
import { href } from '../../router.js';
import { Dialog, ErrorBox, Loading, useAsync } from '../../ui.js';
import { changesOf, deployWorkspace, hasChanges, loadWorkspace, saveDraft, settingsChanges, settingsPatch, validate, type Workspace } from '../../workspace.js';
import { scaffold } from '../../scaffolds.js';
import { keepUnsaved, takeUnsaved } from '../../unsaved.js';
import type { TabProps } from './tab.js';
import { useVersionPages } from './version-pages.js';
import { FileDiffs } from './file-diffs.js';
import { CompareDialog } from './version-compare.js';
import { CodeWarnings, type UploadWarnings } from './code-warnings.js';
import { keepFocusInPlace } from '../../focus-place.js';
import { deployQuestion, StartFailed } from './version-start.js';

const CHECK_DELAY_MS = 500;
const SAVE_DELAY_MS = 1200;

export function CodeTab({ name, fn, reload, query }: TabProps): JSX.Element {
  const active = fn.function.activeVersion;
  // Loaded again when the active version changes (a deploy or a rollback here): over the version that serves.
  const ws = useAsync(() => loadWorkspace(name, active), [name, active]);
  const versions = useVersionPages(name, active);
  // "Show older versions" pressed for the last page goes away: the focus moves to the list (it fell to the page).
  const olderAsked = useRef(false);
  useEffect(() => {
    if (!olderAsked.current || versions.loading) return;
    olderAsked.current = false;
    if (versions.data?.more !== true) document.getElementById('version-history')?.focus();
  }, [versions.loading, versions.data]);
  // What a rollback without a version goes to (the API's rule): the newest version below the
  // active one that served before; versions never deployed (refused by the start check) are passed over.
  const deploys = useAsync(() => api<{ items: DeployEntry[] }>('GET', `/functions/${enc(name)}/deploys?limit=200`), [name, active]);
  // Only versions still stored (docs/adr/0098-deleting-versions.md): deleted ones are passed over.
  const below = (versions.data?.items ?? []).map((v) => v.version).filter((v) => active !== null && v < active);
  const served = (deploys.data?.items ?? []).map((e) => e.toVersion).filter((v): v is number => v !== null && below.includes(v));
  const previous = active === null || below.length === 0 ? null : served.length > 0 ? Math.max(...served) : Math.max(...below);
  const [tick, setTick] = useState(0);
  const [file, setFile] = useState<string | null>(null);
  const [check, setCheck] = useState<Validation | null>(null);
  const [checkError, setCheckError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string>('');
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<ApiError | null>(null);
  const conflictRef = useRef<ApiError | null>(null);
  const [restored, setRestored] = useState(0);
  const workspace = currentSession()?.workspace ?? 'default';
  const [deploying, setDeploying] = useState(false);
  const [comparing, setComparing] = useState<[number, number] | null>(null);
  const [adding, setAdding] = useState(false);
  // What the upload of the version this tab deployed warned of, shown while the editor is on that version.
  const [uploaded, setUploaded] = useState<UploadWarnings | null>(null);
  const editorBox = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | null>(null);
  const timers = useRef<{ check?: number; save?: number }>({});
  const mounted = useRef(true);
  const wsRef = useRef<Workspace | null>(null);
  wsRef.current = ws.data ?? null;
  const wantedFile = query.get('file');
  const wantedLine = Number(query.get('line') ?? 0);

  // Checking and saving drafts need the deployer role (docs/adr/0016-console.md); below it the tab shows the code only.
  const editable = can('deployer');

  const runCheck = async (): Promise<void> => {
    const w = wsRef.current;
    if (w === null || w.files.size === 0 || !editable) return;
    try {
      setCheck(await validate(w, w.base?.entrypoint));
      setCheckError(null);
    } catch (err) {
      setCheckError(err);
    }
  };

  const schedule = (): void => {
    clearTimeout(timers.current.check);
    clearTimeout(timers.current.save);
    timers.current.check = window.setTimeout(() => void runCheck(), CHECK_DELAY_MS);
    if (!editable) return;
    setSaved('unsaved changes');
    // The draft changed elsewhere: nothing is saved until the user chooses (DraftConflict).
    if (conflictRef.current !== null) return;
    timers.current.save = window.setTimeout(() => saveNow(), SAVE_DELAY_MS);
  };
  /** Saves the draft now (the timer's job, or leaving the tab with edits not saved yet); `over`: the revision to replace on purpose. */
  function saveNow(over?: number): void {
    timers.current.save = undefined;
    const w = wsRef.current;
    if (w === null) return;
    saveDraft(name, w, over).then((d) => {
      w.draft = d;
      conflictRef.current = null;
      if (mounted.current) {
        setConflict(null);
        setSaved(`draft saved ${new Date(d.updatedAt).toLocaleTimeString()}`);
      }
    }, (err: unknown) => {
      // Another tab, browser or client saved, discarded or deployed the draft since this tab read
      // it: saving would lay this tab's copy over theirs unseen (docs/errors.md DRAFT_CONFLICT).
      const conflicted = err instanceof ApiError && err.code === 'DRAFT_CONFLICT' ? err : null;
      if (conflicted !== null) conflictRef.current = conflicted;
      // The session ended (401 signed the tab out): the edits wait for the next sign-in.
      if (err instanceof ApiError && err.status === 401) keep(w);
      if (!mounted.current) return;
      if (conflicted === null) return setError(err);
      setConflict(conflicted);
      setSaved('not saved');
    });
  }
  /** Keeps the tab's edits for after the next sign-in (unsaved.ts). */
  function keep(w: Workspace): void {
    const c = changesOf(w);
    keepUnsaved(workspace, name, { files: [...c.added, ...c.modified].map((path) => ({ path, content: w.files.get(path)! })), removed: c.removed });
  }
  const keepRef = useRef(keep);
  keepRef.current = keep;
  const saveNowRef = useRef(saveNow);
  saveNowRef.current = saveNow;

  // The editor, once the workspace is there.
  useEffect(() => {
    const w = ws.data;
    if (w === undefined || editorBox.current === null) return;
    let gone = false;
    void import('../../editor/editor.js').then(({ createEditor }) => {
      if (gone || editorBox.current === null) return;
      editor.current?.destroy();
      editor.current = createEditor(editorBox.current, (path, text) => {
        w.files.set(path, text);
        setTick((t) => t + 1);
        schedule();
      });
      // Edits kept when the session ended mid-edit: laid over what was loaded, then saved.
      const kept = editable ? takeUnsaved(workspace, name) : null;
      if (kept !== null) {
        for (const f of kept.files) w.files.set(f.path, f.content);
        for (const path of kept.removed) w.files.delete(path);
        setRestored(kept.files.length + kept.removed.length);
        setTick((t) => t + 1);
        schedule();
      }
      const first = wantedFile !== null && w.files.has(wantedFile) ? wantedFile : w.files.has('main.py') ? 'main.py' : [...w.files.keys()][0] ?? null;
      setFile(first);
      void runCheck();
    });
    return () => {
      gone = true;
      editor.current?.destroy();
      editor.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ws.data]);

  // Opening a file (and the line a link asked for).
  useEffect(() => {
    const w = ws.data;
    if (file === null || w === undefined || editor.current === null) return;
    editor.current.open(file, w.files.get(file) ?? '');
    editor.current.markLine(file === wantedFile ? wantedLine : 0);
    editor.current.problems(problemsIn(check, file));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [file, editor.current]);

  useEffect(() => {
    if (file !== null) editor.current?.problems(problemsIn(check, file));
  }, [check, file]);

  useEffect(() => {
    if (wantedFile !== null && ws.data?.files.has(wantedFile)) setFile(wantedFile);
    else if (wantedLine > 0) editor.current?.markLine(wantedLine);
  }, [wantedFile, wantedLine]);

  // Leaving the tab (another tab, another page) with an edit of the last second not saved yet: save it
  // now rather than drop it; closing or reloading the page then asks first.
  useEffect(() => {
    mounted.current = true;
    const warn = (e: BeforeUnloadEvent): void => {
      if (timers.current.save === undefined && conflictRef.current === null) return;
      e.preventDefault();
      e.returnValue = '';
    };
    addEventListener('beforeunload', warn);
    return () => {
      mounted.current = false;
      removeEventListener('beforeunload', warn);
      clearTimeout(timers.current.check);
      const unsaved = timers.current.save !== undefined || conflictRef.current !== null;
      clearTimeout(timers.current.save);
      // Signed out with edits not saved (the token expired or was revoked): kept, not sent without a token.
      if (unsaved && currentSession() === null && wsRef.current !== null) keepRef.current(wsRef.current);
      else if (timers.current.save !== undefined) saveNowRef.current();
    };
  }, []);

  if (ws.data === undefined) return ws.error ? <ErrorBox error={ws.error} /> : <Loading what="Loading the code" />;
  const w = ws.data;
  const changes = changesOf(w);
  void tick;

  // No version and no draft (created through the API or `functions create`): nothing to edit yet.
  const empty = w.files.size === 0 && w.binary.length === 0;
  const startFromTemplate = (): void => {
    for (const f of scaffold(name, fn.function.preset, fn.function.invocation)) w.files.set(f.path, f.content);
    setFile(w.files.has('main.py') ? 'main.py' : [...w.files.keys()][0] ?? null);
    setTick((t) => t + 1);
    schedule();
  };
  const addFile = (path: string): void => {
    w.files.set(path, '');
    setFile(path);
    setTick((t) => t + 1);
    schedule();
  };
  const removeFile = (): void => {
    if (file === null || !confirm(`Remove ${file} from the draft?`)) return;
    w.files.delete(file);
    setFile([...w.files.keys()][0] ?? null);
    setTick((t) => t + 1);
    schedule();
  };
  const discard = async (): Promise<void> => {
    if (!confirm('Discard the draft and go back to the version?')) return;
    try {
      // Only the draft this tab read: a newer one another tab saved is kept (DRAFT_CONFLICT, shown).
      await api('DELETE', `/functions/${enc(name)}/draft?ifRevision=${w.draft?.revision ?? 0}`);
      ws.reload();
      setSaved('');
    } catch (err) {
      setError(err);
    }
  };
  const rollback = async (version?: number): Promise<void> => {
    setError(null);
    // It changes what serves the function's URL at once (no diff shown first, unlike Deploy…): asked.
    const target = version ?? previous;
    // A version a deploy refused says so first (ADR 0252).
    if (!confirm(deployQuestion(versions.data?.items.find((v) => v.version === target), target, active))) return;
    keepFocusInPlace();
    try {
      if (version === undefined) await api('POST', `/functions/${enc(name)}/rollback`, target !== null ? { version: target } : {});
      else await api('POST', `/functions/${enc(name)}/deploy`, { version });
      reload();
      versions.reload();
    } catch (err) {
      setError(err);
    }
  };

  const removeVersion = async (version: number): Promise<void> => {
    setError(null);
    if (!confirm(`Delete version ${version}? Its code can no longer be deployed or rolled back to; the workspace's code quota no longer counts it.`)) return;
    keepFocusInPlace();
    try {
      // Refused with VERSION_ACTIVE or VERSION_IN_USE (the draft is based on it): the error box says which.
      await api('DELETE', `/functions/${enc(name)}/versions/${version}`);
      versions.reload();
    } catch (err) {
      setError(err);
    }
  };

  const problems = check?.problems ?? [];
  return (
    <div class="code-tab">
      <div class="toolbar">
        <span class="muted" aria-live="polite" data-testid="draft-state">
          {/* No base: no version served yet, though a refused deploy may have made one (the history lists it). */}
          {w.base ? `editing over version ${w.base.version}` : 'new function: no version deployed yet'}
          {hasChanges(changes) ? ` · ${changes.added.length + changes.modified.length + changes.removed.length} changed` : ''}
          {saved ? ` · ${saved}` : ''}
        </span>
        <span class="spacer" />
        <span class={check === null ? 'muted' : check.ok ? 'ok' : 'bad'} data-testid="check-state" aria-live="polite">
          {!editable ? 'read-only (your role cannot change code)' : empty ? 'no files yet' : check === null ? 'checking…' : check.ok ? `✓ no problems${warned(check)}` : `${problems.length} problem${problems.length === 1 ? '' : 's'}`}
        </span>
        <button type="button" onClick={() => setAdding(true)} disabled={!editable}>New file</button>
        <button type="button" onClick={removeFile} disabled={file === null || !editable}>Remove file</button>
        <button type="button" onClick={discard} disabled={!editable || w.draft === null && !hasChanges(changes)}>Discard draft</button>
        <button type="button" class="primary" onClick={() => setDeploying(true)} disabled={!editable || empty || !hasChanges(changes) && w.base !== null && w.base.version === active}>Deploy…</button>
      </div>
      {empty ? (
        <div class="notice" data-testid="code-empty">
          <p><strong>No code yet.</strong> This function was created without any (through the API or <code>fastapi-platform functions create</code>), so there is no file to edit.</p>
          {editable
            ? <p><button type="button" class="primary" onClick={startFromTemplate}>Start from the {fn.function.preset} template</button> (main.py, platform.yaml, payload.json as a draft), or <strong>New file</strong>, or deploy a folder from a terminal: <code>npx fastapi-platform deploy</code>.</p>
            : <p class="muted">A deployer can start it here, or deploy a folder with <code>fastapi-platform deploy</code>.</p>}
        </div>
      ) : null}
      {restored > 0 ? <p class="notice" role="status" data-testid="edits-restored">Restored {restored === 1 ? 'an edit' : `${restored} files' edits`} not saved when the session ended (the token expired or was revoked); saved now as the draft.</p> : null}
      {conflict !== null ? <DraftConflict conflict={conflict} onOverwrite={() => saveNow(Number(conflict.details['revision'] ?? 0))}
        onLoad={() => { conflictRef.current = null; setConflict(null); setSaved(''); ws.reload(); }} /> : null}
      <ErrorBox error={error} />
      <ErrorBox error={checkError} />
      <div class="code-layout">
        <aside class="files" aria-label="Files">
          {/* A listbox (WAI-ARIA): one tab stop, the arrow keys, Home and End move and open. */}
          <ul role="listbox" aria-label="Files" onKeyDown={(e) => {
            const paths = [...w.files.keys()];
            const at = file === null ? -1 : paths.indexOf(file);
            const next = e.key === 'ArrowDown' ? Math.min(at + 1, paths.length - 1) : e.key === 'ArrowUp' ? Math.max(at - 1, 0) : e.key === 'Home' ? 0 : e.key === 'End' ? paths.length - 1 : null;
            if (next === null || paths[next] === undefined) return;
            e.preventDefault();
            setFile(paths[next]!);
            requestAnimationFrame(() => document.getElementById(`file-${next}`)?.focus());
          }}>
            {[...w.files.keys()].map((path, i) => {
              const n = problems.filter((p) => p.file === path).length;
              const state = changes.added.includes(path) ? 'added' : changes.modified.includes(path) ? 'modified' : '';
              return (
                <li key={path} role="presentation">
                  <button type="button" role="option" id={`file-${i}`} tabIndex={path === file || (file === null && i === 0) ? 0 : -1} aria-selected={path === file} class={path === file ? 'file active' : 'file'} onClick={() => setFile(path)}>
                    {path}{state ? <span class={`tag ${state}`}>{state === 'added' ? 'A' : 'M'}</span> : null}{n > 0 ? <span class="tag bad" aria-label={`${n} problems`}>{n}</span> : null}
                  </button>
                </li>
              );
            })}
            {w.binary.map((f) => <li key={f.path} role="option" aria-disabled="true" aria-selected="false" class="muted file-binary">{f.path} (binary)</li>)}
          </ul>
          <h2>Versions</h2>
          <ol class="versions" aria-label="Version history" id="version-history" tabIndex={-1}>
            {(versions.data?.items ?? []).map((v) => (
              <li key={v.version}>
                <span>v{v.version}{v.version === active ? <strong> · active</strong> : null}</span>
                <span class="muted"> <Ago at={v.createdAt} />{v.note ? ` · ${shownText(v.note)}` : ''}</span>
                <StartFailed version={v} />
                {v.version !== active && active !== null ? <button type="button" class="small" onClick={() => setComparing(v.version < active ? [v.version, active] : [active, v.version])} aria-label={`Compare version ${v.version} with the active version ${active}`}>Compare</button> : null}
                {v.version !== active && editable ? <button type="button" class="small" onClick={() => void rollback(v.version)}>Deploy v{v.version}</button> : null}
                {v.version !== active && editable ? <button type="button" class="small danger" onClick={() => void removeVersion(v.version)} aria-label={`Delete version ${v.version}`}>Delete</button> : null}
              </li>
            ))}
          </ol>
          {/* A heading over nothing read as a list that failed to load (console round 14). */}
          {versions.data?.items.length === 0 ? <p class="muted versions" data-testid="versions-none">None yet: {editable ? 'Deploy… makes version 1.' : 'a deployer deploys version 1.'}</p> : null}
          {versions.data?.more === true
            ? <button type="button" class="small" onClick={() => { olderAsked.current = true; versions.showOlder(); }} data-testid="older-versions">Show older versions</button> : null}
          <ErrorBox error={versions.error} />
          {previous !== null && editable ? <button type="button" onClick={() => void rollback()} data-testid="rollback">Roll back to v{previous}</button> : null}
        </aside>
        <div class="editor-wrap">
          <div class="editor-file">{file ?? 'no file'}</div>
          <div ref={editorBox} class="editor" data-testid="editor" />
        </div>
      </div>
      <section class="problems" aria-label="Problems">
        <h2>Problems</h2>
        {problems.length === 0 ? <p class="muted">{!editable ? 'Not checked: checks run for the deployer role and above.' : empty ? 'No files to check yet.' : check === null ? 'Checking…' : `None: the same checks as fastapi-platform validate pass${check.warnings.length > 0 ? `; the warning${check.warnings.length === 1 ? '' : 's'} below may still stop the code from starting (an import the runtime does not provide does).` : '.'}`}</p> : (
          <ul>
            {problems.map((p, i) => (
              <li key={i}>
                <button type="button" class="link" onClick={() => { if (p.file !== null && w.files.has(p.file)) { setFile(p.file); setTimeout(() => editor.current?.markLine(p.line ?? 0), 0); } }}>
                  {p.file ?? '(bundle)'}{p.line !== null ? `:${p.line}` : ''}
                </button>{' '}<span class="tag">{p.kind}</span> {p.path ? <code>{inlineText(p.path)}</code> : null} {shownText(p.message)}
              </li>
            ))}
          </ul>
        )}
        <CodeWarnings check={check} uploaded={uploaded !== null && uploaded.version === w.base?.version ? uploaded : null} />
      </section>
      <NewFileDialog open={adding} onClose={() => setAdding(false)} files={w.files} onAdd={(path) => { setAdding(false); addFile(path); }} />
      <CompareDialog name={name} pair={comparing} onClose={() => setComparing(null)} />
      <DeployDialog open={deploying} onClose={() => setDeploying(false)} name={name} fn={fn.function} ws={w} check={check}
        onDone={(done) => { setUploaded(done); setDeploying(false); setSaved(''); reload(); versions.reload(); location.hash = href(['functions', name, 'code']); }}
        onRefused={() => versions.reload()} />
    </div>
  );
}

/**
 * The check's warnings counted beside "no problems": one said only in a closed list under "None: the checks
 * pass" (an import the runtime does not provide) was missed, and the deploy then failed on it (console round 14).
 */
function warned(check: Validation): string {
  const n = check.warnings.length;
  return n === 0 ? '' : ` · ${n} warning${n === 1 ? '' : 's'}`;
}

function problemsIn(check: Validation | null, file: string): { line: number; column: number | null; message: string; severity: 'error' | 'warning' }[] {
  const out: { line: number; column: number | null; message: string; severity: 'error' | 'warning' }[] = [];
  const add = (list: readonly Problem[], severity: 'error' | 'warning'): void => {
    for (const p of list) if (p.file === file && p.line !== null) out.push({ line: p.line, column: p.column, message: `${p.path ? `${p.path}: ` : ''}${p.message}`, severity });
  };
  add(check?.problems ?? [], 'error');
  add(check?.warnings ?? [], 'warning');
  return out;
}

/** `onRefused`: the deploy failed after its upload may have made the version (it did not start, its dependencies did not build): the history reads it again. */
function DeployDialog({ open, onClose, onDone, onRefused, name, fn, ws, check }: { open: boolean; onClose: () => void; onDone: (done: UploadWarnings) => void; onRefused: () => void; name: string; fn: Fn; ws: Workspace; check: Validation | null }): JSX.Element {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [step, setStep] = useState('');
  const [error, setError] = useState<unknown>(null);
  const c = changesOf(ws);
  const blocked = check !== null && !check.ok;
  const go = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const fresh = await validate(ws, ws.base?.entrypoint);
      if (!fresh.ok) throw new Error(`${fresh.problems.length} problem(s) left: fix them first`);
      const done = await deployWorkspace(name, ws, fresh, note, setStep);
      setNote('');
      onDone(done);
    } catch (err) {
      setError(err);
      // The refused version is in the history, marked as not started (ADR 0252): it was not listed
      // until a reload, while the dialog said it was refused (console round 16).
      onRefused();
    } finally {
      setBusy(false);
      setStep('');
    }
  };
  return (
    <Dialog title="Deploy these changes" open={open} onClose={onClose}>
      <p>{ws.base ? `Against version ${ws.base.version}:` : 'The first version:'} {c.added.length} added, {c.modified.length} modified, {c.removed.length} removed.</p>
      <FileDiffs before={ws.baseText} after={ws.files} changes={c} />
      <SettingsChanges fn={fn} check={check} />
      {blocked ? <p class="bad" role="alert">The check found problems: fix them before deploying.</p> : null}
      <form onSubmit={(e) => { e.preventDefault(); if (!busy && !blocked) void go(); }}>
        <label for="deploy-note">Note (optional)</label>
        <input id="deploy-note" value={note} maxLength={1000} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
        <ErrorBox error={error} />
        <StartFailure error={error} />
        <div class="row end">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy || blocked} data-testid="confirm-deploy">{busy ? 'Deploying…' : 'Deploy'}</button>
          {busy && step !== '' ? <span class="muted" aria-live="polite" data-testid="deploy-step">{step}…</span> : null}
        </div>
      </form>
    </Dialog>
  );
}

/**
 * The settings a deploy takes from platform.yaml over what Settings saved, said before it is
 * confirmed: above all the env values it drops (set in Settings, not in platform.yaml's env), which
 * were lost without a word (developer-experience round 9; the CLI's `deploy --dry-run` said it).
 */
function SettingsChanges({ fn, check }: { fn: Fn; check: Validation | null }): JSX.Element | null {
  const { envRemoved, lines } = settingsChanges(fn, settingsPatch(check?.manifest));
  if (envRemoved.length + lines.length === 0) return null;
  const one = envRemoved.length === 1;
  return (
    <div class="notice" data-testid="deploy-settings">
      <p><strong>This deploy also changes the function's settings</strong> to platform.yaml's (what Settings saved is replaced):</p>
      <ul>
        {envRemoved.length > 0 ? (
          <li class="bad">removes env <code>{envRemoved.join(', ')}</code> with {one ? 'its value' : 'their values'}: set in Settings, not in platform.yaml's <code>env</code>.
            To keep {one ? 'it' : 'them'}, add {one ? 'it' : 'them'} to platform.yaml's <code>env</code> before deploying, or make {one ? 'it a secret' : 'them secrets'} (a deploy keeps secrets).</li>
        ) : null}
        {lines.map((l) => <li key={l}>{l}</li>)}
      </ul>
    </div>
  );
}

/**
 * A version refused because its code did not load (DEPLOY_START_FAILED, ADR 0084): what its load
 * printed and its traceback, under the error (the message names the exception and its line).
 */
function StartFailure({ error }: { error: unknown }): JSX.Element | null {
  if (!(error instanceof ApiError) || error.code !== 'DEPLOY_START_FAILED') return null;
  // What the function's load wrote: its controls shown, not obeyed (red team round 26).
  const logs = Array.isArray(error.details['logs']) ? (error.details['logs'] as { msg?: unknown }[]).map((l) => logText(String(l.msg ?? ''))) : [];
  const stack = (error.details['cause'] as { stack?: unknown } | undefined)?.stack;
  return (
    <div class="start-failure" data-testid="start-failure">
      {logs.length > 0 ? <details open><summary>What its load printed</summary><pre class="out">{logs.join('\n')}</pre></details> : null}
      {typeof stack === 'string' && stack !== '' ? <details open><summary>Traceback</summary><pre class="out">{shownText(stack)}</pre></details> : null}
      <p class="muted">Nothing was deployed{error.details['version'] !== undefined ? ` (version ${String(error.details['version'])} stays uploaded)` : ''}: fix it and deploy again.</p>
    </div>
  );
}

/** What is wrong with a new file's path (the API's rules, controlplane/bundles/paths.ts, the common ones), or null. */
export function newFileProblem(raw: string, files: ReadonlyMap<string, string>): string | null {
  const path = raw.trim().replace(/^(\.\/)+/, '').replace(/\/{2,}/g, '/');
  if (path === '') return 'Give the file a path, e.g. lib/util.py.';
  if (path.includes('\\')) return 'Separate folders with /, not \\.';
  if (path.startsWith('/')) return 'The path is relative to the function\'s root: leave out the leading /.';
  if (path.split('/').includes('..')) return 'The path cannot contain .. (it would leave the function\'s files).';
  if (path.endsWith('/')) return 'That names a folder: add the file\'s name.';
  if (files.has(path)) return `${path} exists: pick it in the file list.`;
  return null;
}

/** New file: its path typed in a dialog, checked as typed; an existing path is said, not ignored. */
function NewFileDialog({ open, onClose, onAdd, files }: { open: boolean; onClose: () => void; onAdd: (path: string) => void; files: ReadonlyMap<string, string> }): JSX.Element {
  const [path, setPath] = useState('');
  const [tried, setTried] = useState(false);
  const problem = newFileProblem(path, files);
  const shown = tried || path !== '' ? problem : null;
  const close = (): void => {
    setPath('');
    setTried(false);
    onClose();
  };
  return (
    <Dialog title="New file" open={open} onClose={close}>
      <form onSubmit={(e) => {
        e.preventDefault();
        setTried(true);
        if (problem !== null) return;
        onAdd(path.trim().replace(/^(\.\/)+/, '').replace(/\/{2,}/g, '/'));
        setPath('');
        setTried(false);
      }}>
        <label for="new-file-path">Path</label>
        <input id="new-file-path" value={path} autoFocus autoComplete="off" spellcheck={false} placeholder="lib/util.py"
          aria-invalid={shown !== null ? true : undefined} aria-describedby={shown !== null ? 'new-file-problem' : undefined}
          onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        {shown !== null ? <p id="new-file-problem" class="field-problem">{shown}</p> : null}
        <div class="row end">
          <button type="button" onClick={close}>Cancel</button>
          <button type="submit" class="primary">Add file</button>
        </div>
      </form>
    </Dialog>
  );
}

/** The draft changed elsewhere since this tab read it: what happened, and the two ways on. */
function DraftConflict({ conflict, onLoad, onOverwrite }: { conflict: ApiError; onLoad: () => void; onOverwrite: () => void }): JSX.Element {
  const revision = Number(conflict.details['revision'] ?? 0);
  const by = conflict.details['updatedBy'];
  const at = conflict.details['updatedAt'];
  const what = revision === 0
    ? 'was discarded or deployed elsewhere (another tab, browser or the CLI)'
    : `was saved elsewhere (another tab, browser or client${typeof by === 'string' ? `, as ${by}` : ''}${typeof at === 'string' ? `, at ${new Date(at).toLocaleTimeString()}` : ''})`;
  return (
    <div class="notice" role="alert" data-testid="draft-conflict">
      <p><strong>Your edits here are not saved:</strong> this function's draft {what} after this tab read it. They are kept in this tab only until you choose. <code>DRAFT_CONFLICT</code></p>
      <p>
        <button type="button" onClick={onLoad}>Load the saved {revision === 0 ? 'code' : 'draft'}</button> drops the edits of this tab;{' '}
        <button type="button" class="danger" onClick={onOverwrite}>Save mine over it</button> replaces {revision === 0 ? 'what it was' : 'the other edits'}.
      </p>
    </div>
  );
}
