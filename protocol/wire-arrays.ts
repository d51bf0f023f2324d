/**
 * Protocol v4 (docs/adr/0057-fixed-position-frames.md): the two messages of every call, `invoke`
 * and its `result`, are msgpack ARRAYS with a fixed position per field, not maps. A map's keys were
 * most of the cost of decoding them on both sides (~29k of the runtime's ~71k instructions a call;
 * ~1.6 µs of the gateway's reply decode). This file is the one place the positions are defined on
 * the TypeScript side; runtime/fp_runtime/frames.py defines the same ones for Python, and
 * test/unit/wire-arrays.test.ts pins both (a frame written by each side read by the other).
 *
 * Every field of the map form keeps its meaning; an absent optional field is nil. Query and
 * headers of the event are FLAT lists `[name, value, name, value, …]` (not a list of pairs: one
 * array fewer per header). The other messages (hello, specialize, health, error, logs, the
 * streamed `response`/`chunk`/`end`…) stay maps: they are not per-call or not on the hot path.
 */
import type { LogLine, WireContext, WireError, WireEvent, WireResponse } from './messages.js';

/** The first element of an array frame: which message it is (the map form's `t`). */
export const INVOKE_TAG = 'invoke';
export const RESULT_TAG = 'result';

/** Positions of the `invoke` array (host -> runtime). protocol/invoke-frame.ts writes them in this order. */
export const INVOKE = {
  tag: 0,
  id: 1,
  /** context.requestId, context.timeoutMs, context.attempt */
  contextRequestId: 2,
  timeoutMs: 3,
  attempt: 4,
  method: 5,
  path: 6,
  rawQuery: 7,
  /** flat [name, value, …] */
  query: 8,
  /** flat [name, value, …], names lower-case */
  headers: 9,
  requestId: 10,
  /** nil when absent */
  rootPath: 11,
  /** nil when absent */
  scheme: 12,
  /** [host, port] or nil */
  client: 13,
  body: 14,
} as const;
export const INVOKE_LENGTH = 15;
/**
 * Protocol v6 (ADR 0260): the optional last element of an `invoke`, after the body: the request's
 * HTTP version when it is not 1.1 (`"1.0"`, WireEvent.httpVersion). An HTTP/1.1 call's array has
 * INVOKE_LENGTH elements, byte for byte as before; an HTTP/1.0 call's has one more.
 */
export const INVOKE_HTTP_VERSION = 15;

/** Positions of the `result` array (runtime -> host). */
export const RESULT = {
  tag: 0,
  id: 1,
  status: 2,
  /** list of [name, value] pairs, as WireResponse.headers */
  headers: 3,
  body: 4,
  /** true or nil (WireResponse.latin1) */
  latin1: 5,
  logs: 6,
  handlerMs: 7,
  /** a WireError (an ASGI app that raised after answering) or nil */
  error: 8,
} as const;
export const RESULT_LENGTH = 9;

export type ResultMessage = { t: 'result'; id: number; response: WireResponse; error?: WireError; logs: LogLine[]; handlerMs: number };

/**
 * A decoded array frame as the message it stands for: a well-formed `result` array becomes the
 * map form's object (a constant shape: no key is hashed); anything else is returned as it is and
 * the receiver reports it (an unknown message type).
 */
export function fromArrayFrame(a: unknown[]): unknown {
  if (a.length !== RESULT_LENGTH || a[RESULT.tag] !== RESULT_TAG) return a;
  const response: WireResponse = { status: a[RESULT.status] as number, headers: a[RESULT.headers] as WireResponse['headers'], body: a[RESULT.body] as Uint8Array };
  if (a[RESULT.latin1] === true) response.latin1 = true;
  const out: ResultMessage = { t: 'result', id: a[RESULT.id] as number, response, logs: a[RESULT.logs] as LogLine[], handlerMs: a[RESULT.handlerMs] as number };
  const error = a[RESULT.error];
  if (error !== null && error !== undefined) out.error = error as WireError;
  return out;
}

/** The `result` message as its array (what the runtime writes; for tests and hand-written runtimes). */
export function resultToArray(m: ResultMessage): unknown[] {
  const a = new Array<unknown>(RESULT_LENGTH).fill(null);
  a[RESULT.tag] = RESULT_TAG;
  a[RESULT.id] = m.id;
  a[RESULT.status] = m.response.status;
  a[RESULT.headers] = m.response.headers;
  a[RESULT.body] = m.response.body;
  a[RESULT.latin1] = m.response.latin1 === true ? true : null;
  a[RESULT.logs] = m.logs;
  a[RESULT.handlerMs] = m.handlerMs;
  a[RESULT.error] = m.error ?? null;
  return a;
}

/** An `invoke` array read back into its parts (tests; the runtime reads it in Python). */
export function invokeFromArray(a: unknown[]): { id: number; event: WireEvent; context: WireContext } {
  const pairs = (flat: unknown): [string, string][] => {
    const list = flat as string[];
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
    return out;
  };
  const event: WireEvent = {
    method: a[INVOKE.method] as string,
    path: a[INVOKE.path] as string,
    rawQuery: a[INVOKE.rawQuery] as string,
    query: pairs(a[INVOKE.query]),
    headers: pairs(a[INVOKE.headers]),
    body: a[INVOKE.body] as Uint8Array,
    requestId: a[INVOKE.requestId] as string,
  };
  if (a[INVOKE.rootPath] != null) event.rootPath = a[INVOKE.rootPath] as string;
  if (a[INVOKE.scheme] != null) event.scheme = a[INVOKE.scheme] as 'http' | 'https';
  if (a[INVOKE.client] != null) event.client = a[INVOKE.client] as [string, number];
  if (a.length > INVOKE_HTTP_VERSION && a[INVOKE_HTTP_VERSION] != null) event.httpVersion = a[INVOKE_HTTP_VERSION] as '1.0';
  return {
    id: a[INVOKE.id] as number,
    context: { requestId: a[INVOKE.contextRequestId] as string, timeoutMs: a[INVOKE.timeoutMs] as number, attempt: a[INVOKE.attempt] as number },
    event,
  };
}
