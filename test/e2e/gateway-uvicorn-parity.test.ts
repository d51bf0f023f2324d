/**
 * Where real apps noticed a difference from uvicorn (apps round 7), each compared with what
 * uvicorn 0.54 sends for the same app:
 *
 * - an app's own `Date` header goes out (uvicorn sends its own, then the app's: a proxy app that
 *   copies an upstream answer's headers, an app that serves a cached answer's date);
 * - a HEAD answer for a streamed body of unknown length says `Transfer-Encoding: chunked`, as its
 *   GET answer does (uvicorn's HEAD answer says it too), and has no body;
 * - an app's second `http.response.start` raises in the app and the first one stands
 *   (differential round 3: the second replaced the first, its status and headers sent).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { fnName, py, request, useGateway } from './gateway-harness.js';

const APP = py(
  'from fastapi import FastAPI',
  'from fastapi.responses import PlainTextResponse, StreamingResponse',
  '',
  'app = FastAPI()',
  'UPSTREAM_DATE = "Mon, 01 Jan 2001 00:00:00 GMT"',
  '',
  '@app.api_route("/dated", methods=["GET", "HEAD"])',
  'async def dated():',
  '    return PlainTextResponse("cached", headers={"date": UPSTREAM_DATE, "x-cache": "HIT"})',
  '',
  '@app.api_route("/stream", methods=["GET", "HEAD"])',
  'async def stream():',
  '    async def pieces():',
  '        yield b"a"',
  '        yield b"b"',
  '    return StreamingResponse(pieces(), media_type="text/plain")',
);

const HANDLER = py(
  'def handler(event, context):',
  '    return {"statusCode": 200, "headers": {"Date": "Mon, 01 Jan 2001 00:00:00 GMT"}, "body": "ok"}',
);

// A raw ASGI app that sends its head twice (an error handler after the app's own start).
const TWICE = py(
  'async def app(scope, receive, send):',
  '    if scope["type"] != "http":',
  '        return',
  '    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-first", b"1")]})',
  '    try:',
  '        await send({"type": "http.response.start", "status": 500, "headers": [(b"x-second", b"1")]})',
  '        said = b"accepted"',
  '    except RuntimeError as err:',
  '        said = str(err).encode()',
  '    await send({"type": "http.response.body", "body": said})',
);

const name = fnName('parity');
const twice = fnName('twice');
const handler = fnName('dated');
const h = useGateway({
  [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app' },
  [handler]: { files: { 'main.py': HANDLER }, manifest: 'entrypoint: main:handler' },
  [twice]: { files: { 'app.py': TWICE }, manifest: 'entrypoint: app:app' },
});

/** The head of the answer to `method target` sent over a socket, as [status line, [name, value] lines]. */
function rawHead(method: string, target: string): Promise<{ status: string; headers: [string, string][]; rest: string }> {
  const { port } = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [status = '', ...lines] = head.split('\r\n');
      const headers = lines.map((line): [string, string] => {
        const at = line.indexOf(':');
        return [line.slice(0, at).toLowerCase(), line.slice(at + 1).trim()];
      });
      resolve({ status, headers, rest: rest.join('\r\n\r\n') });
    });
    socket.on('error', reject);
  });
}

const valuesOf = (headers: [string, string][], name: string): string[] => headers.filter(([n]) => n === name).map(([, v]) => v);

describe("the app's own Date header", () => {
  test('goes out beside the server\'s, as under uvicorn (ASGI and handler-style)', async () => {
    for (const target of [`/fn/${name}/dated`, `/fn/${handler}/`]) {
      const answer = await rawHead('GET', target);
      assert.match(answer.status, /^HTTP\/1\.1 200 /, target);
      const dates = valuesOf(answer.headers, 'date');
      assert.ok(dates.includes('Mon, 01 Jan 2001 00:00:00 GMT'), `${target}: ${JSON.stringify(dates)}`);
      // The server's own date is still there, once.
      assert.equal(dates.filter((d) => d !== 'Mon, 01 Jan 2001 00:00:00 GMT').length, 1, JSON.stringify(dates));
    }
  });
});

describe('HEAD on a streamed response', () => {
  test('says Transfer-Encoding: chunked with no body, as its GET answer and uvicorn do', async () => {
    const get = await request(`${h.url}/fn/${name}/stream`);
    assert.equal(get.headers['transfer-encoding'], 'chunked');
    assert.equal(get.body.toString(), 'ab');
    const head = await rawHead('HEAD', `/fn/${name}/stream`);
    assert.match(head.status, /^HTTP\/1\.1 200 /);
    assert.deepEqual(valuesOf(head.headers, 'transfer-encoding'), ['chunked']);
    assert.deepEqual(valuesOf(head.headers, 'content-length'), []);
    assert.equal(head.rest, '', 'no body bytes, not even a last chunk');
    // The connection is still usable after it: a keep-alive HEAD then a GET on one socket.
    const agentHead = await request(`${h.url}/fn/${name}/stream`, { method: 'HEAD' });
    assert.equal(agentHead.status, 200);
    assert.equal(agentHead.body.byteLength, 0);
  });

  test('a whole body still announces its Content-Length and no Transfer-Encoding', async () => {
    const head = await rawHead('HEAD', `/fn/${name}/dated`);
    assert.deepEqual(valuesOf(head.headers, 'content-length'), ['6']);
    assert.deepEqual(valuesOf(head.headers, 'transfer-encoding'), []);
  });
});

describe('an app that sends http.response.start twice', () => {
  test('gets uvicorn\'s RuntimeError at the second, and the client the first status and headers', async () => {
    const answer = await request(`${h.url}/fn/${twice}/`);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['x-first'], '1');
    assert.equal(answer.headers['x-second'], undefined);
    assert.equal(answer.body.toString(), "Expected ASGI message 'http.response.body', but got 'http.response.start'.");
  });
});
