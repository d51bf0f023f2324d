/**
 * What the native uWS parser answers itself (scripts/patch-uws.mjs fix 13, ADR 0228): the status,
 * `Connection: close`, and the platform's JSON error with its stable code, then it closes the
 * connection. Shared by the raw-socket gateway tests.
 */
import assert from 'node:assert/strict';
import type { RawAnswer } from './raw-exchange.js';

/** The code each of the native parser's refusals carries. */
export const NATIVE_CODES: Record<number, string> = { 400: 'BAD_REQUEST', 431: 'REQUEST_HEADERS_TOO_LARGE', 505: 'HTTP_VERSION_NOT_SUPPORTED' };

/** Asserts `answer` is the native parser's refusal with `status`, and that it closed the connection. */
export function assertNativeAnswer(answer: RawAnswer, status: number): void {
  const text = answer.data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const header = (name: string): string[] =>
    lines.filter((l) => l.slice(0, l.indexOf(':')).toLowerCase() === name).map((l) => l.slice(l.indexOf(':') + 1).trim());
  const body = text.slice(end + 4);
  assert.equal(Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '')?.[1]), status, statusLine ?? '');
  assert.deepEqual(header('connection'), ['close']);
  assert.deepEqual(header('content-type'), ['application/json']);
  assert.equal(Number(header('content-length')[0]), body.length);
  const { error } = JSON.parse(body) as { error: { code: string; message: string; component: string } };
  assert.equal(error.code, NATIVE_CODES[status]);
  assert.equal(error.component, 'request');
  assert.ok(error.message.length > 0);
  assert.ok(answer.closed, 'the parser closes the connection');
}
