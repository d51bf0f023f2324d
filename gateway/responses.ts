/**
 * Building HTTP responses: error bodies (always `errorBody()` + `httpStatus()` from the registry),
 * the invocation headers (X-Run-Id, X-Cold-Start, Server-Timing) and the checks a function's
 * response passes before it reaches the socket.
 */
import { errorBody, httpStatus, type Pairs, type PlatformError, type WireResponse } from '../protocol/index.js';
import type { OutgoingResponse } from './uws-adapter.js';

const JSON_TYPE: [string, string] = ['content-type', 'application/json'];

/** The JSON error response for a registry code; the status comes from `httpStatus()` only. */
export function errorResponse(err: PlatformError, runId?: string, extraHeaders: Pairs = []): OutgoingResponse {
  return {
    status: httpStatus(err.code),
    headers: [JSON_TYPE, ...extraHeaders],
    body: errorBody(err, runId),
    // The body of a refused upload was not read: close, so its remaining bytes are not parsed.
    closeConnection: err.code === 'PAYLOAD_TOO_LARGE',
  };
}

export function jsonResponse(status: number, value: unknown): OutgoingResponse {
  return { status, headers: [JSON_TYPE], body: JSON.stringify(value) };
}

export interface Timings {
  initMs: number;
  handlerMs: number;
  queuedMs: number;
  totalMs: number;
}

/** The headers every invocation response carries, success or failure. */
export function invocationHeaders(runId: string, cold: boolean, t: Timings): Pairs {
  return [
    ['x-run-id', runId],
    ['x-cold-start', cold ? '1' : '0'],
    ['server-timing', `queue;dur=${ms(t.queuedMs)}, init;dur=${ms(t.initMs)}, handler;dur=${ms(t.handlerMs)}, total;dur=${ms(t.totalMs)}`],
  ];
}

function ms(value: number): string {
  return (Math.round(value * 100) / 100).toString();
}

// Framing and connection headers belong to the gateway's own HTTP connection, not the
// function's: uWS writes Content-Length itself, and a second one would corrupt the response.
const DROPPED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
  'x-run-id',
  'x-cold-start',
]);

// RFC 9110 token for names; values without CR, LF or NUL (no header injection).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;

/**
 * Checks a function's response and returns the headers to send, or a reason it is not valid.
 * The runtime validates too; this is the last line before bytes reach the client.
 */
export function checkFunctionResponse(response: WireResponse): { headers: Pairs } | { problem: string } {
  const status = response.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    return { problem: `status ${String(status)} is not an integer from 200 to 599` };
  }
  if (!Array.isArray(response.headers)) return { problem: 'headers are not a list of pairs' };
  const headers: Pairs = [];
  for (const pair of response.headers) {
    const [name, value] = Array.isArray(pair) ? pair : [];
    if (typeof name !== 'string' || typeof value !== 'string') return { problem: 'a header is not a [name, value] pair of strings' };
    if (!HEADER_NAME.test(name)) return { problem: `header name ${JSON.stringify(name)} is not a valid token` };
    if (BAD_VALUE.test(value)) return { problem: `header ${name} contains CR, LF or NUL` };
    if (!DROPPED_HEADERS.has(name.toLowerCase())) headers.push([name, value]);
  }
  if (!(response.body instanceof Uint8Array)) return { problem: 'body is not bytes' };
  return { headers };
}
