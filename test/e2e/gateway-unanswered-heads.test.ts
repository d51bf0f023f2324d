/**
 * Heads the native parser left waiting (no answer until uWS's idle timeout, about 10 s) before
 * scripts/patch-uws.mjs fix 14 (docs/adr/0254-the-parser-answers-what-it-left-waiting.md, apps
 * round 33), over raw sockets: a malformed head is the parser's JSON 400 at once, empty lines
 * before a request line are skipped (RFC 9112 §2.2), a head split between reads anywhere is still
 * served (a split inside the version, or right after the method's space, was 505), and a head
 * trickled a byte a second (slowloris) is closed unanswered at the idle timeout. A head holding CR
 * `a` (the bytes of the parser's fence) waited too until fix 15 (ADR 0254 amended, apps round 34).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, useGateway } from './gateway-harness.js';
import { assertNativeAnswer } from './native-refusal.js';
import { rawExchange } from './raw-exchange.js';

const OK = fnName('ok');
const h = useGateway({
  [OK]: { files: { 'main.py': py('def handler(event, context):', '    return {"method": event["method"], "size": len(event["body"] or "")}') } },
});

const GET = `GET /fn/${OK}/ HTTP/1.1\r\nHost: x\r\n\r\n`;
const withHeader = (...lines: string[]): string => `GET /fn/${OK}/ HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;

/** The statuses of the whole responses in `text`, in order. */
function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Served: one 200 from the function (the client closes once it came). */
async function assertServed(pieces: string[], gapMs = 50): Promise<void> {
  const answer = await rawExchange(h.gateway.port, pieces, { gapMs, waitMs: 5000, until: (d) => /\r\n\r\n\{[^}]*\}/.test(d.toString('latin1')) });
  assert.deepEqual(statuses(answer.text), [200], JSON.stringify(pieces));
  assert.match(answer.text, /"method": ?"GET"/);
}

describe('heads the native parser left waiting: 400 BAD_REQUEST at once, the connection closed', () => {
  const refused: [string, string][] = [
    ['a garbage request line', 'GARBAGE\r\n\r\n'],
    ['a request line without a version (HTTP/0.9; uvicorn serves it)', `GET /fn/${OK}/\r\n\r\n`],
    ['NUL in a header value', withHeader('X-A: a\0b')],
    ['0x01 in a header value', withHeader('X-A: a\x01b')],
    ['ESC in a header value', withHeader('X-A: a\x1bb')],
    ['a bare LF in a header value', withHeader('X-A: a\nX-B: b')],
    ['a CR without LF in a header value', withHeader('X-A: a\rb')],
    ['a space in a header name', withHeader('X A: b')],
    ['DEL in a header name', withHeader('X\x7fA: b')],
    ['a field line without a colon', withHeader('X-A')],
    ['an obs-fold continuation line (RFC 9112 §5.2)', withHeader('X-A: a', ' b')],
    ['a space before the colon', withHeader('Transfer-Encoding : chunked')],
    ['a CR without LF where the next field line starts', `GET /fn/${OK}/ HTTP/1.1\r\nHost: x\r\n\rX\r\n\r\n`],
    // CR `a` is what the parser fences the data's end with: taken for it, each of these waited
    // for the idle timeout until fix 15 (the fence carries its own address after it).
    ['a CR followed by `a` in a header value', withHeader('X-A: x\ray')],
    ['a CR followed by `a` ending a header value', withHeader('X-A: x\ra')],
    ['a CR followed by `a` in a header name', withHeader('X-\ra: y')],
    ['a CR followed by `a` ending the target', `GET /fn/${OK}/\ra HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a CR followed by `a` where a field line starts', `GET /fn/${OK}/ HTTP/1.1\r\nHost: x\r\n\ra\r\n\r\n`],
  ];
  for (const [what, request] of refused) {
    it(`${what}: 400`, async () => {
      const started = Date.now();
      assertNativeAnswer(await rawExchange(h.gateway.port, [request], { waitMs: 3000 }), 400);
      assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
    });
  }
  it('also when the head came in reads split before the offending byte', async () => {
    const request = withHeader('X-A: a', ' b');
    for (const at of [3, 20, request.indexOf(' b') - 1, request.indexOf(' b')]) {
      assertNativeAnswer(await rawExchange(h.gateway.port, [request.slice(0, at), request.slice(at)], { gapMs: 100, waitMs: 3000 }), 400);
    }
  });
  it('a CR followed by `a` where the target starts or after the version: the parser\'s 505 at once (they waited; fix 15)', async () => {
    for (const request of [`GET \ra/ HTTP/1.1\r\nHost: x\r\n\r\n`, `GET /fn/${OK}/ HTTP/1.1\ra\r\nHost: x\r\n\r\n`]) {
      assertNativeAnswer(await rawExchange(h.gateway.port, [request], { waitMs: 3000 }), 505);
    }
  });
  it('the parser still serves other connections', () => assertServed([GET]));
});

describe('empty lines before the request line are skipped (RFC 9112 §2.2), as uvicorn does', () => {
  for (const n of [1, 2, 3]) it(`${n} CRLF before it: served`, () => assertServed(['\r\n'.repeat(n) + GET]));
  it('in reads of their own, a CR and its LF apart too', () => assertServed(['\r', '\n', '\r\n', GET]));
  it('a client that ends a POST\'s body with an extra CRLF gets its next request on the connection answered', async () => {
    // The next request after the answer: one pipelined behind a call in progress is not served ("Pipelining").
    await assertServed([GET]); // warm
    const post = `POST /fn/${OK}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\r\n`;
    const last = `GET /fn/${OK}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const answer = await rawExchange(h.gateway.port, [post, last], { gapMs: 2000, waitMs: 8000 });
    assert.deepEqual(statuses(answer.text), [200, 200], answer.text);
  });
});

describe('a head split between two reads anywhere is served', () => {
  // A split inside ` HTTP/1.1\r\n`, right after the method's space or inside an absolute-form
  // scheme was the parser's 505 (read as a bad version or target) before fix 14.
  it('every split of a request line and Host', async () => {
    for (let at = 1; at < GET.length; at++) await assertServed([GET.slice(0, at), GET.slice(at)], 30);
  });
  it('an absolute-form target split inside its scheme', () => assertServed([`GET htt`, `p://x/fn/${OK}/ HTTP/1.1\r\nHost: x\r\n\r\n`]));
});

describe('slowloris: a head trickled a byte a second', () => {
  it('is closed unanswered at uWS\'s idle timeout (about 10 s after its first byte; no 408), however many bytes came', { timeout: 30_000 }, async () => {
    const head = `GET /fn/${OK}/ HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(40)}`;
    const started = Date.now();
    const answer = await rawExchange(h.gateway.port, [...head], { gapMs: 1000, waitMs: 20_000 });
    const ms = Date.now() - started;
    assert.equal(answer.text, '', 'no answer');
    assert.ok(answer.closed, 'closed by the server');
    assert.ok(ms > 6_000 && ms < 16_000, `closed after ${ms} ms`);
  });
});
