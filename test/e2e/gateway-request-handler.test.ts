/**
 * Vercel's Python function shape, `class handler(BaseHTTPRequestHandler)` in api/index.py, through
 * the real gateway and runtimes (docs/adr/0134-request-handler-classes.md). It was taken for an
 * ASGI app (its constructor takes three parameters) and every call answered 500 with
 * `AttributeError: 'dict' object has no attribute 'makefile'` (apps round 21).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, request, runRecord, useGateway } from './gateway-harness.js';

const VERCEL = py(
  'from http.server import BaseHTTPRequestHandler',
  'from urllib import parse',
  'class handler(BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  '        if self.path.startswith("/boom"):',
  '            raise ValueError("asked to fail")',
  '        if self.path.startswith("/silent"):',
  '            return',
  '        if self.path.startswith("/headers"):',
  '            self.send_response(200)',
  '            self.end_headers()',
  '            self.wfile.write(repr([self.headers.get_all("X-Tag"), self.headers["Content-Type"], self.headers["x_under"]]).encode())',
  '            return',
  '        query = parse.parse_qs(parse.urlsplit(self.path).query)',
  '        self.send_response(200)',
  '        self.send_header("Content-type", "text/plain")',
  '        self.send_header("Set-Cookie", "a=1; Path=/")',
  '        self.send_header("Set-Cookie", "b=2; Path=/")',
  '        self.end_headers()',
  '        self.wfile.write(f"path={self.path} tags={query.get(\'tag\')} ua={self.headers[\'user-agent\']}".encode())',
  '    def do_POST(self):',
  '        data = self.rfile.read(int(self.headers["Content-Length"]))',
  '        self.send_response(201)',
  '        self.send_header("Content-type", "application/octet-stream")',
  '        self.end_headers()',
  '        self.wfile.write(data[::-1])',
);

/** One speaking HTTP/1.1 with a chunked body it frames itself (http.server leaves that to the class). */
const CHUNKED = py(
  'from http.server import BaseHTTPRequestHandler',
  'class Handler(BaseHTTPRequestHandler):',
  '    protocol_version = "HTTP/1.1"',
  '    def do_GET(self):',
  '        self.send_response(200)',
  '        self.send_header("Transfer-Encoding", "chunked")',
  '        self.end_headers()',
  '        for piece in (b"one ", b"two"):',
  '            self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(piece), piece))',
  '        self.wfile.write(b"0\\r\\n\\r\\n")',
);

const vercel = fnName('vercel');
const chunked = fnName('chunked');
const h = useGateway({
  [vercel]: { files: { 'api/index.py': VERCEL }, manifest: 'entrypoint: api.index:handler' },
  [chunked]: { files: { 'main.py': CHUNKED }, manifest: 'entrypoint: main:Handler' },
});

describe("Vercel's class handler(BaseHTTPRequestHandler)", () => {
  it('answers with what do_GET wrote: status, headers, each Set-Cookie, body; self.path is the path and the query as sent', async () => {
    const res = await request(`${h.url}/fn/${vercel}/hi?tag=a&tag=b`, { headers: { 'user-agent': 'probe/1' } });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), "path=/hi?tag=a&tag=b tags=['a', 'b'] ua=probe/1");
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
  });

  it('self.headers has each repeated header line as sent, as under http.server (they were joined: [\'a,b\']); a name with _ is dropped as for any WSGI app', async () => {
    const res = await request(`${h.url}/fn/${vercel}/headers`, { headers: { 'x-tag': ['a', 'b'], 'content-type': 'text/csv', 'x_under': '1' } });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), "[['a', 'b'], 'text/csv', None]");
  });

  it('reads a binary body from rfile and answers bytes as written', async () => {
    const body = Buffer.from([0, 255, 1, 254, 10, 13]);
    const res = await request(`${h.url}/fn/${vercel}/`, { method: 'POST', body });
    assert.equal(res.status, 201, res.body.toString());
    assert.deepEqual(res.body, Buffer.from([...body].reverse()));
  });

  it('a method the class lacks answers http.server\'s 501; a HEAD answers no body', async () => {
    const put = await request(`${h.url}/fn/${vercel}/`, { method: 'PUT' });
    assert.equal(put.status, 501);
    const head = await request(`${h.url}/fn/${vercel}/`, { method: 'HEAD' });
    assert.equal(head.status, 501);
    assert.equal(head.body.length, 0);
  });

  it('an exception is a 500 whose message is in the run record; a class that writes nothing says what was missing', async () => {
    const boom = await request(`${h.url}/fn/${vercel}/boom`);
    assert.equal(boom.status, 500);
    assert.doesNotMatch(boom.body.toString(), /asked to fail/);
    const run = await runRecord(h, String(boom.headers['x-run-id']));
    assert.match(JSON.stringify(run), /ValueError: asked to fail/);
    const silent = await request(`${h.url}/fn/${vercel}/silent`);
    assert.equal(silent.status, 500);
    const quiet = await runRecord(h, String(silent.headers['x-run-id']));
    assert.match(JSON.stringify(quiet), /handler wrote no response: a do_GET\(\) method sends one with send_response\(\), end_headers\(\)/);
  });

  it('a class framing its own chunked body (HTTP/1.1) answers the body unframed', async () => {
    const res = await request(`${h.url}/fn/${chunked}/`);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), 'one two');
  });
});
