/**
 * Whether the token that admitted a long call still may make it (red team round 14): a streamed
 * answer or a WebSocket of an `auth: token` function outlives its request, up to the function's
 * `limits.timeout` (an hour at the ceiling). Before, revoking the workspace token, rotating the
 * invoke token or reaching the token's expiry stopped new calls only: an open stream kept
 * receiving, and an open WebSocket kept both receiving and sending, until that timeout. The API's
 * live log stream already checks its token before every write (controlplane/api/logs.ts).
 *
 * The check is the admission's own (InvokeAuth, no I/O: a keyed digest and a map lookup), made
 * when data flows either way, at most once per HOLD_CHECK_MS per call, so a busy stream pays one
 * digest a second and a quiet one nothing. Once refused, it stays refused.
 */
import type { InvokeAuth } from './registry.js';

/** True while the call's token still admits it. */
export type Holder = () => boolean;

/** How long a verdict is reused (a revocation ends a busy stream within about this long). */
export const HOLD_CHECK_MS = 1000;

/** The holder of a call admitted with `secret` by `auth`; `now` for tests. */
export function tokenHolder(auth: InvokeAuth, secret: string, now: () => number = Date.now): Holder {
  let checkedAt = now();
  let live = true;
  return () => {
    if (!live) return false;
    const at = now();
    if (at - checkedAt < HOLD_CHECK_MS) return true;
    checkedAt = at;
    live = auth.check(secret) === 'ok';
    return live;
  };
}

/** The close reason of a WebSocket, and the run's note, when its token stopped admitting it. */
export const TOKEN_GONE_REASON = 'the token that opened this connection was revoked, rotated or expired';
