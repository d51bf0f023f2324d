/**
 * When the workspace the console acts in is deleted elsewhere (another tab, the CLI), every call
 * answers 404 WORKSPACE_NOT_FOUND for the FP-Workspace header (api.ts reports it here). The admin
 * token then moves to a workspace it can still see — `default` (which cannot be deleted), else the
 * first listed — and the header says so; a workspace token has no other workspace, so its session
 * ends with the reason on the sign-in page (its tokens go with the workspace, so that is usually a
 * 401 already). docs/console.md, "Sign in".
 */
import { api } from './api.js';
import { currentSession, signOut, switchWorkspace } from './auth.js';
import { navigate } from './router.js';

let moving: Promise<void> | null = null;

/** The names of the workspaces the admin token sees now (asked without FP-Workspace: acts in `default`). */
export async function listWorkspaces(): Promise<string[]> {
  const session = currentSession();
  if (session === null || !session.root) return session === null ? [] : [session.workspace];
  const { items } = await api<{ items: { name: string }[] }>('GET', '/workspaces', undefined, session.token);
  return items.map((w) => w.name);
}

/** Leaves `gone` if the session still acts in it (once, however many calls failed at the same time). */
export function leaveMissingWorkspace(gone: string): void {
  const session = currentSession();
  if (session === null || session.workspace !== gone || moving !== null) return;
  if (!session.root) {
    signOut(`the workspace "${gone}" no longer exists (it was deleted) [WORKSPACE_NOT_FOUND]`);
    return;
  }
  moving = listWorkspaces()
    .catch(() => [] as string[])
    .then((names) => {
      const next = names.includes('default') || names.length === 0 ? 'default' : names.find((n) => n !== gone)!;
      switchWorkspace(next, `The workspace "${gone}" was deleted (in another tab or by the CLI); the console now acts in "${next}".`);
      navigate(['functions']);
    })
    .finally(() => {
      moving = null;
    });
}

/** The event the workspace picker re-reads its list on (the Workspaces page created or deleted one). */
export const WORKSPACES_CHANGED = 'fp-workspaces-changed';

export function workspacesChanged(): void {
  dispatchEvent(new Event(WORKSPACES_CHANGED));
}
