/**
 * Absolute-form request targets (`GET http://host/path HTTP/1.1`, what a client sends to a proxy;
 * apps round 32, docs/adr/0228-absolute-form-and-json-parser-errors.md). RFC 9112 §3.2.2: a server
 * MUST accept them, and the target's authority replaces Host. Before, the native parser answered
 * `505` and its HTML page. uvicorn (httptools) serves the path and keeps the Host sent; the platform
 * takes the authority for Host, as the RFC asks (the only difference: documented). Needs the binary
 * as scripts/patch-uws.mjs mends it (fixes 12 and 13).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, useGateway } from './gateway-harness.js';
import { rawExchange } from './raw-exchange.js';

const APP = py(
  'from fastapi import FastAPI, Request',
  '',
  'app = FastAPI()',
  '',
  '@app.get("/{rest:path}")',
  'async def where(request: Request, rest: str):',
  '    return {"path": request.url.path, "query": request.url.query, "host": request.headers.get("host"),',
  '            "hosts": len(request.headers.getlist("host")), "scheme": request.url.scheme}',
);

const name = fnName('absform');
const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app' } });

interface Answer { status: number; head: string; body: string; closed: boolean }

async function send(line: string, headers: string[] = ['Host: x']): Promise<Answer> {
  const request = [line, ...headers, 'Connection: close', '', ''].join('\r\n');
  const a = await rawExchange(h.gateway.port, [request], { waitMs: 5000 });
  const at = a.text.indexOf('\r\n\r\n');
  assert.ok(at > 0, `no answer to ${JSON.stringify(line)}: ${JSON.stringify(a.text)}`);
  return { status: Number(a.text.slice(9, 12)), head: a.text.slice(0, at), body: a.text.slice(at + 4), closed: a.closed };
}

describe('an absolute-form request target (RFC 9112 §3.2.2; was the parser\'s 505)', () => {
  it('is routed as its path, the query kept, and its authority is the Host the app sees', async () => {
    const a = await send(`GET http://example.test:8080/fn/${name}/a/b?q=1&r=two HTTP/1.1`);
    assert.equal(a.status, 200, a.body);
    assert.deepEqual(JSON.parse(a.body), { path: `/fn/${name}/a/b`, query: 'q=1&r=two', host: 'example.test:8080', hosts: 1, scheme: 'http' });
  });
  it('routes by the authority, not the Host sent: a function\'s own host, and the platform\'s /fn/ under another Host', async () => {
    const a = await send(`GET http://${name}.localhost/p?x=1 HTTP/1.1`, ['Host: localhost']);
    assert.equal(a.status, 200, a.body);
    assert.deepEqual(JSON.parse(a.body), { path: '/p', query: 'x=1', host: `${name}.localhost`, hosts: 1, scheme: 'http' });
    const b = await send(`GET http://localhost/fn/${name}/p HTTP/1.1`, [`Host: ${name}.localhost`]);
    assert.equal(b.status, 200, b.body);
    assert.equal(JSON.parse(b.body).path, `/fn/${name}/p`);
    assert.equal(JSON.parse(b.body).host, 'localhost');
  });
  it('takes the scheme in any case, https too (the connection\'s scheme is kept), and a target without a path as `/`', async () => {
    for (const scheme of ['HTTP', 'https', 'HtTpS']) {
      const a = await send(`GET ${scheme}://${name}.localhost/s HTTP/1.1`);
      assert.equal(a.status, 200, `${scheme}: ${a.body}`);
      assert.deepEqual(JSON.parse(a.body), { path: '/s', query: '', host: `${name}.localhost`, hosts: 1, scheme: 'http' });
    }
    for (const target of [`http://${name}.localhost`, `http://${name}.localhost?k=v`, `http://${name}.localhost#frag`]) {
      const a = await send(`GET ${target} HTTP/1.1`);
      assert.equal(a.status, 200, `${target}: ${a.body}`);
      assert.equal(JSON.parse(a.body).path, '/', target);
      assert.equal(JSON.parse(a.body).host, `${name}.localhost`, target);
    }
  });
  it('in HTTP/1.0, with no Host at all: the authority is the Host', async () => {
    const a = await send(`GET http://${name}.localhost/old HTTP/1.0`, []);
    assert.equal(a.status, 200, a.body);
    assert.deepEqual(JSON.parse(a.body), { path: '/old', query: '', host: `${name}.localhost`, hosts: 1, scheme: 'http' });
    assert.ok(a.closed);
  });
  // An authority with userinfo, or one that is no host: test/e2e/attack-absolute-form.test.ts.
  it('an empty authority (`http:///p`, `http://`) is 400 BAD_REQUEST (RFC 9110 §4.2.1), not a Host-less request', async () => {
    for (const target of [`http:///fn/${name}/p`, 'http://', 'http://?q']) {
      const a = await send(`GET ${target} HTTP/1.1`);
      assert.equal(a.status, 400, `${target}: ${a.body}`);
      assert.equal(JSON.parse(a.body).error.target, 'authority', target);
    }
  });
  it('two Host fields are still two (RFC 9112 §3.2), whatever the target: 400', async () => {
    const b = await send(`GET http://${name}.localhost/x HTTP/1.1`, ['Host: x', 'Host: y']);
    assert.equal(b.status, 400, b.body);
  });
  it('another scheme, or a target that is neither form: the parser\'s 505 HTTP_VERSION_NOT_SUPPORTED, JSON', async () => {
    for (const target of [`ftp://${name}.localhost/x`, `http:/${name}.localhost/x`, `http:${name}.localhost/x`, '*', `${name}.localhost/x`]) {
      const a = await send(`GET ${target} HTTP/1.1`);
      assert.equal(a.status, 505, target);
      assert.match(a.head, /\r\ncontent-type: application\/json/i, target);
      assert.equal(JSON.parse(a.body).error.code, 'HTTP_VERSION_NOT_SUPPORTED', target);
      assert.ok(a.closed, target);
    }
  });
});
