/**
 * The header's notice that the signed-in token runs out soon (console round 9): a token with an
 * expiry gave no warning, and the console signed out with TOKEN_EXPIRED at the next call. Shown from
 * `WARN_MS` before `expiresAt` (what `GET /whoami` said at sign-in, auth.ts) with when and what to
 * do. One timer, here, for the whole console: it wakes once at the notice's start and once at the
 * expiry (no tick per second, none per page; console/src/clock.ts), and reads the clock again when the
 * tab comes back (a sleeping computer's timers stand still). **Dismiss** hides it for that token in this tab (auth.ts; loose ends round 8).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { dismissExpiry, expiryDismissed, type Session } from './auth.js';
import { useNowPast } from './clock.js';
import { time } from './format.js';

/** How long before the expiry the notice shows. */
export const WARN_MS = 10 * 60_000;
export function TokenExpiry({ session }: { session: Session }): JSX.Element | null {
  const { expiresAt } = session;
  // Woken at the notice's start and at the expiry (clock.ts), and when the tab comes back.
  const now = useNowPast(expiresAt === undefined ? [] : [expiresAt - WARN_MS, expiresAt]);
  // Dismissed: for this token, in this tab (auth.ts), so the next token signed in is warned of.
  const [dismissedHere, setDismissedHere] = useState<string | null>(null);
  if (expiresAt === undefined || now < expiresAt - WARN_MS || dismissedHere === session.token || expiryDismissed(session)) return null;
  const who = session.root ? 'the admin token' : `an owner of the workspace "${session.workspace}"`;
  return (
    <div class="notice top-notice quiet" role="status" data-testid="token-expiry">
      <span>
        {now < expiresAt ? `The token you signed in with stops working at ${time(expiresAt)}` : `The token you signed in with expired at ${time(expiresAt)}`}: the console then signs you out at its next call (Code tab edits not saved yet are kept in this tab).
        {' '}To go on, sign out and sign in with a new token: {who} makes one on the Tokens page or with <code>fastapi-platform tokens create --role {session.role === 'root' ? 'owner' : session.role} --expires 30d</code> (an expiry cannot be extended).
      </span>
      {' '}<button type="button" class="small" onClick={() => { dismissExpiry(session); setDismissedHere(session.token); }}>Dismiss</button>
    </div>
  );
}
