/**
 * Tokens: who may use the workspace in use, and as what (owner and above; docs/adr/0011-tenants.md,
 * docs/adr/0121-console-tokens.md): its tokens with their role, expiry and last use; create one
 * (its secret shown once, to hand to a person or a script); revoke or rotate one. `GET/POST /tokens`,
 * `DELETE /tokens/{id}`, as `fastapi-platform tokens …` does. A workspace's members are its tokens:
 * the platform has no user accounts.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc } from '../api.js';
import { can, currentSession, type Role } from '../auth.js';
import { useNowPast } from '../clock.js';
import { Ago } from '../ago.js';
import { time } from '../format.js';
import { ErrorBox, Loading, ShownOnce, useAsync } from '../ui.js';
import { keepFocusInPlace } from '../focus-place.js';

interface Token {
  id: string;
  label: string;
  role: Exclude<Role, 'root'>;
  createdAt: number;
  createdBy: string;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

const ROLES: [Exclude<Role, 'root'>, string][] = [
  ['viewer', 'reads functions, code, runs, logs and usage'],
  ['invoker', '+ calls functions (also auth: token ones), cancels and replays runs'],
  ['deployer', '+ creates, changes and deploys functions, env and secrets'],
  ['owner', "+ deletes functions, manages this workspace's tokens, reads its audit log"],
];

/** protocol/units.ts LONG_DURATION_PATTERN: what `POST /tokens` takes as `expiresIn`. */
const LIFETIME = /^[ \t]*([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)[ \t]*$/;

function StateOf({ token: t, now }: { token: Token; now: number }): JSX.Element {
  if (t.revokedAt !== null) return <>revoked <Ago at={t.revokedAt} /></>;
  if (t.expiresAt !== null && t.expiresAt <= now) return <>expired <Ago at={t.expiresAt} /></>;
  return <>active</>;
}

export function TokensPage(): JSX.Element {
  const session = currentSession();
  const [showRevoked, setShowRevoked] = useState(false);
  const owner = can('owner');
  // Below owner nothing is asked (it was, and refused with a 403 behind the role note; console round 6).
  const tokens = useAsync(async () => (owner ? api<{ items: Token[] }>('GET', `/tokens${showRevoked ? '?includeRevoked=true' : ''}`) : { items: [] }), [showRevoked, owner]);
  const [label, setLabel] = useState('');
  const [role, setRole] = useState<Exclude<Role, 'root'>>('deployer');
  const [expiresIn, setExpiresIn] = useState('');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ token: Token; secret: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [rowError, setRowError] = useState<{ id: string; error: unknown } | null>(null);
  const workspace = session?.workspace ?? 'default';
  // A row's state turns to expired at its expiry while the page is open (it said active forever: console round 12).
  const now = useNowPast((tokens.data?.items ?? []).flatMap((t) => (t.expiresAt !== null && t.revokedAt === null ? [t.expiresAt] : [])));
  if (!owner) {
    return <div class="page narrow"><h1>Tokens</h1><p class="notice" data-testid="role-note">Your token's role ({session?.role}) cannot see or create this workspace's tokens: that needs the owner role.</p></div>;
  }
  const expiryProblem = expiresIn.trim() === '' || LIFETIME.test(expiresIn.trim()) ? null : 'A number and a unit: 30d, 12h, 15m or 90s; empty for a token that works until revoked.';

  const create = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (expiryProblem !== null) return void document.getElementById('token-expires')?.focus();
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const answer = await api<{ token: Token; secret: string }>('POST', '/tokens', { role, ...(label.trim() !== '' ? { label: label.trim() } : {}), ...(expiresIn.trim() !== '' ? { expiresIn: expiresIn.trim() } : {}) });
      setCreated(answer);
      setLabel('');
      setExpiresIn('');
      tokens.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (t: Token): Promise<void> => {
    setRowError(null);
    if (!confirm(`Revoke the token "${t.label}" (${t.role})? Whoever uses it is refused at once; this cannot be undone.`)) return;
    keepFocusInPlace();
    try {
      await api('DELETE', `/tokens/${enc(t.id)}`);
      tokens.reload();
    } catch (err) {
      setRowError({ id: t.id, error: err });
    }
  };

  // As `tokens rotate ID` (new-user round 16: the CLI got it, the console showed revoke only): the
  // leaked one stops first, then one of the same role, label and expiry is made and shown once.
  const rotate = async (t: Token): Promise<void> => {
    setRowError(null);
    try {
      const me = await api<{ tokenId: string }>('GET', '/whoami');
      // Revoked first, the token in use could make no successor.
      if (me.tokenId === t.id) throw new Error('This is the token you are signed in with: another owner (or the admin token) rotates it, or create your next one, sign in with it, then revoke this one.');
      if (!confirm(`Rotate the token "${t.label}" (${t.role})? It stops working at once; a new one with the same role, label and expiry is shown once here, to hand to its holder.`)) return;
      keepFocusInPlace();
      await api('DELETE', `/tokens/${enc(t.id)}`);
      const left = t.expiresAt === null ? null : t.expiresAt - Date.now();
      setCreated(await api<{ token: Token; secret: string }>('POST', '/tokens', { role: t.role, label: t.label, ...(left !== null ? { expiresIn: `${Math.max(1, left)}ms` } : {}) }));
      tokens.reload();
    } catch (err) {
      setRowError({ id: t.id, error: err });
      tokens.reload();
    }
  };

  return (
    <div class="page">
      <h1>Tokens of {workspace}</h1>
      <p class="muted">Who may use this workspace, and as what: give each person or script a token of its own, with the least role it needs; revoke it to take the access back. {session?.root ? 'The admin token is not listed (it acts in every workspace).' : ''}</p>
      <form class="card form" aria-label="New token" onSubmit={create}>
        <h2>New token</h2>
        <label for="token-label">Label</label>
        <input id="token-label" value={label} maxLength={100} autoComplete="off" placeholder="who or what it is for, e.g. ada, ci" onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
        <label for="token-role">Role</label>
        <select id="token-role" value={role} aria-describedby="token-role-hint" onChange={(e) => setRole((e.target as HTMLSelectElement).value as Exclude<Role, 'root'>)}>
          {ROLES.filter(([r]) => can(r)).map(([r]) => <option key={r} value={r}>{r}</option>)}
        </select>
        <p id="token-role-hint" class="hint">{ROLES.find(([r]) => r === role)?.[1]}. A token never makes one above its own role.</p>
        <label for="token-expires">Expires in (optional)</label>
        <input id="token-expires" value={expiresIn} autoComplete="off" placeholder="e.g. 30d; empty: until revoked" aria-invalid={expiryProblem !== null ? true : undefined}
          aria-describedby={expiryProblem !== null ? 'token-expires-problem' : undefined} onInput={(e) => setExpiresIn((e.target as HTMLInputElement).value)} />
        {expiryProblem !== null ? <p id="token-expires-problem" class="field-problem">{expiryProblem}</p> : null}
        <div class="row"><button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : 'Create token'}</button></div>
        <ErrorBox error={error} />
        {created !== null ? (
          <div data-testid="token-created">
            <ShownOnce label={`Token "${created.token.label}" (${created.token.role})`} value={created.secret} />
            {/* Not `login … --token …`: a command line is every local user's to read (red team round 27; new-user round 16 found this line left). */}
            <p class="muted" data-testid="token-login">Hand it over in a private channel. It signs in to this console, and to the CLI with <code>fastapi-platform login {location.origin.replace('//console.', '//')} --profile {workspace}</code>, which asks for it.</p>
            {/* A CI job has no login: the CLI reads the two variables (console round 14: where a CI token goes was not said). */}
            <p class="muted" data-testid="token-ci">In CI, keep it as a secret of the job and set <code>FP_URL={location.origin.replace('//console.', '//')}</code> and <code>FP_TOKEN</code> to it: <code>npx fastapi-platform deploy</code> then needs no login (a deploy takes the deployer role).</p>
          </div>
        ) : null}
      </form>
      <label class="row"><input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked((e.target as HTMLInputElement).checked)} /> Show revoked tokens</label>
      <ErrorBox error={tokens.error} />
      {tokens.data === undefined ? (tokens.error ? null : <Loading what="Loading tokens" />) : tokens.data.items.length === 0 ? (
        <p class="muted" data-testid="tokens-empty">No tokens in {workspace} yet{showRevoked ? '' : ' (none active)'}: create one above for each person or script that uses it.</p>
      ) : (
        <div class="table-wrap">
          <table class="list" aria-label="Tokens">
            <thead><tr><th scope="col">Label</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {tokens.data.items.map((t) => <TokenRow key={t.id} token={t} now={now} onRevoke={() => void revoke(t)} onRotate={() => void rotate(t)} error={rowError?.id === t.id ? rowError.error : null} />)}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function TokenRow({ token: t, now, onRevoke, onRotate, error }: { token: Token; now: number; onRevoke: () => void; onRotate: () => void; error: unknown }): JSX.Element {
  return (
    <tr data-token={t.id}>
      <th scope="row">{t.label} <span class="muted">{t.id}</span></th>
      <td>{t.role}</td>
      <td>{time(t.createdAt)} <span class="muted">by {t.createdBy}</span></td>
      <td>{t.expiresAt === null ? 'never' : time(t.expiresAt)}</td>
      <td><Ago at={t.lastUsedAt} /></td>
      <td><StateOf token={t} now={now} /></td>
      <td>
        {t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now) ? <button type="button" class="small" onClick={onRotate} aria-label={`Rotate ${t.label}`}>Rotate</button> : null}
        {t.revokedAt === null ? <button type="button" class="small danger" onClick={onRevoke} aria-label={`Revoke ${t.label}`}>Revoke</button> : null}
        <ErrorBox error={error} />
      </td>
    </tr>
  );
}
