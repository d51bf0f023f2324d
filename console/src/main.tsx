/**
 * The web console (docs/console.md): one page at /console/, served by the platform itself, working
 * only through the public REST API (api.ts) with the token of auth.ts. Pages route in the fragment
 * (router.ts); the editor (CodeMirror) and the charts (uPlot) load on first use, so the functions
 * list stays small (its JavaScript is measured at build: scripts/build-console.ts).
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { Fragment, render, type JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { onWorkspaceMissing } from './api.js';
import { can, currentSession, dismissNotice, onSessionChange, signOut, switchWorkspace, type Session } from './auth.js';
import { AuditPage } from './pages/audit.js';
import { ColdStartsPage } from './pages/coldstarts.js';
import { FunctionDetail } from './pages/fn/detail.js';
import { FunctionList } from './pages/functions.js';
import { NewFunction } from './pages/new-function.js';
import { SignIn } from './pages/signin.js';
import { TokensPage } from './pages/tokens.js';
import { TokenExpiry } from './token-expiry.js';
import { WorkspacesPage } from './pages/workspaces.js';
import { followLinkWorkspace, href, linkWorkspace, useRoute } from './router.js';
import { keepScrollBoxesReachable } from './scroll-boxes.js';
import { leaveMissingWorkspace, listWorkspaces, WORKSPACES_CHANGED } from './workspace-gone.js';

onWorkspaceMissing(leaveMissingWorkspace);
// Before the first render and before the route's own listener: a link's page opens in its workspace.
followLinkWorkspace();
addEventListener('hashchange', followLinkWorkspace);

function App(): JSX.Element {
  const [session, setSession] = useState<Session | null>(currentSession);
  const route = useRoute();
  // "New function" clicked on its own page (after a create: the same URL, so no route change) gives an empty form.
  const [newForm, setNewForm] = useState(0);
  useEffect(() => onSessionChange(setSession), []);
  useEffect(() => {
    const known = ['functions', 'new', 'coldstarts', 'workspaces', 'tokens', 'audit'].includes(route.parts[0] ?? 'functions');
    document.title = session === null ? 'Sign in · fastapi-platform' : `${known ? route.parts[1] ?? route.parts[0] ?? 'functions' : 'Not found'} · fastapi-platform`;
  }, [session, route]);
  if (session === null) return <SignIn />;
  const [section = 'functions', name, tab] = route.parts;
  let page: JSX.Element;
  if (section === 'new') page = <NewFunction key={newForm} />;
  else if (section === 'coldstarts') page = <ColdStartsPage />;
  else if (section === 'workspaces') page = <WorkspacesPage />;
  else if (section === 'tokens') page = <TokensPage />;
  else if (section === 'audit') page = <AuditPage query={route.query} />;
  else if (section === 'functions' && name !== undefined) page = <FunctionDetail key={name} name={name} tab={tab ?? 'code'} query={route.query} />; // keyed: nothing of the previous function stays shown
  else if (section === 'functions') page = <FunctionList />;
  else page = <NotFound />; // an unknown route: said so (it showed the functions list titled with the route)
  // Keyed by workspace: a switch mounts every page anew (nothing of the other workspace stays shown).
  page = <Fragment key={session.workspace}>{page}</Fragment>;
  // A workspace token opening a link of another workspace: its functions are not this token's to see.
  const linked = linkWorkspace(route.query);
  const elsewhere = linked !== null && linked !== session.workspace && !session.root ? linked : null;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <a class="brand" href={href(['functions'])}>fastapi-platform</a>
        <nav aria-label="Main">
          <a href={href(['functions'])} aria-current={section === 'functions' ? 'page' : undefined}>Functions</a>
          <a href={href(['coldstarts'])} aria-current={section === 'coldstarts' ? 'page' : undefined}>Cold starts</a>
          {can('deployer') ? <a href={href(['new'])} aria-current={section === 'new' ? 'page' : undefined} onClick={() => { if (section === 'new') setNewForm((n) => n + 1); }}>New function</a> : null}
          {can('owner') ? <a href={href(['tokens'])} aria-current={section === 'tokens' ? 'page' : undefined}>Tokens</a> : null}
          {can('owner') ? <a href={href(['audit'])} aria-current={section === 'audit' ? 'page' : undefined}>Audit</a> : null}
          {session.root ? <a href={href(['workspaces'])} aria-current={section === 'workspaces' ? 'page' : undefined}>Workspaces</a> : null}
        </nav>
        <WorkspacePicker session={session} />
        <span class="who">{session.label} · {session.role}</span>
        <button type="button" class="small" onClick={() => signOut()}>Sign out</button>
      </header>
      <TokenExpiry session={session} />
      {session.notice !== undefined ? (
        <div class="notice top-notice" role="status" data-testid="session-notice">
          {session.notice} <button type="button" class="small" onClick={() => dismissNotice()}>Dismiss</button>
        </div>
      ) : null}
      {elsewhere !== null ? (
        <div class="notice top-notice" role="status" data-testid="link-elsewhere">
          This link is to the workspace "{elsewhere}"; your token acts in "{session.workspace}" only. Sign in with a token of "{elsewhere}" (or the admin token) to open it.
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

function NotFound(): JSX.Element {
  return (
    <div class="page narrow">
      <h1 data-testid="not-found">Page not found</h1>
      <p>The console has no page at this address. <a href={href(['functions'])}>Go to the functions list</a>.</p>
    </div>
  );
}

/**
 * The workspace the console acts in: shown to every token; the admin token picks one from
 * `GET /workspaces` (sent as FP-Workspace, auth.ts), a workspace token has only its own. The list
 * is read again when the picker is opened or focused and when the tab gets the focus back, so
 * workspaces created or deleted elsewhere appear and go without a reload; when the one in use is
 * gone, the console moves to another (workspace-gone.ts).
 */
function WorkspacePicker({ session }: { session: Session }): JSX.Element {
  const [names, setNames] = useState<string[]>([session.workspace]);
  const refresh = useCallback(() => {
    if (!session.root) return;
    listWorkspaces().then((list) => {
      setNames(list);
      const now = currentSession();
      if (now !== null && !list.includes(now.workspace)) leaveMissingWorkspace(now.workspace);
    }, () => undefined);
  }, [session.root]);
  useEffect(refresh, [refresh, session.workspace]);
  useEffect(() => {
    if (!session.root) return;
    addEventListener('focus', refresh);
    addEventListener(WORKSPACES_CHANGED, refresh);
    return () => {
      removeEventListener('focus', refresh);
      removeEventListener(WORKSPACES_CHANGED, refresh);
    };
  }, [refresh, session.root]);
  // Arrow keys on a closed <select> fire `change` at each step (Chrome): moving through the list must
  // not switch workspace (and leave the page) at every step, so a keyboard choice waits for Enter
  // or for the focus to leave (WCAG 3.2.2, on input); a pointer choice switches at once.
  const keyed = useRef(false);
  const [pending, setPending] = useState<string | null>(null);
  const commit = (value: string): void => {
    keyed.current = false;
    setPending(null);
    if (value === currentSession()?.workspace) return;
    switchWorkspace(value);
    location.hash = href(['functions']);
  };
  if (!session.root) return <span class="workspace" data-testid="workspace">workspace <strong>{session.workspace}</strong></span>;
  return (
    <label class="workspace">
      workspace{' '}
      <select data-testid="workspace" value={pending ?? session.workspace} onFocus={refresh} aria-describedby="workspace-hint"
        onMouseDown={() => { keyed.current = false; refresh(); }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit(e.currentTarget.value);
          else if (e.key.startsWith('Arrow') || e.key.length === 1 || ['Home', 'End', 'PageUp', 'PageDown'].includes(e.key)) keyed.current = true;
        }}
        onBlur={(e) => commit(e.currentTarget.value)}
        onChange={(e) => { const value = (e.target as HTMLSelectElement).value; if (keyed.current) setPending(value); else commit(value); }}>
        {(names.includes(session.workspace) ? names : [session.workspace, ...names]).map((n) => <option key={n} value={n}>{n}</option>)}
      </select>
      <span id="workspace-hint" class="visually-hidden">With the keyboard, the arrow keys choose and Enter switches.</span>
    </label>
  );
}

const root = document.getElementById('app')!;
render(<App />, root);
keepScrollBoxesReachable(root);
