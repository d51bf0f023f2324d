/**
 * FastAPI features of apps round 32 (issue 10), through the gateway, each compared with the same
 * app under uvicorn 0.54 (uvloop, httptools): a StreamingResponse the client leaves mid-stream (the
 * generator's `finally` runs), RedirectResponse with relative and absolute URLs under `/fn/<name>/`
 * and at the function's own host, TrustedHostMiddleware, GZipMiddleware over a streamed body and a
 * CORSMiddleware preflight under `/fn/<name>/` (at the host: example-bookshelf). A BackgroundTask
 * that raises after the answer is in gateway-streaming, `request.is_disconnected()` in
 * gateway-asgi-compat.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { reporter } from './app-reporter.js';
import { fnName, py, request, useGateway } from './gateway-harness.js';

const name = fnName('mw32');

const APP = py(
  'import asyncio, urllib.request',
  'from fastapi import FastAPI, Request',
  'from fastapi.middleware.cors import CORSMiddleware',
  'from fastapi.middleware.gzip import GZipMiddleware',
  'from fastapi.responses import RedirectResponse, StreamingResponse',
  'from starlette.middleware.trustedhost import TrustedHostMiddleware',
  '',
  'app = FastAPI()',
  'app.add_middleware(GZipMiddleware, minimum_size=100)',
  'app.add_middleware(CORSMiddleware, allow_origins=["https://shop.example"], allow_methods=["GET", "POST"], allow_headers=["x-token"])',
  `app.add_middleware(TrustedHostMiddleware, allowed_hosts=["${name}.localhost", "trusted.test", "127.0.0.1"])`,
  '',
  'def tell(report, what):',
  '    urllib.request.urlopen(f"{report}?{what}", None, 10).read()',
  '',
  '@app.get("/ticks")',
  'async def ticks(report: str):',
  '    async def pieces():',
  '        try:',
  '            for i in range(400):',
  '                yield f"tick {i}\\n".encode()',
  '                if i == 0:',
  '                    await asyncio.to_thread(tell, report, "started")',
  '                await asyncio.sleep(0.025)',
  '        finally:',
  '            tell(report, "finally")  # no await: the scope is cancelled here',
  '    return StreamingResponse(pieces(), media_type="text/plain")',
  '',
  '@app.get("/lines")',
  'async def lines():',
  '    async def pieces():',
  '        for i in range(50):',
  '            yield f"line {i:03d} of a streamed answer\\n".encode()',
  '            await asyncio.sleep(0)',
  '    return StreamingResponse(pieces(), media_type="text/plain")',
  '',
  '@app.get("/go/{how}")',
  'async def go(request: Request, how: str):',
  '    if how == "named":',
  '        return RedirectResponse(request.url_for("target"))',
  '    return RedirectResponse({"rooted": "/target", "relative": "target", "up": "../target", "full": "https://elsewhere.example/x"}[how])',
  '',
  '@app.get("/target", name="target")',
  'async def target():',
  '    return {"ok": True}',
  '',
  '@app.post("/orders")',
  'async def orders():',
  '    return {"ordered": True}',
);

const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 20s' } });

/** The function at its own host (`<name>.localhost`), or under `/fn/<name>/` with `Host: 127.0.0.1`. */
function at(where: 'host' | 'prefix', path: string): { url: string; host: string } {
  return where === 'host' ? { url: `${h.url}${path}`, host: `${name}.localhost` } : { url: `${h.url}/fn/${name}${path}`, host: '127.0.0.1' };
}

async function get(where: 'host' | 'prefix', path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET') {
  const { url, host } = at(where, path);
  return request(url, { method, headers: { host, ...headers } });
}

describe('FastAPI middleware and responses, as under uvicorn', () => {
  it('a StreamingResponse the client leaves mid-stream: the generator is closed, its finally runs', async () => {
    const r = await reporter();
    try {
      const started = r.next();
      const req = http.get(`${h.url}/fn/${name}/ticks?report=${encodeURIComponent(r.url)}`, { agent: false, headers: { host: '127.0.0.1' } });
      req.on('error', () => {});
      const first = new Promise<string>((resolve) => req.on('response', (res) => res.once('data', (d: Buffer) => resolve(d.toString()))));
      assert.match(await first, /^tick 0\n/);
      await started;
      const closed = r.next();
      req.destroy(); // 10 s of ticks left: only the client's leaving ends the stream
      await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`no finally: ${r.reports.join(',')}`)), 5000))]);
      assert.deepEqual(r.reports, ['started', 'finally']);
    } finally {
      await r.close();
    }
  });

  for (const where of ['prefix', 'host'] as const) {
    it(`RedirectResponse ${where === 'prefix' ? 'under /fn/<name>/' : 'at the function\'s host'}: a URL as written, url_for absolute with the mount point`, async () => {
      const base = where === 'prefix' ? `http://127.0.0.1/fn/${name}` : `http://${name}.localhost`;
      const cases: [string, string][] = [
        ['rooted', '/target'], // as written: under /fn/<name>/ the gateway's root, as with uvicorn --root-path
        ['relative', 'target'],
        ['up', '../target'],
        ['full', 'https://elsewhere.example/x'],
        ['named', `${base}/target`],
      ];
      for (const [how, location] of cases) {
        const res = await get(where, `/go/${how}`);
        assert.equal(res.status, 307, how);
        assert.equal(res.headers.location, location, how);
      }
    });
  }

  it('TrustedHostMiddleware: an allowed Host is served, another one is its 400 (at the host and under /fn/)', async () => {
    assert.equal((await get('host', '/target')).status, 200);
    assert.equal((await get('prefix', '/target')).status, 200);
    assert.equal((await get('prefix', '/target', { host: 'trusted.test' })).status, 200);
    const refused = await get('prefix', '/target', { host: 'evil.test' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.toString(), 'Invalid host header');
  });

  it('GZipMiddleware over a streamed body: gzip, chunked, no Content-Length; the whole stream inside', async () => {
    const expected = Array.from({ length: 50 }, (_, i) => `line ${String(i).padStart(3, '0')} of a streamed answer\n`).join('');
    for (const where of ['prefix', 'host'] as const) {
      const res = await get(where, '/lines', { 'accept-encoding': 'gzip' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], 'gzip', where);
      assert.equal(res.headers['content-length'], undefined, where);
      assert.equal(res.headers['transfer-encoding'], 'chunked', where);
      assert.match(String(res.headers.vary), /accept-encoding/i, where);
      assert.equal(gunzipSync(res.body).toString(), expected, where);
      const plain = await get(where, '/lines');
      assert.equal(plain.headers['content-encoding'], undefined, where);
      assert.equal(plain.body.toString(), expected, where);
    }
  });

  it('CORSMiddleware under /fn/<name>/: a preflight answered by the app (200, its allowed methods and headers), a refused origin 400', async () => {
    const preflight = { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-token' };
    const ok = await get('prefix', '/orders', preflight, 'OPTIONS');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://shop.example');
    assert.match(String(ok.headers['access-control-allow-methods']), /POST/);
    assert.match(String(ok.headers['access-control-allow-headers']), /x-token/i);
    const bad = await get('prefix', '/orders', { ...preflight, origin: 'https://evil.example' }, 'OPTIONS');
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
    const simple = await get('prefix', '/orders', { origin: 'https://shop.example' }, 'POST');
    assert.equal(simple.status, 200);
    assert.equal(simple.headers['access-control-allow-origin'], 'https://shop.example');
  });
});
