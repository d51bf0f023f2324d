/** Sign in with a token: checked against the API, kept in sessionStorage (auth.ts), never in the URL. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { signedOutBecause, startSession, type Role } from '../auth.js';
import { followLinkWorkspace } from '../router.js';
import { ErrorBox } from '../ui.js';

export function SignIn(): JSX.Element {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ended = signedOutBecause();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // whoami says whether the token is good (401 otherwise), its role and its workspace.
      const who = await api<{ label: string; kind: 'admin' | 'workspace'; role: Role; workspace: string; expiresAt: number | null }>('GET', '/whoami', undefined, token.trim());
      startSession(token.trim(), who);
      followLinkWorkspace(); // the admin token opens a link's page in the link's workspace
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <form onSubmit={submit} class="card" aria-labelledby="signin-title">
        <h1 id="signin-title">fastapi-platform</h1>
        <p class="muted" data-testid="signin-hint">Sign in with the platform's admin token (shown once at the first start, or, started with <code>--admin-token-file FILE</code> (<code>FP_ADMIN_TOKEN_FILE</code>), written to that file instead; <code>fastapi-platform up</code> also keeps it for the CLI as <code>"token"</code> in <code>~/.config/fastapi-platform/credentials.json</code> (or <code>$FP_CONFIG_DIR</code>) on the machine that started it; lost for good? <code>node dist/platform/main.js --rotate-admin-token</code> revokes it and prints a new one) or a workspace token (the Tokens page, or <code>fastapi-platform tokens create</code>).</p>
        {ended !== null && error === null ? <p class="error-box" role="alert" data-testid="signed-out">Signed out: {ended}</p> : null}
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autoComplete="off" spellcheck={false} required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy || token.trim() === ''}>{busy ? 'Checking…' : 'Sign in'}</button>
        <p class="muted small-print">The token stays in this tab only (session storage) and is sent to this platform only.</p>
      </form>
    </main>
  );
}
