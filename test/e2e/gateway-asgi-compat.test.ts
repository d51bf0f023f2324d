/**
 * FastAPI apps as under uvicorn where a user would notice (issue 10).
 *
 * Response framing: a body the app sends in pieces under
 * a Content-Length of its own goes out with that Content-Length, not chunked. That is every
 * response of an app with `@app.middleware("http")` (Starlette's BaseHTTPMiddleware re-sends the
 * body as a stream), a FileResponse larger than one read, a multi-range answer. A body that runs
 * past its announced length or ends short of it drops the connection, so no client takes it for
 * whole. A stream without a Content-Length stays chunked.
 *
 * Header bytes: Starlette encodes header text as Latin-1 (`café` is the byte E9); uvicorn sends
 * those bytes, so the platform does too, not their UTF-8 re-encoding (`cafÃ©` in a browser).
 *
 * A request target with a fragment (`/x#frag`; no client should send one) is read without it, as
 * uvicorn's parser does, not with `#frag` in the path or the query.
 *
 * WebSockets (docs/adr/0126-websockets.md; gateway-websocket.test.ts has the rest): the handshake
 * reaches the app's `@app.websocket` route, and another upgrade (h2c) is an ordinary request.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { describe, test } from 'node:test';
import { RawWebSocket } from '../helpers/ws-client.js';
import { reporter } from './app-reporter.js';
import { errorOf, fnName, py, request, useGateway } from './gateway-harness.js';

const APP = py(
  'import os',
  'from fastapi import FastAPI, Request, WebSocket',
  'from fastapi.responses import FileResponse, Response, StreamingResponse',
  '',
  'app = FastAPI()',
  'BIG = "/tmp/big.bin"',
  'with open(BIG, "wb") as f:',
  '    f.write(bytes(range(256)) * (12 * 1024 * 1024 // 256 + 7))',
  '',
  '@app.middleware("http")',
  'async def tag(request: Request, call_next):',
  '    response = await call_next(request)',
  '    response.headers["x-tagged"] = "1"',
  '    return response',
  '',
  '@app.get("/json")',
  'async def as_json():',
  '    return {"items": list(range(100))}',
  '',
  '@app.get("/file")',
  'async def file():',
  '    return FileResponse(BIG)',
  '',
  '@app.get("/chunked")',
  'async def chunked():',
  '    async def pieces():',
  '        yield b"a"',
  '        yield b"b"',
  '    return StreamingResponse(pieces())',
  '',
  'def lying(declared, pieces):',
  '    async def asgi(scope, receive, send):',
  '        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(declared).encode())]})',
  '        for i, piece in enumerate(pieces):',
  '            await send({"type": "http.response.body", "body": piece, "more_body": i < len(pieces) - 1})',
  '    return asgi',
  '',
  'NAMED = {"X-Name": "café", "Content-Disposition": \'attachment; filename="résumé.pdf"\'}',
  '',
  '@app.get("/latin1")',
  'async def latin1():',
  '    return Response("ok", headers=NAMED)',
  '',
  '@app.get("/latin1-stream")',
  'async def latin1_stream():',
  '    async def pieces():',
  '        yield b"o"',
  '        yield b"k"',
  '    return StreamingResponse(pieces(), headers=NAMED)',
  '',
  '@app.get("/where/{rest:path}")',
  'async def where(request: Request, rest: str):',
  '    return {"rest": rest, "raw_path": request.scope["raw_path"].decode(), "query": request.scope["query_string"].decode()}',
  '',
  '@app.websocket("/ws")',
  'async def ws(websocket: WebSocket):',
  '    await websocket.accept()',
  '    await websocket.send_text("hello")',
  '',
  'app.mount("/short", lying(10, [b"abc", b"de"]))',
  'app.mount("/long", lying(4, [b"abc", b"def"]))',
);


// No @app.middleware("http") here: Starlette's BaseHTTPMiddleware hides the disconnect from
// request.is_disconnected() under uvicorn too (its receive wrapper loses the message to the
// already-cancelled scope is_disconnected polls with).
const WATCHER = py(
  'from fastapi import FastAPI, Request',
  '',
  'app = FastAPI()',
  '',
  '@app.get("/watch")',
  'async def watch(request: Request, report: str):',
  '    import asyncio, time, urllib.request',
  '    await asyncio.to_thread(urllib.request.urlopen, report + "?started", None, 10)',
  '    t0 = time.monotonic()',
  '    while time.monotonic() - t0 < 10:',
  '        if await request.is_disconnected():',
  '            await asyncio.to_thread(urllib.request.urlopen, report + "?disconnected", None, 10)',
  '            return {"gone": True}',
  '        await asyncio.sleep(0.02)',
  '    await asyncio.to_thread(urllib.request.urlopen, report + "?never", None, 10)',
  '    return {"gone": False}',
);

// No middleware: FastAPI sends a whole response in one body message (APP's middleware re-streams it).
const HUGE = py(
  'import asyncio',
  'from fastapi import FastAPI, Response',
  'from starlette.background import BackgroundTask',
  'app = FastAPI()',
  '@app.get("/huge")',
  'def huge(background: bool = False):',
  '    return Response(b"z" * (65 * 2**20), media_type="application/octet-stream",',
  '                    background=BackgroundTask(asyncio.sleep, 0.3) if background else None)',
);

const name = fnName('framing');
const huge = fnName('huge');
const watcher = fnName('watcher');
const h = useGateway({
  [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 20s' },
  [huge]: { files: { 'app.py': HUGE }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 20s\n  memory: 512Mi' },
  [watcher]: { files: { 'app.py': WATCHER }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 20s' },
});

/** A GET whose outcome is the response or the error the connection ended with. */
function outcome(path: string): Promise<{ headers?: http.IncomingHttpHeaders; body?: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(`${h.url}/fn/${name}${path}`, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ headers: res.headers, error: (err as NodeJS.ErrnoException).code ?? err.message }));
      res.on('aborted', () => resolve({ headers: res.headers, error: 'aborted' }));
    });
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
  });
}

describe('ASGI response framing', () => {
  test('a response re-streamed by @app.middleware("http") keeps its Content-Length', async () => {
    const res = await request(`${h.url}/fn/${name}/json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-tagged'], '1');
    assert.equal(res.headers['transfer-encoding'], undefined);
    assert.equal(res.headers['content-length'], String(res.body.byteLength));
    assert.deepEqual(JSON.parse(res.body.toString()).items.length, 100);
  });

  test('a FileResponse sent in many reads goes out with its Content-Length, whole, to a slow reader too', async () => {
    const expected = Buffer.alloc(256 * (12 * 1024 * 1024 / 256 + 7));
    for (let i = 0; i < expected.length; i++) expected[i] = i % 256;
    const digest = createHash('sha256').update(expected).digest('hex');
    for (const readDelayMs of [0, 300]) {
      const res = await request(`${h.url}/fn/${name}/file`, { readDelayMs });
      assert.equal(res.status, 200);
      assert.equal(res.headers['transfer-encoding'], undefined);
      assert.equal(res.headers['content-length'], String(expected.length));
      assert.equal(res.body.byteLength, expected.length);
      assert.equal(createHash('sha256').update(res.body).digest('hex'), digest);
    }
  });

  test('a whole body past the frame limit (65 MiB in one message) is sent, as uvicorn sends it, with its Content-Length', async () => {
    // It was 502 FUNCTION_BAD_RESPONSE ("response of … bytes exceeds the … byte limit"): peer app bigbody.
    for (const query of ['', '?background=true']) {
      const res = await request(`${h.url}/fn/${huge}/huge${query}`);
      assert.equal(res.status, 200, query);
      assert.equal(res.headers['content-length'], String(65 * 2 ** 20));
      assert.equal(res.body.byteLength, 65 * 2 ** 20);
      assert.ok(res.body.every((b) => b === 0x7a), query);
    }
  });

  test('a stream without a Content-Length is still chunked', async () => {
    const res = await request(`${h.url}/fn/${name}/chunked`);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body.toString(), 'ab');
  });

  test('a body shorter or longer than its Content-Length drops the connection', async () => {
    for (const path of ['/short/', '/long/']) {
      const got = await outcome(path);
      assert.ok(got.error !== undefined, `${path}: ${JSON.stringify(got.body?.toString())} taken for whole`);
    }
    // The connection was the only casualty: the function still answers.
    assert.equal((await request(`${h.url}/fn/${name}/json`)).status, 200);
  });
});

describe('header bytes', () => {
  test("an ASGI app's non-ASCII header values go out as the bytes it sent (Latin-1), whole or streamed", async () => {
    for (const path of ['/latin1', '/latin1-stream']) {
      const res = await request(`${h.url}/fn/${name}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'ok');
      // node:http reads header bytes as Latin-1: the app's bytes give back the app's text.
      assert.equal(res.headers['x-name'], 'café', path);
      assert.equal(res.headers['content-disposition'], 'attachment; filename="résumé.pdf"', path);
    }
  });
});

describe('WebSockets', () => {
  test('a WebSocket handshake reaches the app\'s WebSocket route; another upgrade is an ordinary request', async () => {
    const ws = await RawWebSocket.connect(`${h.url.replace('http:', 'ws:')}/fn/${name}/ws`);
    assert.deepEqual(await ws.next(), { kind: 'text', text: 'hello' });
    assert.equal((await ws.closed()).code, 1000, 'the app returned: the server closes');
    // Another upgrade (h2c, as curl --http2 sends it) is an ordinary request.
    const h2c = await request(`${h.url}/fn/${name}/json`, { headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA' } });
    assert.equal(h2c.status, 200);
  });
});

describe('request targets', () => {
  /** The body of a GET for `target` sent as is over a socket (node:http and fetch drop fragments). */
  function rawGet(target: string | Buffer): Promise<string> {
    return rawAnswer(target).then((answer) => answer.split('\r\n\r\n').slice(1).join('\r\n\r\n'));
  }

  /** The whole answer (head and body) to a GET for `target`, sent as these bytes; the connection closes after it. */
  function rawAnswer(target: string | Buffer, method = 'GET'): Promise<string> {
    const { port } = new URL(h.url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write(Buffer.concat([Buffer.from(`${method} `), Buffer.from(target), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')]));
      });
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
      socket.on('error', reject);
    });
  }

  test('a browser opening /fn/<name> without its last slash is redirected to /fn/<name>/ (its relative URLs then reach the function); an API client is not', async () => {
    const page = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const moved = await request(`${h.url}/fn/${name}?a=1&b=%20`, { headers: page });
    assert.equal(moved.status, 308);
    assert.equal(moved.headers.location, `/fn/${name}/?a=1&b=%20`);
    assert.equal(moved.headers['cache-control'], 'no-store');
    assert.equal(moved.headers.vary, 'Accept'); // a shared cache keys it on Accept
    assert.equal((await request(`${h.url}/fn/${name}`, { method: 'HEAD', headers: page })).headers.location, `/fn/${name}/`);
    // Where it leads: the app's own `/` (this app has none: FastAPI's 404).
    const there = await request(`${h.url}${moved.headers.location}`, { headers: page });
    assert.deepEqual([there.status, JSON.parse(there.body.toString())], [404, { detail: 'Not Found' }]);
    // Not redirected: JSON or no Accept, another method, a path after the name.
    for (const [target, opts] of [[`/fn/${name}`, { headers: { accept: 'application/json' } }], [`/fn/${name}`, {}], [`/fn/${name}`, { method: 'POST', headers: page }], [`/fn/${name}/json`, { headers: page }]] as const) {
      const answer = await request(`${h.url}${target}`, opts);
      assert.notEqual(answer.status, 308, `${target} ${JSON.stringify(opts)}`);
      assert.equal(answer.headers.location, undefined);
      // The app's answer to a GET of the bare name depends on Accept too; other requests are the app's own.
      const bareGet = target === `/fn/${name}` && !('method' in opts);
      assert.equal(answer.headers.vary, bareGet ? 'Accept' : undefined, `${target} ${JSON.stringify(opts)}`);
    }
  });

  test('a fragment in the request target is dropped, from the path or the query', async () => {
    assert.deepEqual(JSON.parse(await rawGet(`/fn/${name}/where/a#frag`)), { rest: 'a', raw_path: `/fn/${name}/where/a`, query: '' });
    assert.deepEqual(JSON.parse(await rawGet(`/fn/${name}/where/a?q=1#frag`)), { rest: 'a', raw_path: `/fn/${name}/where/a`, query: 'q=1' });
    assert.deepEqual(JSON.parse(await rawGet(`/fn/${name}/where/a#frag?q=1`)), { rest: 'a', raw_path: `/fn/${name}/where/a`, query: '' });
  });

  test('bytes outside ASCII in the request target are refused with 400 BAD_REQUEST, as uvicorn refuses them', async () => {
    // Clients percent-encode them (RFC 3986); sent raw, uWS handed JavaScript a decoded text, and
    // the app got a path of U+FFFD (Latin-1 é) or a raw_path and query_string encoded twice
    // (UTF-8 é): bytes the client never sent. uvicorn answers 400 "Invalid HTTP request received.".
    // DEL (0x7f) too, which the native parser passed to the app where uvicorn answers 400 (differential round 3).
    for (const target of [Buffer.from(`/fn/${name}/where/caf\xe9`, 'latin1'), Buffer.from(`/fn/${name}/where/café?q=é`, 'utf8'), Buffer.from(`/fn/${name}/where/a?q=\xe9`, 'latin1'),
      Buffer.from(`/fn/${name}/where/a\x7fb`, 'latin1'), Buffer.from(`/fn/${name}/where/a?q=\x7f`, 'latin1')]) {
      const answer = await rawAnswer(target);
      assert.match(answer, /^HTTP\/1\.1 400 /, target.toString('latin1'));
      const body = answer.split('\r\n\r\n').slice(1).join('');
      assert.equal(errorOf(Buffer.from(body)).code, 'BAD_REQUEST');
    }
    // Percent-encoded, the same text reaches the app as it does under uvicorn.
    assert.deepEqual(JSON.parse(await rawGet(`/fn/${name}/where/caf%C3%A9?q=%E9`)), { rest: 'café', raw_path: `/fn/${name}/where/caf%C3%A9`, query: 'q=%E9' });
  });

  test('the method reaches the app as sent: `get` is not GET (RFC 9110 §9.1), so FastAPI answers 405 as under uvicorn', async () => {
    assert.match(await rawAnswer(`/fn/${name}/where/a`, 'get'), /^HTTP\/1\.1 405 /);
    assert.match(await rawAnswer(`/fn/${name}/where/a`, 'GET'), /^HTTP\/1\.1 200 /);
  });

  test('a request with Connection: close is answered with Connection: close, as uvicorn answers it', async () => {
    // RFC 9112 §9.6: the server closes the connection after that response and SHOULD say so.
    const refused = Buffer.from(`/fn/${name}/where/caf\xe9`, 'latin1'); // 400 BAD_REQUEST, closed by the gateway too
    for (const target of [`/fn/${name}/where/a`, `/fn/${name}/chunked`, `/fn/${name}/file`, `/fn/${fnName('nope')}/`, '/healthz', refused]) {
      const head = (await rawAnswer(target)).split('\r\n\r\n')[0]!;
      const connection = head.split('\r\n').filter((line) => /^connection:/i.test(line));
      assert.deepEqual(connection.map((line) => line.toLowerCase()), ['connection: close'], target.toString());
    }
  });
});

describe('client disconnects', () => {
  test('a client that leaves before the answer is seen by the app (request.is_disconnected()), as under uvicorn', async () => {
    // The app reports to this server: when its handler started, then what it saw.
    const r = await reporter();
    try {
      let seen = r.next();
      const req = http.get(`${h.url}/fn/${watcher}/watch?report=${encodeURIComponent(r.url)}`, { agent: false });
      req.on('error', () => {}); // ours: destroyed below
      await seen;
      assert.deepEqual(r.reports, ['started']);
      seen = r.next();
      req.destroy(); // the client leaves while the handler runs, before any answer
      await seen;
      assert.deepEqual(r.reports, ['started', 'disconnected']);
    } finally {
      await r.close();
    }
  });
});
