/**
 * Who is signed in: the one module that holds the token (docs/console.md, "Sign in"). The token
 * lives in sessionStorage (this tab, until it closes or signs out), never in the URL, a cookie or
 * localStorage; every API call gets its headers from `authHeaders()`.
 *
 * Tenants (docs/adr/0011-tenants.md): the session holds what `GET /whoami` said at sign-in — the
 * token's role and workspace. A workspace token acts in its own workspace only; the admin (root)
 * token picks one, sent as `FP-Workspace` on every call (default `default`, so a single admin
 * token on a fresh install works as before). The role only decides what the pages offer; the API
 * enforces it.
 */
const KEY = 'fp.console.session';

export type Role = 'viewer' | 'invoker' | 'deployer' | 'owner' | 'root';
const RANK: Record<Role, number> = { viewer: 0, invoker: 1, deployer: 2, owner: 3, root: 4 };

export interface Session {
  token: string;
  /** Shown in the header. */
  label: string;
  role: Role;
  /** The workspace the console acts in. */
  workspace: string;
  /** The admin token: may switch workspaces. */
  root: boolean;
  signedInAt: number;
  /** When the token stops working (Unix ms, what `GET /whoami` said at sign-in); absent: never. */
  expiresAt?: number;
  /** Something the console did on its own that the header says until dismissed (e.g. it left a deleted workspace). */
  notice?: string;
}

/** protocol/function-key.ts WORKSPACE_NAME: a DNS label of 1–30 characters. */
const WORKSPACE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$/;

/** True for a workspace name (its format; whether it exists is the API's). */
export function isWorkspaceName(text: string): boolean {
  return WORKSPACE_NAME.test(text);
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

export function currentSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw === null) return null;
    const p = JSON.parse(raw) as Partial<Session>;
    if (typeof p.token !== 'string' || p.token === '') return null;
    return {
      token: p.token,
      label: String(p.label ?? 'admin'),
      role: isRole(p.role) ? p.role : 'root',
      workspace: typeof p.workspace === 'string' && p.workspace !== '' ? p.workspace : 'default',
      root: p.root ?? true,
      signedInAt: Number(p.signedInAt ?? 0),
      ...(typeof p.expiresAt === 'number' && Number.isFinite(p.expiresAt) ? { expiresAt: p.expiresAt } : {}),
      ...(typeof p.notice === 'string' ? { notice: p.notice } : {}),
    };
  } catch {
    return null;
  }
}

export function authHeaders(): Record<string, string> {
  const session = currentSession();
  if (session === null) return {};
  return session.root ? { authorization: `Bearer ${session.token}`, 'fp-workspace': session.workspace } : { authorization: `Bearer ${session.token}` };
}

/** True when the signed-in token's role is at least `role` (what a page offers; the API decides). */
export function can(role: Role): boolean {
  const session = currentSession();
  return session !== null && RANK[session.role] >= RANK[role];
}

function save(session: Session): Session {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  for (const l of listeners) l(session);
  return session;
}

/** Stores a token the caller has checked with `GET /whoami`. */
export function startSession(token: string, who: { label: string; role: Role; workspace: string; kind: 'admin' | 'workspace'; expiresAt?: number | null }): Session {
  sessionStorage.removeItem(ENDED_KEY);
  return save({ token, label: who.label, role: who.role, workspace: who.workspace, root: who.kind === 'admin', signedInAt: Date.now(), ...(typeof who.expiresAt === 'number' ? { expiresAt: who.expiresAt } : {}) });
}

/**
 * The admin token acts in another workspace from now on (a workspace token cannot); `notice` says
 * why when the console moved by itself (shown in the header until dismissed or the next switch).
 */
export function switchWorkspace(workspace: string, notice?: string): void {
  const session = currentSession();
  if (session === null || !session.root || session.workspace === workspace) return;
  const { notice: _old, ...rest } = session;
  save({ ...rest, workspace, ...(notice !== undefined ? { notice } : {}) });
}

export function dismissNotice(): void {
  const session = currentSession();
  if (session === null || session.notice === undefined) return;
  const { notice: _old, ...rest } = session;
  save(rest);
}

/**
 * The token whose expiry notice (token-expiry.tsx) was dismissed in this tab, by a fingerprint (not
 * the token: no second copy of a secret), kept across a sign-out: signing in again with that token
 * keeps it dismissed, another token is warned of (loose ends round 8: the notice had no Dismiss).
 */
const EXPIRY_DISMISSED_KEY = 'fp.console.expiry-dismissed';

/** FNV-1a of the token and its expiry, in hex: tells this tab's tokens apart, says nothing of the secret. */
function fingerprint(session: Session): string {
  let h = 0x811c9dc5;
  for (const ch of `${session.token}\n${session.expiresAt ?? ''}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16);
}

export function dismissExpiry(session: Session): void {
  try {
    sessionStorage.setItem(EXPIRY_DISMISSED_KEY, fingerprint(session));
  } catch {
    // Storage full or off: dismissed until the next page load only.
  }
}

export function expiryDismissed(session: Session): boolean {
  return sessionStorage.getItem(EXPIRY_DISMISSED_KEY) === fingerprint(session);
}

/** Why the API ended the last session (shown on the sign-in page, also after a reload); none after Sign out. */
const ENDED_KEY = 'fp.console.ended';

/**
 * Ends the session: by the user (Sign out), or with `why` when the API refused the token (it
 * expired, was revoked or rotated), so the sign-in page can say why the page is back there.
 */
export function signOut(why?: string): void {
  if (why === undefined) sessionStorage.removeItem(ENDED_KEY);
  else sessionStorage.setItem(ENDED_KEY, why);
  sessionStorage.removeItem(KEY);
  for (const l of listeners) l(null);
}

export function signedOutBecause(): string | null {
  return sessionStorage.getItem(ENDED_KEY);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * What this tab keeps across a sign-out that is not the session: the Code tab's edits a session end
 * left unsaved (unsaved.ts). In this module with the token, so one module touches the tab's storage.
 */
export function keepInTab(key: string, value: string): void {
  try {
    sessionStorage.setItem(`fp.console.kept:${key}`, value);
  } catch {
    // Storage full or off: nothing more can be done for it.
  }
}

/** What `keepInTab` kept under `key`, removed (taken once). */
export function takeFromTab(key: string): string | null {
  const value = sessionStorage.getItem(`fp.console.kept:${key}`);
  sessionStorage.removeItem(`fp.console.kept:${key}`);
  return value;
}
