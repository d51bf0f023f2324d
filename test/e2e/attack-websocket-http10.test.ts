/**
 * A WebSocket handshake over HTTP/1.0 (apps round 30). RFC 6455 §4.1 asks for HTTP/1.1; the gateway
 * upgraded it, and the parser, which marks an HTTP/1.0 request to be closed after its answer
 * (ADR 0246), closed the connection after the 101 while the function's WebSocket lived on: the
 * app's later frames were written to the next connection that took the freed socket, another
 * client's, as the answer to its request (a hostile function could so answer another tenant's
 * callers), and the platform process died moments later (measured with `up`: every tenant down). Now such a handshake is refused 400 and nothing is upgraded. Needs the binary as
 * scripts/patch-uws.mjs mends it (fixes 8 and 9).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, useGateway } from './gateway-harness.js';
import { rawExchange } from './raw-exchange.js';

const WS = py(
  'import asyncio',
  'from fastapi import FastAPI, WebSocket',
  'app = FastAPI()',
  '@app.websocket("/ws")',
  'async def echo(ws: WebSocket):',
  '    await ws.accept()',
  '    await asyncio.sleep(1)',
  '    await ws.send_text("hi")',
  '    await ws.close()',
);

const ws10 = fnName('ws10');
const h = useGateway({ [ws10]: { files: { 'app.py': WS }, manifest: 'entrypoint: app:app' } });

describe('a WebSocket handshake over HTTP/1.0', () => {
  it('is refused 400 (RFC 6455 §4.1), with Host or without; its frames never reach another connection', async () => {
    // It was upgraded, then closed after the 101 as HTTP/1.0 asks, while its WebSocket lived on:
    // the app's later frames were written to the next connection that took the socket (another
    // client's, as the answer to its request).
    const ws = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
    for (const host of [['Host: x'], []]) {
      const head = [`GET /fn/${ws10}/ws HTTP/1.0`, ...host, ...ws].join('\r\n');
      // The app writes 1 s after its accept: by then the next connection is open.
      const refused = await rawExchange(h.gateway.port, [`${head}\r\n\r\n`], { waitMs: 3000 });
      const next = await rawExchange(h.gateway.port, [], { waitMs: 2000 });
      assert.equal(next.text, '', 'nothing is written to a connection that sent nothing');
      assert.match(refused.text, /^HTTP\/1\.1 400 /, head);
      assert.match(refused.text, /needs HTTP\/1\.1, GET/);
    }
    // The gateway lives on (the freed socket written to took the whole platform process down, measured).
    assert.match((await rawExchange(h.gateway.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { waitMs: 3000 })).text, /^HTTP\/1\.1 200 /);
    // Over HTTP/1.1 it is upgraded as before.
    const upgraded = await rawExchange(h.gateway.port, [`GET /fn/${ws10}/ws HTTP/1.1\r\nHost: x\r\n${ws.join('\r\n')}\r\n\r\n`], { waitMs: 6000 }); // a cold start (2 s under load) and the app's 1 s; it closes after "hi"
    assert.match(upgraded.text, /^HTTP\/1\.1 101 [^]*\x81\x02hi/);
  });
});
