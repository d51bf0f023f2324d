/**
 * WebSocket connections to ASGI apps through the real gateway and real runtimes (issue 10; docs/
 * adr/0126-websockets.md): a connection is one call. Messages both ways (text, bytes, larger than
 * a piece), the ASGI scope, subprotocols, closes from either side and their codes, a refused
 * handshake, a handler (501), a failing app (1011), the timeout (1001), backpressure both ways and
 * the size bound, each with its run record.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_WS_MAX_MESSAGE_BYTES } from '../../gateway/ws-reservations.js';
import { RawWebSocket, type WsRefused } from '../helpers/ws-client.js';
import { errorOf, fnName, py, request, runRecord, sleep, useGateway } from './gateway-harness.js';

const APP = py(
  'import asyncio, json',
  'from fastapi import FastAPI, WebSocket, WebSocketDisconnect',
  '',
  'app = FastAPI()',
  '',
  '@app.get("/slow")',
  'async def slow_call():',
  '    await asyncio.sleep(1.5)',
  '    return {"slow": True}',
  '',
  '@app.websocket("/echo")',
  'async def echo(ws: WebSocket, pick: str = ""):',
  '    await ws.accept(subprotocol=pick or None, headers=[(b"x-app", b"yes")])',
  '    s = ws.scope',
  '    await ws.send_json({"type": s["type"], "path": s["path"], "root": s["root_path"], "scheme": s["scheme"],',
  '                        "query": s["query_string"].decode(), "protocols": s["subprotocols"]})',
  '    try:',
  '        while True:',
  '            m = await ws.receive()',
  '            if m["type"] == "websocket.disconnect":',
  '                print("disconnected", m["code"])',
  '                return',
  '            if m.get("bytes") is not None:',
  '                await ws.send_bytes(b"got %d bytes" % len(m["bytes"]))',
  '                continue',
  '            text = m["text"]',
  '            if text.startswith("big:"):',
  '                await ws.send_bytes(bytes(i % 251 for i in range(int(text[4:]))))',
  '            elif text.startswith("close:"):',
  '                _, code, reason = text.split(":", 2)',
  '                await ws.close(code=int(code), reason=reason)',
  '                return',
  '            else:',
  '                await ws.send_text("echo:" + text)',
  '    except WebSocketDisconnect as e:',
  '        print("disconnected", e.code)',
  '',
  '@app.websocket("/plain")',
  'async def plain_echo(ws: WebSocket):',
  '    await ws.accept()',
  '    while True:',
  '        await ws.send_text("echo:" + await ws.receive_text())',
  '',
  '@app.websocket("/bug")',
  'async def bug(ws: WebSocket):',
  '    await ws.accept()',
  '    await ws.receive()  # the client\'s close',
  '    try:',
  '        {}["missing"]  # the app\'s own bug',
  '    finally:',
  '        await ws.send_text("bye")  # WebSocketDisconnect: the client is gone',
  '',
  '@app.websocket("/bye")',
  'async def bye(ws: WebSocket):',
  '    await ws.accept()',
  '    await ws.send_text("bye")',
  '    await ws.close(code=4001, reason="done")',
  '',
  '@app.websocket("/denied")',
  'async def denied(ws: WebSocket):',
  '    from starlette.responses import PlainTextResponse',
  '    assert "websocket.http.response" in ws.scope["extensions"]',
  '    await ws.send_denial_response(PlainTextResponse("no entry: caf\\xe9", status_code=401, headers={"x-why": "caf\\xe9"}))',
  '',
  '@app.websocket("/deny")',
  'async def deny(ws: WebSocket):',
  '    await ws.close()',
  '',
  '@app.websocket("/boom")',
  'async def boom(ws: WebSocket):',
  '    await ws.accept()',
  '    await ws.send_text("about to fail")',
  '    raise RuntimeError("the app failed after accepting")',
  '',
  '@app.websocket("/flood")',
  'async def flood(ws: WebSocket):',
  '    await ws.accept()',
  '    while True:',
  '        await ws.send_bytes(b"y" * 65536)',
  '',
  '@app.websocket("/deaf")',
  'async def deaf(ws: WebSocket):',
  '    await ws.accept()',
  '    await asyncio.sleep(60)',
);

const app = fnName('ws');
const slow = fnName('wsslow');
const plain = fnName('wsplain');
const pair = fnName('wspair');
const h = useGateway({
  [app]: { files: { 'main.py': APP }, manifest: 'entrypoint: main:app\nlimits:\n  maxInstances: 4' },
  [slow]: { files: { 'main.py': APP }, manifest: 'entrypoint: main:app\nlimits:\n  timeout: 2s' },
  [plain]: { files: { 'main.py': py('def handler(event, context):', '    return {"ok": True}') } },
  [pair]: { files: { 'main.py': APP }, manifest: 'entrypoint: main:app\nlimits:\n  maxInstances: 2' },
});

const wsUrl = (name: string, path: string): string => `${h.url.replace('http:', 'ws:')}/fn/${name}${path}`;

async function refused(promise: Promise<unknown>): Promise<WsRefused> {
  try {
    await promise;
  } catch (err) {
    if (typeof (err as WsRefused).status === 'number') return err as WsRefused;
    throw err;
  }
  throw new Error('the handshake was accepted');
}

describe('WebSocket connections', () => {
  test('messages go both ways (text, bytes, larger than a piece), with the ASGI scope, the chosen subprotocol and the app\'s headers', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/echo?pick=chat.v2&x=1'), { protocols: ['chat.v1', 'chat.v2'] });
    assert.equal(ws.headers['sec-websocket-protocol'], 'chat.v2');
    assert.equal(ws.headers['x-app'], 'yes');
    assert.match(ws.headers['x-run-id'] ?? '', /^[0-9a-f-]{36}$/);
    const scope = await ws.next();
    assert.equal(scope.kind, 'text');
    assert.deepEqual(JSON.parse((scope as { text: string }).text), {
      type: 'websocket', path: `/fn/${app}/echo`, root: `/fn/${app}`, scheme: 'ws', query: 'pick=chat.v2&x=1', protocols: ['chat.v1', 'chat.v2'],
    });
    ws.sendText('héllo');
    assert.deepEqual(await ws.next(), { kind: 'text', text: 'echo:héllo' });
    ws.sendBinary(Buffer.alloc(1024 * 1024, 7));
    assert.deepEqual(await ws.next(), { kind: 'binary', data: Buffer.from('got 1048576 bytes') });
    ws.sendText('big:300000'); // past the 64 KiB piece and the 256 KiB window: sent in pieces, joined
    const big = await ws.next();
    assert.equal(big.kind, 'binary');
    // Each piece as the app sent it (the gateway keeps a copy of the pieces it joins: they arrive in a reused read buffer).
    assert.ok((big as { data: Buffer }).data.equals(Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251))));
    ws.sendText('close:4001:bye now');
    const end = await ws.closed();
    assert.deepEqual([end.code, end.reason], [4001, 'bye now']);
    const run = await runRecord(h, ws.headers['x-run-id']!);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.httpStatus, 101);
    assert.equal(run.path, '/echo');
  });

  test('an app that closes as soon as it accepts: the server ends the TCP connection at once, as uvicorn does', async () => {
    // What the app sends before the 101 is written is sent as the connection opens. When that ran in
    // the upgrade's cork, uWS's `end` there sent the close frame but never shut the socket down, so
    // a client (Python's websockets, which waits for the server's end after the close handshake)
    // hung 13-16 s, until uWS's timeout; and the cork's end now and then closed the connection
    // before the close frame (1006; ADR 0129). Several connections: some apps' messages come after
    // the 101.
    const conns = await Promise.all(Array.from({ length: 6 }, () => RawWebSocket.connect(wsUrl(app, '/bye'), { answerClose: true })));
    for (const ws of conns) {
      const end = await ws.closed();
      assert.deepEqual([end.code, end.reason, end.before], [4001, 'done', [{ kind: 'text', text: 'bye' }]]);
    }
    await Promise.all(conns.map((ws) => ws.tcpEnded(8000))); // uWS's own timeout is 13-16 s
  });

  test('an app choosing a subprotocol the client did not offer: none is sent', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/echo?pick=other'), { protocols: ['chat.v1'] });
    assert.equal(ws.headers['sec-websocket-protocol'], undefined);
    ws.close(1000);
    await ws.closed();
  });

  test('the client\'s close reaches the app with its code, and the call ends with it', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/echo'));
    await ws.next();
    ws.close(4002, 'leaving');
    assert.equal((await ws.closed()).code, 4002, 'the server answers the close');
    const run = await runRecord(h, ws.headers['x-run-id']!);
    assert.equal(run.status, 'succeeded');
    assert.ok(run.logs.some((l) => l.msg === 'disconnected 4002'), JSON.stringify(run.logs));
  });

  test('a client\'s close with 1012-1014 or 3000-3999 reaches the app and is answered with it, as under uvicorn (scripts/patch-uws.mjs)', async () => {
    // The native parser took them for an invalid close payload: the app saw 1006, the client a
    // close without a code (differential round 2, diff2). 1015-2999 stay invalid, as in websockets.
    for (const code of [3000, 3999, 1013]) {
      const ws = await RawWebSocket.connect(wsUrl(app, '/echo'));
      await ws.next();
      ws.close(code, 'r'.repeat(123));
      const closed = await ws.closed();
      assert.equal(closed.code, code, 'the server answers the close with its code');
      assert.equal(closed.reason, 'r'.repeat(123));
      const run = await runRecord(h, ws.headers['x-run-id']!);
      assert.ok(run.logs.some((l) => l.msg === `disconnected ${code}`), `${code}: ${JSON.stringify(run.logs)}`);
    }
  });

  test("FastAPI's echo without a try (receive_text() raises WebSocketDisconnect at the client's close) ends succeeded, not FUNCTION_ERROR (ADR 0148)", async () => {
    for (const end of ['close', 'destroy'] as const) {
      const ws = await RawWebSocket.connect(wsUrl(app, '/plain'));
      ws.sendText('hi');
      assert.deepEqual(await ws.next(), { kind: 'text', text: 'echo:hi' });
      if (end === 'close') {
        ws.close(1000, '');
        assert.equal((await ws.closed()).code, 1000);
      } else {
        ws.destroy();
      }
      const run = await runRecord(h, ws.headers['x-run-id']!);
      assert.equal(run.status, 'succeeded', `${end}: ${JSON.stringify(run.error)}`);
      assert.ok(run.logs.some((l) => /the client closed the WebSocket \(10\d\d\); the app's WebSocketDisconnect ended the call/.test(l.msg)), JSON.stringify(run.logs));
    }
  });

  test('an app that fails after the client\'s close and then meets WebSocketDisconnect (a send in its finally) stays a failure, its exception on record (ADR 0148, red23)', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/bug'));
    ws.close(1000, '');
    await ws.closed();
    const run = await runRecord(h, ws.headers['x-run-id']!);
    assert.equal(run.status, 'failed', JSON.stringify(run.logs));
    assert.equal(run.errorCode, 'FUNCTION_ERROR');
    assert.equal(run.error?.type, 'KeyError', JSON.stringify(run.error));
    assert.match(run.error?.stack ?? '', /\{\}\["missing"\]/);
    assert.ok(run.logs.some((l) => /the app's WebSocketDisconnect came while it handled its own KeyError/.test(l.msg)), JSON.stringify(run.logs));
  });

  test('a client that just goes away: the app sees 1006', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/echo'));
    await ws.next();
    ws.destroy();
    const run = await runRecord(h, ws.headers['x-run-id']!);
    assert.ok(run.logs.some((l) => l.msg === 'disconnected 1006'), JSON.stringify(run.logs));
  });

  test('a handshake the app refuses (websocket.close before accept) is answered 403, as uvicorn does, and recorded', async () => {
    const no = await refused(RawWebSocket.connect(wsUrl(app, '/deny')));
    assert.equal(no.status, 403);
    const runId = /x-run-id: *([0-9a-f-]+)/i.exec(no.head)?.[1];
    assert.ok(runId, no.head);
    const run = await runRecord(h, runId);
    assert.equal(run.httpStatus, 403);
  });

  test('a handshake the app denies with an HTTP answer of its own (websocket.http.response) gets that answer, as under uvicorn', async () => {
    // Starlette's send_denial_response raised here (the extension was not offered): a 500
    // FUNCTION_ERROR where uvicorn answers the app's 401 and its body (differential round 2, diff2).
    const no = await refused(RawWebSocket.connect(wsUrl(app, '/denied')));
    assert.equal(no.status, 401, no.head);
    assert.match(no.head, /\r\nx-why: caf\xe9\r\n/i, 'a Latin-1 header value is written back as its byte');
    assert.equal(no.body, 'no entry: café');
    const runId = /x-run-id: *([0-9a-f-]+)/i.exec(no.head)?.[1];
    assert.ok(runId, no.head);
    const run = await runRecord(h, runId);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.httpStatus, 401);
  });

  test('a handler function takes no WebSocket: 501 WEBSOCKET_NOT_SUPPORTED', async () => {
    const no = await refused(RawWebSocket.connect(wsUrl(plain, '/')));
    assert.equal(no.status, 501);
    assert.equal(errorOf(no.body).code, 'WEBSOCKET_NOT_SUPPORTED');
    assert.match(errorOf(no.body).message as string, /only an ASGI app/);
  });

  test('a handshake uWS would not upgrade (no Sec-WebSocket-Key) is a 400, not a GET the app answers', async () => {
    const res = await request(`${h.url}/fn/${app}/echo`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
    assert.equal(res.status, 400);
    assert.equal(errorOf(res.body).code, 'BAD_REQUEST');
  });

  test('a handshake whose Connection does not ask for the upgrade is a 400 too (uWS upgraded it, and `close` ended it before a frame)', async () => {
    for (const connection of ['close', 'keep-alive']) {
      const refusal = await refused(RawWebSocket.connect(wsUrl(app, '/echo'), { headers: { Connection: connection } }));
      assert.equal(refusal.status, 400, connection);
      assert.match(JSON.parse(refusal.body).error.message, /Connection: Upgrade/);
    }
    const ws = await RawWebSocket.connect(wsUrl(app, '/echo'), { headers: { Connection: 'keep-alive, Upgrade' } });
    assert.equal((await ws.next()).kind, 'text', 'an option list naming upgrade is a handshake');
    ws.close(1000);
    await ws.closed();
  });

  test('an app that fails after accepting: the connection closes 1011 naming the run, which keeps the error', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/boom'));
    assert.deepEqual(await ws.next(), { kind: 'text', text: 'about to fail' });
    const end = await ws.closed();
    const runId = ws.headers['x-run-id']!;
    assert.deepEqual([end.code, end.reason], [1011, `the function failed: run ${runId}`]);
    const run = await runRecord(h, runId);
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'FUNCTION_ERROR');
    assert.match(run.error?.message ?? '', /the app failed after accepting/);
  });

  test('a connection lasts at most the function\'s timeout: closed 1001, the run says FUNCTION_TIMEOUT', async () => {
    const ws = await RawWebSocket.connect(wsUrl(slow, '/deaf'));
    const end = await ws.closed();
    assert.deepEqual([end.code, end.reason], [1001, "the connection reached the function's timeout (limits.timeout)"]);
    const run = await runRecord(h, ws.headers['x-run-id']!);
    assert.equal(run.errorCode, 'FUNCTION_TIMEOUT');
  });

  test('a client that stops reading stops the app\'s sends (a bounded window), and gets them when it reads again', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/flood'));
    ws.pause();
    await sleep(1500); // an unbounded app sends hundreds of MiB meanwhile
    ws.socket.resume();
    for (let i = 0; i < 5; i++) assert.equal((await ws.next()).kind, 'binary');
    ws.destroy();
    const run = await runRecord(h, ws.headers['x-run-id']!);
    // The window (256 KiB), the gateway's high-water mark (1 MiB), the kernel's socket buffers and what was read.
    assert.ok((run.responseBytes ?? 0) < 32 * 1024 * 1024, `the app sent ${run.responseBytes} bytes to a client that read almost nothing`);
  });

  test('a client sending more than a window the app does not read is closed 1008; a message past 1 MiB (FP_WS_MAX_MESSAGE_BYTES) dropped', async () => {
    const deaf = await RawWebSocket.connect(wsUrl(app, '/deaf'));
    for (let i = 0; i < 20; i++) deaf.sendBinary(Buffer.alloc(1024 * 1024));
    const end = await deaf.closed();
    assert.deepEqual([end.code, end.reason], [1008, 'the function is not reading its messages']);
    const echo = await RawWebSocket.connect(wsUrl(app, '/echo'));
    await echo.next();
    echo.sendBinary(Buffer.alloc(DEFAULT_WS_MAX_MESSAGE_BYTES + 1)); // 1 MiB itself is echoed (above)
    assert.equal((await echo.closed()).code, 1006, 'uWS drops a connection past maxPayloadLength');
    // The app is told 1009 (Message Too Big), as under uvicorn; it saw uWS's "1006 Received too big message" (oddfn round 2).
    const run = await runRecord(h, echo.headers['x-run-id']!);
    assert.ok(run.logs.some((l) => l.msg === 'disconnected 1009'), JSON.stringify(run.logs));
  });

  test('a client that breaks the protocol: the app is told uvicorn\'s code (1007 for a text message not UTF-8, 1002 for an invalid close frame), not uWS\'s 1006', async () => {
    // The client gets what uWS sends: no close frame (1006), or one without a code (1005).
    const cases: [string, (ws: RawWebSocket) => void, number, number][] = [
      ['not UTF-8', (ws) => ws.sendFrame(1, Buffer.from([0x63, 0x61, 0x66, 0xe9])), 1007, 1006],
      ['close code 1005', (ws) => ws.sendFrame(8, Buffer.from([0x03, 0xed])), 1002, 1005],
    ];
    for (const [what, send, code, clientCode] of cases) {
      const ws = await RawWebSocket.connect(wsUrl(app, '/echo'));
      await ws.next();
      send(ws);
      assert.equal((await ws.closed()).code, clientCode, what);
      // Before (apps round 27): "disconnected 1006", uWS's "Received invalid UTF-8" / "… close payload".
      const run = await runRecord(h, ws.headers['x-run-id']!);
      assert.ok(run.logs.some((l) => l.msg === `disconnected ${code}`), `${what}: ${JSON.stringify(run.logs)}`);
    }
  });

  test('a call is never pipelined behind a WebSocket (which may hold its slot for the whole timeout), but behind an ordinary call', async () => {
    const ws = await RawWebSocket.connect(wsUrl(pair, '/echo')); // instance A, for as long as it is open
    await ws.next();
    const slowCall = request(`${h.url}/fn/${pair}/slow`); // instance B
    await sleep(400); // both have run past PIPELINE_STUCK_MS: neither is preferred for being fresh
    const other = await request(`${h.url}/fn/${pair}/docs`); // pipelined: behind B's call, not behind the WebSocket on A
    assert.equal(other.status, 200);
    assert.equal(ws.ended, false, 'answered while the WebSocket is still open');
    assert.equal((await slowCall).status, 200);
    ws.close(1000);
    await ws.closed();
  });

  // Last: it stops the gateway.
  test('a graceful stop closes open connections with 1001, their calls end and are recorded, and the stop waits for them', async () => {
    const ws = await RawWebSocket.connect(wsUrl(app, '/echo'));
    await ws.next();
    const closing = h.gateway.close();
    const end = await ws.closed();
    assert.deepEqual([end.code, end.reason], [1001, 'the server is stopping']);
    await closing;
    const run = await runRecord(h, ws.headers['x-run-id']!);
    assert.equal(run.status, 'succeeded');
    assert.ok(run.logs.some((l) => l.msg === 'disconnected 1001'), JSON.stringify(run.logs));
  });
});
