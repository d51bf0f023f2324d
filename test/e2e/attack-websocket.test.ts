/**
 * A hostile function and its own clients against the gateway's memory, through WebSockets
 * (docs/security.md, "The runtime's channel"; docs/adr/0126-websockets.md): what waits for clients
 * that read nothing counts in the held-answer budget, in the function's share, so one function's
 * connections cannot fill the gateway; past its share they are cut (1013) and their calls end.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RawWebSocket } from '../helpers/ws-client.js';
import { fnName, py, request, sleep, useGateway } from './gateway-harness.js';

const HOG = py(
  'from fastapi import FastAPI, WebSocket',
  'app = FastAPI()',
  '',
  '@app.websocket("/one")',
  'async def one(ws: WebSocket):',
  '    await ws.accept()',
  '    await ws.send_bytes(b"o" * (12 * 1024 * 1024))',
  '    await ws.receive()',
  '',
  '@app.websocket("/echo")',
  'async def echo(ws: WebSocket):',
  '    await ws.accept()',
  '    while True:',
  '        text = await ws.receive_text()',
  '        await ws.send_text(text if text != "burst" else "b" * (3 * 1024 * 1024))',
  '',
  '@app.websocket("/hog")',
  'async def hog(ws: WebSocket):',
  '    await ws.accept()',
  '    while True:',
  '        await ws.send_bytes(b"h" * (2 * 1024 * 1024))',
);

const hog = fnName('hog');
const victim = fnName('victim');
const chat = fnName('chat');
// A budget of 16 MiB: one function's share is 4 MiB.
const h = useGateway({
  [hog]: { files: { 'main.py': HOG }, manifest: 'entrypoint: main:app\nlimits:\n  timeout: 60s\n  maxInstances: 6' },
  [victim]: { files: { 'main.py': py('def handler(event, context):', '    return {"ok": True}') } },
  [chat]: { files: { 'main.py': HOG }, manifest: 'entrypoint: main:app\nlimits:\n  timeout: 60s' },
}, { FP_MAX_HELD_RESPONSE_BYTES: String(16 * 1024 * 1024) });

describe('WebSockets against the held-answer budget', () => {
  test('connections whose clients read nothing are cut past their function\'s share; other functions are served', async () => {
    const sockets: RawWebSocket[] = [];
    for (let i = 0; i < 6; i++) {
      const ws = await RawWebSocket.connect(`${h.url.replace('http:', 'ws:')}/fn/${hog}/hog`);
      ws.pause();
      sockets.push(ws);
    }
    // Without the budget every connection keeps ~3 MiB in the gateway for the whole timeout (60 s),
    // and their calls never end; with it, those past the share are cut and their calls end.
    const deadline = Date.now() + 30_000;
    let ended = 0;
    while (ended === 0 && Date.now() < deadline) {
      await sleep(250);
      ended = sockets.filter((ws) => h.runs.get(ws.headers['x-run-id']!) !== undefined).length;
    }
    assert.ok(ended > 0, 'no connection was cut: the gateway held every one');
    const other = await request(`${h.url}/fn/${victim}/`);
    assert.equal(other.status, 200);
    for (const ws of sockets) ws.destroy();
  });

  test('a connection with nothing waiting for its client is no slow client: an idle chat survives a full budget past two windows', async () => {
    const url = (name: string, path: string): string => `${h.url.replace('http:', 'ws:')}/fn/${name}${path}`;
    const idle = await RawWebSocket.connect(url(chat, '/echo'));
    idle.pause();
    idle.sendText('burst'); // 3 MiB waits for it a moment (it counts), then it reads it all
    await sleep(300);
    idle.socket.resume();
    assert.equal((await idle.next()).kind, 'text');
    // Another function holds 12 MiB of the 16 MiB budget for a client that reads nothing: over half.
    const hogging = await RawWebSocket.connect(url(hog, '/one'));
    hogging.pause();
    await sleep(2 * 10_000 + 2_000); // two slow-client windows (SLOW_CLIENT_WINDOW_MS) and a sweep
    idle.sendText('still here');
    assert.deepEqual(await idle.next(), { kind: 'text', text: 'still here' });
    idle.close(1000);
    await idle.closed();
    hogging.destroy();
  });
});
