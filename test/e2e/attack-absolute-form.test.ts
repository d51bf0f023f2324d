/**
 * Absolute-form targets as an attacker sends them (apps round 32, ADR 0228): the authority now
 * picks the function (RFC 9112 §3.2.2), so what a URL parser may read two ways must not reach it.
 * An authority with userinfo (`http://trusted.localhost@fn.localhost/`: a proxy or a log reading
 * the host as `trusted.localhost`) is refused as such a Host is, never routed; an encoded space in
 * the target cannot pass for the HTTP/1.0 mark the parser leaves (ADR 0246). Needs the binary as
 * scripts/patch-uws.mjs mends it (fix 12).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, useGateway } from './gateway-harness.js';
import { rawExchange } from './raw-exchange.js';

const APP = py(
  'from fastapi import FastAPI, Request',
  'app = FastAPI()',
  '@app.get("/{rest:path}")',
  'async def where(request: Request, rest: str):',
  '    return {"path": request.url.path, "host": request.headers.get("host"), "version": request.scope["http_version"]}',
);

const name = fnName('absatk');
const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app' } });

async function send(line: string, headers: string[]): Promise<{ text: string; closed: boolean }> {
  return rawExchange(h.gateway.port, [[line, ...headers, '', ''].join('\r\n')], { waitMs: 3000 });
}

describe('absolute-form targets an attacker sends', () => {
  it('an authority with userinfo is refused 400 BAD_REQUEST, never routed (RFC 9110 §4.2.4)', async () => {
    for (const authority of [`trusted.localhost@${name}.localhost`, `${name}.localhost@other.localhost`, `u:p@${name}.localhost:1`, 'a"b', '[::1']) {
      const a = await send(`GET http://${authority}/x HTTP/1.1`, ['Host: x', 'Connection: close']);
      assert.match(a.text, /^HTTP\/1\.1 400 /, authority);
      assert.match(a.text, /"code":"BAD_REQUEST"/, authority);
      assert.doesNotMatch(a.text, /"path"/, authority);
    }
  });
  it('an encoded space then HTTP/1.0 in the target stays HTTP/1.1: no close forged, the path as sent', async () => {
    const a = await send(`GET http://${name}.localhost/p%20HTTP/1.0 HTTP/1.1`, ['Host: x']);
    assert.match(a.text, /^HTTP\/1\.1 200 /, a.text);
    assert.match(a.text, /"version":"1\.1"/);
    assert.ok(a.text.includes(`"host":"${name}.localhost"`), a.text);
    assert.equal(a.closed, false, 'kept alive, as any HTTP/1.1 request');
  });
});
