/**
 * What an upgraded WebSocket connection may hold that the gateway cannot see (uws-adapter rule 13,
 * docs/adr/0198-websocket-upgrades-reserve-their-unseen-bytes.md): uWS joins a client message's
 * frames in a buffer of its own, up to the route's maxPayloadLength, and calls no JavaScript before
 * the message is whole (red team round 32: four connections each sending 15 MiB of a 16 MiB frame
 * and stopping, +63 MB, held until the call's timeout). So each handshake reserves that worst case
 * in the `sockets` budget before the 101: all connections together at most `maxWsReservedBytes`,
 * one function's a quarter of it and one workspace's a half (ByteBudget's shares and groups). A
 * handshake that does not fit is refused with 503 GATEWAY_OVERLOADED and a Retry-After; the
 * reservation goes when the connection closes (or the handshake is answered without upgrading).
 */
import { freemem, totalmem } from 'node:os';
import { describeBytes, PlatformError } from '../protocol/index.js';
import { GROUP_DIVISOR, SHARE_DIVISOR, type ByteBudget } from './byte-budget.js';

/**
 * The largest message a client may send by default (uWS drops the connection past it, the client seeing 1006; FP_WS_MAX_MESSAGE_BYTES):
 * 1 MiB, the default of Python's `websockets` (and Socket.IO's maxHttpBufferSize), a sixteenth of
 * uvicorn's `ws_max_size`, so that sixteen times as many connections fit the reservation budget.
 */
export const DEFAULT_WS_MAX_MESSAGE_BYTES = 1024 * 1024;

/** What the gateway may reserve for upgraded connections by default: an eighth of the memory it may use, at least 64 MiB. */
export const WS_RESERVED_MEMORY_DIVISOR = 8;
const MIN_DEFAULT_RESERVED_BYTES = 64 * 1024 * 1024;

/** Seconds a refused handshake is told to wait (a reservation goes when any connection closes). */
export const WS_RESERVE_RETRY_AFTER_S = 5;

/**
 * The default of `maxWsReservedBytes`: an eighth of the memory this process may use (its cgroup's
 * limit when it has one, else the machine's): 3 GiB on a 24 GiB machine, 128 MiB in a 1 GiB container.
 */
export function defaultWsReservedBytes(memoryBytes: number = processMemoryBytes()): number {
  return Math.max(MIN_DEFAULT_RESERVED_BYTES, Math.floor(memoryBytes / WS_RESERVED_MEMORY_DIVISOR));
}

/** The memory this process may use: its cgroup's limit (Node's constrainedMemory) or the machine's. */
function processMemoryBytes(): number {
  const total = totalmem() || freemem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

/** The handshake's `bytes` did not fit the reservation budget, or its function's or workspace's part of it. */
export function upgradeRefused(budget: ByteBudget, share: string | null, bytes: number): PlatformError {
  const retry = { retryAfterS: WS_RESERVE_RETRY_AFTER_S, reservedBytes: bytes };
  const shareBytes = budget.maxBytes / SHARE_DIVISOR;
  if (share !== null && budget.heldBy(share) > 0 && budget.heldBy(share) + bytes > shareBytes) {
    return new PlatformError('GATEWAY_OVERLOADED', `this function has as many WebSocket connections open as one function may (each reserves ${describeBytes(bytes)} for a message being received; a quarter of the gateway's ${describeBytes(budget.maxBytes)}); retry in a moment`, { ...retry, limitBytes: shareBytes, scope: 'function' });
  }
  const group = share === null ? null : budget.groupOfShare(share);
  const groupBytes = budget.maxBytes / GROUP_DIVISOR;
  if (group !== null && budget.heldByGroup(group) > 0 && budget.heldByGroup(group) + bytes > groupBytes) {
    return new PlatformError('GATEWAY_OVERLOADED', `this workspace has as many WebSocket connections open as one workspace may (each reserves ${describeBytes(bytes)} for a message being received; half of the gateway's ${describeBytes(budget.maxBytes)}); retry in a moment`, { ...retry, limitBytes: groupBytes, scope: 'workspace' });
  }
  return new PlatformError('GATEWAY_OVERLOADED', `the gateway has as many WebSocket connections open as it may (each reserves ${describeBytes(bytes)} for a message being received, ${describeBytes(budget.maxBytes)} together); retry in a moment`, { ...retry, limitBytes: budget.maxBytes, scope: 'gateway' });
}
