/**
 * Routes live in the fragment (`/console/#/functions/hello/code?file=main.py&line=7&ws=team-a`):
 * the server serves one page, deep links survive a reload, and nothing secret is ever in them (the
 * token is in sessionStorage, auth.ts). Every link the console makes names the workspace it acts in
 * (`ws`), so a link copied from one tab opens the same function in another tab or a teammate's
 * browser (docs/adr/0138-console-links-name-their-workspace.md).
 */
import { useEffect, useState } from 'preact/hooks';
import { currentSession, isWorkspaceName, switchWorkspace } from './auth.js';

/** The query key of the workspace a link is in. */
export const WORKSPACE_KEY = 'ws';

export interface Route {
  /** Path segments after `#/`, decoded. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query: new URLSearchParams(search) };
}

export function href(parts: readonly (string | number)[], query?: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '' && k !== WORKSPACE_KEY) q.set(k, String(v));
  const workspace = currentSession()?.workspace;
  if (workspace !== undefined) q.set(WORKSPACE_KEY, workspace);
  const search = q.toString();
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}${search ? `?${search}` : ''}`;
}

export function navigate(parts: readonly (string | number)[], query?: Record<string, string | number | undefined>): void {
  location.hash = href(parts, query);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** The workspace a link names (`ws`), when it is a workspace name; null otherwise (a link from before, or a crafted value). */
export function linkWorkspace(query: URLSearchParams): string | null {
  const ws = query.get(WORKSPACE_KEY);
  return ws !== null && isWorkspaceName(ws) ? ws : null;
}

/**
 * The admin token follows the workspace the address names (a link opened, Back, a reload): it acts
 * there from now on, as if picked in the header. A workspace token has its own only (the page says
 * so, main.tsx); a workspace that does not exist is left as one deleted elsewhere is (workspace-gone.ts).
 */
export function followLinkWorkspace(): void {
  const ws = linkWorkspace(parseHash(location.hash).query);
  const session = currentSession();
  if (ws !== null && session !== null && session.root && ws !== session.workspace) switchWorkspace(ws);
}
