/**
 * HTTP/1.0 clients (ApacheBench, `curl -0`, nginx's default `proxy_pass`; apps round 28, ADR 0246):
 * served as uvicorn 0.54 serves them, measured side by side with the same app: the answer (whole,
 * streamed with the app's Content-Length, or chunked), then `connection: close` and the connection
 * closed after it, a `Connection: keep-alive` ignored (uvicorn closes then too). Before, the native
 * parser answered every HTTP/1.0 request `505 HTTP Version Not Supported` before any JavaScript ran.
 * Needs the binary as scripts/patch-uws.mjs mends it (fixes 8 and 9: a Host-less HTTP/1.0 request, apps round 30;
 * fixes 10 and 11: a header-less HTTP/1.1 request answered 400 at once, no `100 Continue` to HTTP/1.0, apps round 31).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, useGateway } from './gateway-harness.js';
import { rawExchange, type RawAnswer } from './raw-exchange.js';

const APP = py(
  'from fastapi import FastAPI, Request',
  'from fastapi.responses import StreamingResponse',
  '',
  'app = FastAPI()',
  '',
  '@app.api_route("/where", methods=["GET", "HEAD"])',
  'async def where(request: Request):',
  '    return {"path": request.url.path, "query": request.url.query, "version": request.scope["http_version"]}',
  '',
  '@app.post("/size")',
  'async def size(request: Request):',
  '    return {"size": len(await request.body()), "version": request.scope["http_version"]}',
  '',
  '@app.get("/counted")',
  'async def counted():',
  '    async def pieces():',
  '        yield b"a" * 5',
  '        yield b"b" * 5',
  '    return StreamingResponse(pieces(), headers={"content-length": "10"})',
  '',
  '@app.get("/chunked")',
  'async def chunked():',
  '    async def pieces():',
  '        yield b"one "',
  '        yield b"two"',
  '    return StreamingResponse(pieces(), media_type="text/plain")',
);

const WSGI = py(
  'def app(environ, start_response):',
  '    start_response("200 OK", [("Content-Type", "text/plain")])',
  '    return [environ["SERVER_PROTOCOL"].encode()]',
);

/** An http.server class (ADR 0077's request handlers): `request_version` as http.server gives it. */
const HANDLER = py(
  'from http.server import BaseHTTPRequestHandler',
  '',
  'class Handler(BaseHTTPRequestHandler):',
  '    protocol_version = "HTTP/1.1"',
  '',
  '    def do_GET(self):',
  '        body = self.request_version.encode()',
  '        self.send_response(200)',
  '        self.send_header("Content-Length", str(len(body)))',
  '        self.end_headers()',
  '        self.wfile.write(body)',
);

const name = fnName('http10');
const wsgi = fnName('http10w');
const handler = fnName('http10h');
const h = useGateway({
  [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app' },
  [wsgi]: { files: { 'app.py': WSGI }, manifest: 'entrypoint: app:app' },
  [handler]: { files: { 'app.py': HANDLER }, manifest: 'entrypoint: app:Handler' },
});

interface Answer {
  status: string;
  headers: [string, string][];
  body: string;
  closed: boolean;
}

function parse(answer: RawAnswer): Answer {
  const at = answer.text.indexOf('\r\n\r\n');
  const [status = '', ...lines] = answer.text.slice(0, at).split('\r\n');
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  return { status, headers, body: answer.text.slice(at + 4), closed: answer.closed };
}

/** One request with `version`, `extra` header lines; the answer once the server closed (or `waitMs`). */
async function send(version: string, target: string, extra: string[] = [], method = 'GET', waitMs = 5000): Promise<Answer> {
  const head = [`${method} /fn/${name}${target} ${version}`, 'Host: x', ...extra].join('\r\n');
  return parse(await rawExchange(h.gateway.port, [`${head}\r\n\r\n`], { waitMs }));
}

/** A chunked body's data (the last chunk and its CRLFs required). */
function dechunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (size === 0) {
      assert.equal(body.slice(eol), '\r\n\r\n', 'the last chunk ends the body');
      return out;
    }
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 4 + size;
  }
}

const values = (a: Answer, n: string): string[] => a.headers.filter(([k]) => k === n).map(([, v]) => v);

describe('an HTTP/1.0 client', () => {
  it('is served, and the connection closes after the answer, which says so (was 505)', async () => {
    const a = await send('HTTP/1.0', '/where?a=1&b=two');
    assert.match(a.status, /^HTTP\/1\.1 200 /);
    // The version's mark never reaches the app: its path and query are the request's.
    // Its scope says HTTP/1.0, as uvicorn's does (ADR 0260; it said 1.1).
    assert.deepEqual(JSON.parse(a.body), { path: `/fn/${name}/where`, query: 'a=1&b=two', version: '1.0' });
    assert.deepEqual(values(a, 'connection'), ['close']);
    assert.ok(a.closed, 'the server closed the connection after the answer');
    // Without a query, and with an empty one.
    for (const target of ['/where', '/where?']) {
      const b = await send('HTTP/1.0', target);
      assert.equal(JSON.parse(b.body).path, `/fn/${name}/where`, target);
      assert.equal(JSON.parse(b.body).query, '', target);
    }
  });

  it('asking for keep-alive still has its connection closed, as uvicorn closes it', async () => {
    const a = await send('HTTP/1.0', '/where', ['Connection: keep-alive']);
    assert.match(a.status, /^HTTP\/1\.1 200 /);
    assert.deepEqual(values(a, 'connection'), ['close']);
    assert.ok(a.closed);
  });

  it('gets a streamed answer whole: with the app\'s Content-Length, or chunked, then the close', async () => {
    const counted = await send('HTTP/1.0', '/counted');
    assert.deepEqual(values(counted, 'content-length'), ['10']);
    assert.equal(counted.body, 'aaaaabbbbb');
    assert.deepEqual(values(counted, 'connection'), ['close']);
    assert.ok(counted.closed);
    const chunked = await send('HTTP/1.0', '/chunked');
    assert.deepEqual(values(chunked, 'transfer-encoding'), ['chunked']);
    assert.equal(dechunk(chunked.body), 'one two');
    assert.ok(chunked.closed);
  });

  it('a HEAD answer has no body and closes too', async () => {
    const a = await send('HTTP/1.0', '/where', [], 'HEAD');
    assert.match(a.status, /^HTTP\/1\.1 200 /);
    assert.equal(a.body, '');
    assert.ok(a.closed);
  });

  it('a body, large enough to go after the frame\'s head, arrives whole with the version (protocol v6)', async () => {
    const body = 'x'.repeat(10_000);
    const head = [`POST /fn/${name}/size HTTP/1.0`, 'Host: x', 'Content-Type: text/plain', `Content-Length: ${body.length}`].join('\r\n');
    const a = parse(await rawExchange(h.gateway.port, [`${head}\r\n\r\n${body}`], { waitMs: 5000 }));
    assert.match(a.status, /^HTTP\/1\.1 200 /);
    assert.deepEqual(JSON.parse(a.body), { size: 10_000, version: '1.0' });
  });

  it('an http.server class reads request_version HTTP/1.0, as under http.server', async () => {
    const a = parse(await rawExchange(h.gateway.port, [`GET /fn/${handler}/ HTTP/1.0\r\nHost: x\r\n\r\n`], { waitMs: 5000 }));
    assert.equal(a.body, 'HTTP/1.0');
    const b = parse(await rawExchange(h.gateway.port, [`GET /fn/${handler}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], { waitMs: 5000 }));
    assert.equal(b.body, 'HTTP/1.1');
  });

  it('a WSGI app\'s SERVER_PROTOCOL says HTTP/1.0', async () => {
    const head = [`GET /fn/${wsgi}/ HTTP/1.0`, 'Host: x'].join('\r\n');
    const a = parse(await rawExchange(h.gateway.port, [`${head}\r\n\r\n`], { waitMs: 5000 }));
    // Chunked (no Content-Length from the app), as uvicorn frames it for an HTTP/1.0 client too (ADR 0246).
    assert.equal(dechunk(a.body), 'HTTP/1.0');
    const b = parse(await rawExchange(h.gateway.port, [`GET /fn/${wsgi}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], { waitMs: 5000 }));
    assert.equal(dechunk(b.body), 'HTTP/1.1');
  });

  it('needs no Host: with other headers, or none at all (HAProxy\'s `option httpchk`), it is served as with one (was 400, or no answer)', async () => {
    // Host is required in HTTP/1.1 only (RFC 9112 §3.2); uvicorn serves both.
    for (const head of [`GET /fn/${name}/where?h=0 HTTP/1.0\r\nUser-Agent: check\r\n\r\n`, `GET /fn/${name}/where?h=0 HTTP/1.0\r\n\r\n`]) {
      const a = parse(await rawExchange(h.gateway.port, [head], { waitMs: 5000 }));
      assert.match(a.status, /^HTTP\/1\.1 200 /, JSON.stringify(head));
      assert.deepEqual(JSON.parse(a.body), { path: `/fn/${name}/where`, query: 'h=0', version: '1.0' });
      assert.ok(a.closed);
    }
    // The empty line in a later read than the request line: the head is whole only then.
    const split = parse(await rawExchange(h.gateway.port, [`GET /fn/${name}/where HTTP/1.0\r\n`, '\r\n'], { gapMs: 300, waitMs: 5000 }));
    assert.match(split.status, /^HTTP\/1\.1 200 /);
    assert.equal(JSON.parse(split.body).version, '1.0');
    // HAProxy's default check, to the platform's own route: routed as with the default host.
    const check = await rawExchange(h.gateway.port, ['GET /healthz HTTP/1.0\r\n\r\n'], { waitMs: 5000 });
    assert.match(check.text, /^HTTP\/1\.1 200 /);
    // A body after a Host-less head is read by its Content-Length, as with a Host.
    const post = parse(await rawExchange(h.gateway.port, [`POST /fn/${name}/size HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello`], { waitMs: 5000 }));
    assert.deepEqual(JSON.parse(post.body), { size: 5, version: '1.0' });
  });

  it('an HTTP/1.1 request without Host is refused 400, and one without any header too, at once (it waited for the idle timeout)', async () => {
    const a = await rawExchange(h.gateway.port, [`GET /fn/${name}/where HTTP/1.1\r\nUser-Agent: check\r\n\r\n`], { waitMs: 5000 });
    assert.match(a.text, /^HTTP\/1\.1 400 /);
    // Host is required in HTTP/1.1 (RFC 9112 §3.2); uvicorn with h11 answers 400 and closes.
    for (const pieces of [[`GET /fn/${name}/where HTTP/1.1\r\n\r\n`], [`GET /fn/${name}/where HTTP/1.1\r\n`, '\r\n']]) {
      const started = Date.now();
      const b = await rawExchange(h.gateway.port, pieces, { gapMs: 300, waitMs: 5000 });
      assert.match(b.text, /^HTTP\/1\.1 400 /, JSON.stringify(pieces));
      assert.ok(b.closed && Date.now() - started < 4000, 'answered and closed at once');
    }
    // A request line alone (no empty line yet) is not a whole head: no answer until it comes.
    const c = await rawExchange(h.gateway.port, [`GET /fn/${name}/where HTTP/1.1\r\n`], { waitMs: 1000 });
    assert.equal(c.text, '');
  });

  it('gets no `100 Continue` for `Expect: 100-continue` (RFC 9110 §10.1.1), an HTTP/1.1 client still does', async () => {
    const head = (v: string): string => `POST /fn/${name}/size ${v}\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`;
    const old = await rawExchange(h.gateway.port, [head('HTTP/1.0'), 'hello'], { gapMs: 300, waitMs: 5000 });
    assert.match(old.text, /^HTTP\/1\.1 200 /, 'the final answer first, no interim one');
    assert.doesNotMatch(old.text, / 100 Continue/);
    assert.deepEqual(JSON.parse(parse(old).body), { size: 5, version: '1.0' });
    const now = await rawExchange(h.gateway.port, [head('HTTP/1.1'), 'hello'], { gapMs: 300, until: (d) => d.includes('"size"') });
    assert.match(now.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });

  it('an HTTP/1.1 request after it is kept alive as before', async () => {
    const a = await send('HTTP/1.1', '/where?x=1', [], 'GET', 1500);
    assert.match(a.status, /^HTTP\/1\.1 200 /);
    assert.deepEqual(JSON.parse(a.body), { path: `/fn/${name}/where`, query: 'x=1', version: '1.1' });
    assert.deepEqual(values(a, 'connection'), []);
    assert.equal(a.closed, false, 'the connection stays open (the client closed it after 1.5 s)');
  });
});
