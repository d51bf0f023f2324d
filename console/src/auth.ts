/**
 * Who is signed in: the one module that holds the token (docs/console.md, "Sign in"). The token
 * lives in sessionStorage (this tab, until it closes or signs out), never in the URL, a cookie or
 * localStorage; every API call gets its Authorization header from `authHeaders()`. Today a token
 * is the platform's admin token; when workspaces and roles arrive, a Session grows a `workspace`
 * and `role` here and nothing else changes shape.
 */
const KEY = 'fp.console.session';

export interface Session {
  token: string;
  /** Shown in the header. */
  label: string;
  signedInAt: number;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

export function currentSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw === null) return null;
    const parsed = JSON.parse(raw) as Partial<Session>;
    return typeof parsed.token === 'string' && parsed.token !== '' ? { token: parsed.token, label: String(parsed.label ?? 'admin'), signedInAt: Number(parsed.signedInAt ?? 0) } : null;
  } catch {
    return null;
  }
}

export function authHeaders(): Record<string, string> {
  const session = currentSession();
  return session === null ? {} : { authorization: `Bearer ${session.token}` };
}

/** Stores a token the caller has checked with the API. */
export function startSession(token: string, label = 'admin'): Session {
  const session: Session = { token, label, signedInAt: Date.now() };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  for (const l of listeners) l(session);
  return session;
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  for (const l of listeners) l(null);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
