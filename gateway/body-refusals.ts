/**
 * The server's refusals of a request body (uws-adapter rule 7): too large, too slow while the
 * gateway is busy, past the bodies budget or its function's or workspace's share of it.
 */
import { describeBytes, PlatformError } from '../protocol/index.js';
import { GROUP_DIVISOR, MIN_CLIENT_BYTES_PER_S, SHARE_DIVISOR, type ByteBudget } from './byte-budget.js';

/**
 * How many chunks (onData calls) a request body may come in: one per 256 bytes of its limit, at
 * least 4096 (24 576 for the default 6 MiB). Each costs a call into JavaScript on the shared event
 * loop; 1-byte chunks from two clients held every other request 1-2.5 s (red team 2).
 */
export function bodyChunkLimit(maxBodyBytes: number): number {
  return Math.max(4096, Math.ceil(maxBodyBytes / 256));
}

/** The server's budget of bodies, or its function's share of it, is used up (rule 7): `bytes` more did not fit. */
export function overloaded(budget: ByteBudget, share: string | null, bytes: number): PlatformError {
  const shareBytes = budget.maxBytes / SHARE_DIVISOR;
  if (share !== null && budget.heldBy(share) > 0 && budget.heldBy(share) + bytes > shareBytes) {
    return new PlatformError('GATEWAY_OVERLOADED', `this function's calls hold as many request bodies as one function may (${describeBytes(shareBytes)}, a quarter of the gateway's budget); retry in a moment`, { limitBytes: shareBytes, scope: 'function' });
  }
  const group = share === null ? null : budget.groupOfShare(share);
  const groupBytes = budget.maxBytes / GROUP_DIVISOR;
  if (group !== null && budget.heldByGroup(group) > 0 && budget.heldByGroup(group) + bytes > groupBytes) {
    return new PlatformError('GATEWAY_OVERLOADED', `this workspace's calls hold as many request bodies as one workspace may (${describeBytes(groupBytes)}, half of the gateway's budget); retry in a moment`, { limitBytes: groupBytes, scope: 'workspace' });
  }
  return new PlatformError('GATEWAY_OVERLOADED', `the gateway is receiving as many request bodies as it may hold (${describeBytes(budget.maxBytes)} together); retry in a moment`, { limitBytes: budget.maxBytes, scope: 'gateway' });
}

/** A body sent slower than the minimum rate while the budget is more than half used (rule 7). */
export function bodyTooSlow(): PlatformError {
  return new PlatformError('REQUEST_BODY_TOO_SLOW', `the request body arrived slower than ${MIN_CLIENT_BYTES_PER_S} bytes/s while the gateway was busy receiving bodies`, { minBytesPerSecond: MIN_CLIENT_BYTES_PER_S });
}

/**
 * A body over the route's limit. The message says what to do (new-user round 11: a FastAPI app's
 * 200 MB `UploadFile`, taken by uvicorn, got "larger than 6 MiB" alone, and curl shows no docs).
 */
export function tooLarge(maxBodyBytes: number): PlatformError {
  return new PlatformError('PAYLOAD_TOO_LARGE', `the request body is larger than ${describeBytes(maxBodyBytes)}, this platform's limit for the route: send large data by reference instead (upload it to object storage and pass its URL or key; docs/errors.md)`, { limitBytes: maxBodyBytes });
}

