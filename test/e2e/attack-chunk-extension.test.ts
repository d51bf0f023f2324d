/**
 * Differential round 3 (diff3): the native parser read a chunk extension as part of the chunk's
 * size. Its digit conversion took `:;<=>?@` for the digits 10-16 and `G`/`g` for 16, so `1;` was
 * 0x1b and `0;0` was 0xb0: a proxy in front that honours the extension (RFC 9112 §7.1.1) and the
 * gateway read another body length, and a request hidden in the next one ran where the proxy
 * never saw it. `scripts/patch-uws.mjs`, seventh stage (ADR 0154): only 0-9, A-F and a-f are
 * digits, anything else is the parser's 400 with the connection closed. Over raw sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, sleep, useGateway } from './gateway-harness.js';
import { rawExchange, type RawAnswer } from './raw-exchange.js';

const ECHO = fnName('echo');

const h = useGateway({
  [ECHO]: {
    manifest: 'entrypoint: app:app',
    files: {
      'app.py': py(
        'async def app(scope, receive, send):',
        '    if scope["type"] != "http":',
        '        return',
        '    body = (await receive())["body"]',
        '    await send({"type": "http.response.start", "status": 200, "headers": []})',
        '    await send({"type": "http.response.body", "body": b"q=" + scope["query_string"] + b" len=%d" % len(body)})',
      ),
    },
  },
});

/** Writes `data` on a fresh connection; what came back once the server closed it or `waitMs` passed. */
const exchange = (data: string, waitMs = 3000): Promise<RawAnswer> => rawExchange(h.gateway.port, [data], { waitMs });

function statuses(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]!);
}

const chunkedPost = (target: string, chunks: string): string =>
  `POST ${target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`;

describe('a chunk extension is never read as part of the chunk size (diff3, ADR 0154)', () => {
  it('"1;" then 27 bytes: 400, connection closed, the function never ran (was: a 27-byte body, 200)', async () => {
    const before = h.runs.list().length;
    const answer = await exchange(chunkedPost(`/fn/${ECHO}/`, `1;\r\n${'A'.repeat(27)}\r\n0\r\n\r\n`));
    assert.deepEqual(statuses(answer.text), ['400'], answer.text);
    assert.ok(answer.closed, 'the server closes the connection');
    await sleep(200);
    // The parser's close reaches the gateway as the client's: at most a CLIENT_CLOSED_REQUEST run, never an answer.
    const runs = h.runs.list().slice(before);
    assert.ok(runs.every((r) => r.status === 'failed' && r.errorCode === 'CLIENT_CLOSED_REQUEST'), JSON.stringify(runs));
  });

  for (const digit of [':', ';', '<', '=', '>', '?', '@', 'G', 'g']) {
    it(`"5${digit}" as a chunk size: 400`, async () => {
      const answer = await exchange(chunkedPost(`/fn/${ECHO}/`, `5${digit}\r\nhello\r\n0\r\n\r\n`));
      assert.deepEqual(statuses(answer.text), ['400'], answer.text);
      assert.ok(answer.closed);
    });
  }

  it('a request hidden behind a last chunk with an extension ("0;0") does not run', async () => {
    // A proxy's view: two POSTs to /healthz (the first chunked, its body the last chunk with an
    // extension; the second with a Content-Length). The unmended parser read "0;0" as 0xb0 bytes
    // (a CRLF and the second request's head), then the second request's body: the body's end and
    // a GET to the function, which ran.
    const hidden = `GET /fn/${ECHO}/?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n`;
    const body2 = `0\r\n\r\n${hidden}`;
    let head2 = `POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: ${body2.length}\r\n`;
    head2 += `X-Pad: ${'p'.repeat(0xb0 - 2 - head2.length - 'X-Pad: \r\n'.length)}\r\n`;
    assert.equal(2 + head2.length, 0xb0);
    const before = h.runs.list().length;
    const answer = await exchange(`${chunkedPost('/healthz', '0;0\r\n\r\n')}${head2}\r\n${body2}`);
    assert.doesNotMatch(answer.text, /smuggled/);
    assert.deepEqual(statuses(answer.text), ['400'], answer.text);
    await sleep(200);
    assert.deepEqual(h.runs.list().slice(before), [], 'the hidden GET never reached the function');
  });

  it('a chunked body without extensions is still read whole (sizes in both cases of hex)', async () => {
    const answer = await exchange(chunkedPost(`/fn/${ECHO}/?ok`, `A\r\n0123456789\r\nb\r\n0123456789a\r\n0\r\n\r\n`), 1500);
    assert.deepEqual(statuses(answer.text), ['200'], answer.text);
    assert.match(answer.text, /q=ok len=21/);
  });
});
