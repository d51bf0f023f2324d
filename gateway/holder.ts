/**
 * Whether a long call may go on (red team round 14): a streamed answer or a WebSocket outlives its
 * request, up to the function's `limits.timeout` (an hour at the ceiling). Before, revoking the
 * workspace token, rotating the invoke token, reaching the token's expiry or turning a public
 * function to `auth: token` refused new calls only: an open stream kept receiving, and an open
 * WebSocket kept both receiving and sending, until that timeout. The API's live log stream already
 * checks its token before every write (controlplane/api/logs.ts).
 *
 * The check is the admission's own, on the function as it is now (FunctionRegistry.resolve, a map
 * lookup; InvokeAuth.check, a keyed digest, no I/O), made when data flows either way, at most once
 * per HOLD_CHECK_MS per call: a busy stream pays one check a second, a quiet one nothing. Once
 * refused, it stays refused. The clock itself is read once a turn of the event loop at most (the
 * pieces of one read of the runtime's socket share it: a clock read cost ~0.25 µs a streamed piece
 * here, apps round 17, ADR 0203); what a check looks at changes only in another turn. An unknown function is left to the pool (a delete or a pause ends
 * its calls: PoolDrain.endConnections), so a registry that has not caught up cuts nothing.
 */
import type { FunctionRegistry } from './registry.js';

/** True while the call may go on. */
export type Holder = () => boolean;

/** How long a verdict is reused (a revocation ends a busy stream within about this long). */
export const HOLD_CHECK_MS = 1000;

/** The close reason of a WebSocket whose token (or lack of one) no longer admits it. */
export const TOKEN_GONE_REASON = 'the token that opened this connection was revoked, rotated or expired';

/**
 * The holder of a call of `name` admitted with the bearer `secret` (null: admitted as a public
 * function's call, without one); `now` for tests.
 */
export function callHolder(registry: FunctionRegistry, name: string, secret: string | null, now: () => number = Date.now): Holder {
  let checkedAt = now();
  let live = true;
  /** Asked already in this turn of the event loop: its verdict stands until the turn's microtasks ran. */
  let thisTurn = false;
  const turnEnded = (): void => {
    thisTurn = false;
  };
  return () => {
    if (!live) return false;
    if (thisTurn) return true;
    thisTurn = true;
    queueMicrotask(turnEnded);
    const at = now();
    if (at - checkedAt < HOLD_CHECK_MS) return true;
    checkedAt = at;
    const found = registry.resolve(name);
    live = !found.found || found.auth === null || (secret !== null && found.auth.check(secret) === 'ok');
    return live;
  };
}
