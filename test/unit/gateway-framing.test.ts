/** The request-head checks the uWS adapter makes before any route sees a request (pure). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequestHead, MAX_HEADER_BYTES, type Framing } from '../../gateway/http-framing.js';
import type { Pairs } from '../../protocol/index.js';

function head(headers: Pairs, url = '/fn/x/'): Framing {
  return checkRequestHead('POST', url, '', [['host', 'x'], ...headers]);
}

function code(framing: Framing): string {
  return framing.ok ? 'ok' : framing.error.code;
}

describe('checkRequestHead', () => {
  it('reads Content-Length, chunked, or no body', () => {
    assert.deepEqual(head([['content-length', '5']]), { ok: true, contentLength: 5, chunked: false });
    assert.deepEqual(head([['content-length', '005']]), { ok: true, contentLength: 5, chunked: false });
    assert.deepEqual(head([['transfer-encoding', 'Chunked']]), { ok: true, contentLength: null, chunked: true });
    assert.deepEqual(head([]), { ok: true, contentLength: null, chunked: false });
  });

  it('answers every request without a body with the same frozen framing (no object per request)', () => {
    const a = checkRequestHead('GET', '/a', '', [['host', 'x']]);
    const b = checkRequestHead('GET', '/b', 'q=1', [['host', 'y'], ['accept', '*/*']]);
    assert.equal(a, b);
    assert.deepEqual(a, { ok: true, contentLength: null, chunked: false });
    assert.ok(Object.isFrozen(a));
  });
  it('refuses every Content-Length that is not one decimal number', () => {
    for (const value of ['-1', '+5', '5a', '5, 5', '', '0x10', '1e3']) {
      assert.equal(code(head([['content-length', value]])), 'BAD_REQUEST', JSON.stringify(value));
    }
  });

  it('keeps a huge decimal Content-Length as a number (the adapter refuses it as too large)', () => {
    const framing = head([['content-length', '99999999999999999999']]);
    assert.ok(framing.ok && framing.contentLength !== null && framing.contentLength > 1e19);
  });

  it('refuses repeated Content-Length, equal or not: never "first wins"', () => {
    assert.equal(code(head([['content-length', '51'], ['content-length', '5']])), 'BAD_REQUEST');
    assert.equal(code(head([['content-length', '5'], ['content-length', '5']])), 'BAD_REQUEST');
  });

  it('refuses Content-Length with Transfer-Encoding, codings other than chunked, and repeated Transfer-Encoding', () => {
    assert.equal(code(head([['content-length', '5'], ['transfer-encoding', 'chunked']])), 'BAD_REQUEST');
    for (const value of ['gzip', 'gzip, chunked', 'chunked, gzip', 'identity']) {
      assert.equal(code(head([['transfer-encoding', value]])), 'BAD_REQUEST', value);
    }
    assert.equal(code(head([['transfer-encoding', 'chunked'], ['transfer-encoding', 'chunked']])), 'BAD_REQUEST');
  });

  it('refuses Host given twice', () => {
    assert.equal(code(head([['host', 'y']])), 'BAD_REQUEST');
  });
  it('refuses a method that is not a token: what a trailer field line becomes in the native parser', () => {
    for (const method of ['', ':', 'X:', 'UGGLED:', 'G ET', 'GET\x7f']) {
      assert.equal(code(checkRequestHead(method, '/fn/x/', '', [['host', 'x']])), 'BAD_REQUEST', JSON.stringify(method));
    }
    for (const method of ['GET', 'QUERY', 'PROPFIND', 'M-SEARCH']) assert.equal(code(checkRequestHead(method, '/fn/x/', '', [['host', 'x']])), 'ok');
  });
  it('refuses control characters in values (HTAB and non-ASCII are fine) and names that are not tokens', () => {
    for (const value of ['a\x7fb', 'a\x01b', 'a\x1bb', 'a\0b']) assert.equal(code(head([['x-a', value]])), 'BAD_REQUEST', JSON.stringify(value));
    assert.equal(code(head([['x-a', 'a\tb café']])), 'ok');
    assert.equal(code(head([['x a', 'v']])), 'BAD_REQUEST');
    assert.equal(code(head([['x\x7fa', 'v']])), 'BAD_REQUEST');
  });

  it(`refuses a head over ${MAX_HEADER_BYTES} bytes with 431, counting the URL too`, () => {
    assert.equal(code(head([['x-big', 'a'.repeat(MAX_HEADER_BYTES - 200)]])), 'ok');
    assert.equal(code(head([['x-big', 'a'.repeat(MAX_HEADER_BYTES)]])), 'REQUEST_HEADERS_TOO_LARGE');
    assert.equal(code(head([], `/fn/x/${'a'.repeat(MAX_HEADER_BYTES)}`)), 'REQUEST_HEADERS_TOO_LARGE');
    const many: Pairs = Array.from({ length: 45 }, (_, i) => [`x-h${i}`, 'v'.repeat(400)]);
    const refused = head(many);
    assert.ok(!refused.ok && refused.error.status === 431 && refused.error.details['limitBytes'] === MAX_HEADER_BYTES);
  });

  it('refuses a request target or query with a byte outside ASCII (uvicorn answers 400 too)', () => {
    for (const url of ['/fn/x/caf\u00e9', '/fn/x/caf\ufffd', '/fn/x/\u00c3\u00a9']) assert.equal(code(head([], url)), 'BAD_REQUEST', JSON.stringify(url));
    assert.equal(code(checkRequestHead('GET', '/fn/x/', 'q=\u00e9', [['host', 'x']])), 'BAD_REQUEST');
    // DEL is no URI character either (differential round 3: the native parser passed it on).
    assert.equal(code(head([], '/fn/x/a\x7fb')), 'BAD_REQUEST');
    assert.equal(code(checkRequestHead('GET', '/fn/x/', 'q=\x7f', [['host', 'x']])), 'BAD_REQUEST');
    assert.equal(code(checkRequestHead('GET', '/fn/x/caf%C3%A9', 'q=%E9&r=a+b', [['host', 'x']])), 'ok');
  });

  it('refuses a Host outside RFC 3986 host syntax (userinfo, path, space, non-ASCII) and keeps every valid one', () => {
    const host = (value: string): string => code(checkRequestHead('GET', '/', '', [['host', value]]));
    for (const value of ['user@fn.localhost', 'u:p@fn.localhost:8080', '@fn.localhost', 'fn.localhost/x', 'fn.localhost?a', 'fn.localhost#a', 'a b.localhost', 'fn.localhost:80a', 'caf\u00e9.localhost', '[::1', 'fn.localhost\\x', 'fn"x', '<x>']) {
      assert.equal(host(value), 'BAD_REQUEST', JSON.stringify(value));
    }
    for (const value of ['', 'x', 'fn.localhost', 'FN.LocalHost:8080', 'fn.ws.localhost.', '127.0.0.1:80', '[::1]:8080', '[fe80::1%25eth0]', 'a_b-c~d.localhost', "a!$&'()*+,;=.localhost", 'xn--caf-dma.localhost', 'fn.localhost:', ' fn.localhost ']) {
      assert.equal(host(value), 'ok', JSON.stringify(value));
    }
  });
});

