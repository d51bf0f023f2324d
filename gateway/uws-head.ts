/**
 * What the server writes before a body (uws-adapter rules 4 and 8): the status line and headers in
 * one call into uWS, and the padded refusal of a malformed request head.
 */
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import { errorBody, retryAfterOf, type PlatformError } from '../protocol/index.js';
import { ERROR_HEADERS } from './error-headers.js';
import type { OutgoingResponse } from './http-server.js';

/** LoopData::CORK_BUFFER_SIZE of this build: a write that does not fit is sent at once (rule 8). */
const CORK_BUFFER_BYTES = 16 * 1024;
/** Status lines made once, indexed by status (an array read, not a Map's hash, per response). */
const statusLines: (string | undefined)[] = new Array<string | undefined>(1000).fill(undefined);

export function statusLine(status: number): string {
  const line = statusLines[status];
  if (line !== undefined) return line;
  const made = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
  if (Number.isInteger(status) && status >= 0 && status < statusLines.length) statusLines[status] = made;
  return made;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The status line and every header in ONE call into uWS (issue 11): `writeStatus` writes
 * `HTTP/1.1 ` + its argument + `\r\n`, and `writeHeader` writes `name: value\r\n`, both as given,
 * so `200 OK\r\nname1: value1\r\nname2: value2` as the status puts the same bytes on the wire as
 * one `writeStatus` and a `writeHeader` per header, and each string crossing into uWS costs a call,
 * a UTF-8 length pass, an allocation and a copy. No new way to inject a line: uWS never checked
 * values for CR/LF; a function's headers are checked (responses.ts checkFunctionResponse) and the
 * gateway's own never hold them. `close`: a `Connection: close` the gateway writes itself (last).
 * Latin-1 headers (bytes ≥ 0x80 as single bytes) as before: the status, then one call each.
 */
export function writeHead(res: HttpResponse, out: OutgoingResponse, close: boolean): void {
  const status = statusLine(out.status);
  const headers = out.headers;
  if (out.latin1Headers === true) {
    res.writeStatus(status);
    for (const [name, value] of headers) res.writeHeader(name, NON_ASCII.test(value) ? Buffer.from(value, 'latin1') : value);
    if (close) res.writeHeader('connection', 'close');
    return;
  }
  let head = status;
  for (let i = 0; i < headers.length; i++) {
    const [n, v] = headers[i]!;
    head += '\r\n' + n + ': ' + v;
  }
  if (close) head += '\r\nconnection: close';
  res.writeStatus(head);
}

/**
 * The answer to a malformed request head (rule 8): the JSON error body followed by whitespace
 * (still valid JSON) up to more than the cork buffer, and the connection closed.
 */
export function refusalResponse(err: PlatformError): OutgoingResponse {
  const json = errorBody(err);
  const retryAfter = retryAfterOf(err);
  return {
    status: err.status,
    headers: retryAfter === null ? [...ERROR_HEADERS] : [...ERROR_HEADERS, ['retry-after', retryAfter]],
    body: json + ' '.repeat(Math.max(0, CORK_BUFFER_BYTES - json.length)) + '\n',
    closeConnection: true,
  };
}
