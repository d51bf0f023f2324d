/**
 * FastAPI features as a real app uses them, through the gateway, each measured side by side with
 * the same app under uvicorn 0.54 (uvloop, httptools; h11 where they differ) in apps round 31
 * (issue 10): FileResponse with Range (one range, several, If-Range, past the end), several
 * Set-Cookie headers, a 304 from If-None-Match, HEAD of a streamed answer, a stream to an HTTP/1.0
 * client, and a WebSocket whose subprotocols come on two header lines. The upload of a large
 * UploadFile is in fastapi-upload.test.ts (it needs python-multipart).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawWebSocket } from '../helpers/ws-client.js';
import { fnName, py, useGateway } from './gateway-harness.js';
import { rawExchange } from './raw-exchange.js';

const APP = py(
  'from fastapi import FastAPI, Request, Response, WebSocket',
  'from fastapi.responses import FileResponse, StreamingResponse',
  '',
  'app = FastAPI()',
  'DATA = "/tmp/features.bin"',
  'with open(DATA, "wb") as f:',
  '    f.write(bytes(range(256)) * 40)',
  'ETAG = \'"v1-abc"\'',
  '',
  '@app.get("/file")',
  'async def file():',
  '    return FileResponse(DATA, media_type="application/octet-stream")',
  '',
  '@app.api_route("/stream", methods=["GET", "HEAD"])',
  'async def stream():',
  '    async def pieces():',
  '        for i in range(3):',
  '            yield f"piece {i}\\n".encode()',
  '    return StreamingResponse(pieces(), media_type="text/plain")',
  '',
  '@app.get("/cookies")',
  'async def cookies():',
  '    response = Response("ok", media_type="text/plain")',
  '    response.set_cookie("a", "1", httponly=True)',
  '    response.set_cookie("b", "2", path="/x", samesite="strict")',
  '    response.set_cookie("c", "3", max_age=60, secure=True)',
  '    return response',
  '',
  '@app.get("/etag")',
  'async def etag(request: Request):',
  '    headers = {"etag": ETAG, "cache-control": "max-age=60"}',
  '    if request.headers.get("if-none-match") in (ETAG, "*"):',
  '        return Response(status_code=304, headers=headers)',
  '    return Response("fresh body", media_type="text/plain", headers=headers)',
  '',
  '@app.websocket("/ws")',
  'async def ws(websocket: WebSocket):',
  '    offered = websocket.scope["subprotocols"]',
  '    chosen = "chat.v2" if "chat.v2" in offered else None',
  '    await websocket.accept(subprotocol=chosen)',
  '    await websocket.send_json({"offered": offered, "chosen": chosen})',
  '    await websocket.close()',
);

const name = fnName('feat');
const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app' } });
const FILE = Buffer.from(Array.from({ length: 256 * 40 }, (_, i) => i % 256));

interface Answer {
  status: number;
  headers: [string, string][];
  body: Buffer;
  closed: boolean;
}

/** One request over a fresh connection (`Connection: close` unless HTTP/1.0), the whole answer. */
async function send(target: string, extra: string[] = [], { method = 'GET', version = 'HTTP/1.1' } = {}): Promise<Answer> {
  const head = [`${method} /fn/${name}${target} ${version}`, 'Host: 127.0.0.1', ...(version === 'HTTP/1.1' ? ['Connection: close'] : []), ...extra];
  const answer = await rawExchange(h.gateway.port, [`${head.join('\r\n')}\r\n\r\n`], { waitMs: 10_000 });
  const at = answer.data.indexOf('\r\n\r\n');
  const [status = '', ...lines] = answer.data.subarray(0, at).toString('latin1').split('\r\n');
  const headers = lines.map((line): [string, string] => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]);
  return { status: Number(status.split(' ')[1]), headers, body: answer.data.subarray(at + 4), closed: answer.closed };
}

const all = (a: Answer, n: string): string[] => a.headers.filter(([k]) => k === n).map(([, v]) => v);
const one = (a: Answer, n: string): string | undefined => all(a, n)[0];

describe('FileResponse with Range, as under uvicorn', () => {
  it('one range: 206, Content-Range, those bytes; a suffix range the last ones', async () => {
    const a = await send('/file', ['Range: bytes=0-9']);
    assert.equal(a.status, 206);
    assert.equal(one(a, 'content-range'), 'bytes 0-9/10240');
    assert.equal(one(a, 'content-length'), '10');
    assert.equal(one(a, 'accept-ranges'), 'bytes');
    assert.deepEqual(a.body, FILE.subarray(0, 10));
    const b = await send('/file', ['Range: bytes=-5']);
    assert.equal(one(b, 'content-range'), 'bytes 10235-10239/10240');
    assert.deepEqual(b.body, FILE.subarray(10235));
  });

  it('several ranges: one multipart/byteranges body with its Content-Length, each part its Content-Range', async () => {
    const a = await send('/file', ['Range: bytes=0-3,100-103']);
    assert.equal(a.status, 206);
    const boundary = /^multipart\/byteranges; boundary=([0-9a-f]+)$/.exec(one(a, 'content-type') ?? '')?.[1];
    assert.ok(boundary, String(one(a, 'content-type')));
    assert.equal(one(a, 'content-length'), String(a.body.length));
    assert.deepEqual(all(a, 'transfer-encoding'), []);
    const expected = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-3/10240\r\n\r\n`), FILE.subarray(0, 4),
      Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 100-103/10240\r\n\r\n`), FILE.subarray(100, 104),
      Buffer.from(`\r\n--${boundary}--`),
    ]);
    assert.deepEqual(a.body, expected);
  });

  it('If-Range: the file\'s own ETag gives the range, another one the whole file (200)', async () => {
    const whole = await send('/file');
    const etag = one(whole, 'etag');
    assert.match(etag ?? '', /^"[0-9a-f]+"$/);
    const fresh = await send('/file', ['Range: bytes=0-9', `If-Range: ${etag}`]);
    assert.equal(fresh.status, 206);
    assert.deepEqual(fresh.body, FILE.subarray(0, 10));
    const stale = await send('/file', ['Range: bytes=0-9', 'If-Range: "another"']);
    assert.equal(stale.status, 200);
    assert.deepEqual(stale.body, FILE);
  });

  it('a range past the end: 416 with `Content-Range: bytes */<size>` and no body', async () => {
    const a = await send('/file', ['Range: bytes=20000-20010']);
    assert.equal(a.status, 416);
    assert.equal(one(a, 'content-range'), 'bytes */10240');
    assert.equal(one(a, 'content-length'), '0');
    assert.equal(a.body.length, 0);
  });
});

describe('headers and bodies a FastAPI app sends, as under uvicorn', () => {
  it('several Set-Cookie headers: each on its own line, in order, none merged', async () => {
    const a = await send('/cookies');
    assert.deepEqual(all(a, 'set-cookie'), [
      'a=1; HttpOnly; Path=/; SameSite=lax',
      'b=2; Path=/x; SameSite=strict',
      'c=3; Max-Age=60; Path=/; SameSite=lax; Secure',
    ]);
    assert.equal(a.body.toString(), 'ok');
  });

  it('If-None-Match with the ETag: 304 with the ETag and Cache-Control, no body and no Content-Length', async () => {
    const a = await send('/etag', ['If-None-Match: "v1-abc"']);
    assert.equal(a.status, 304);
    assert.equal(one(a, 'etag'), '"v1-abc"');
    assert.equal(one(a, 'cache-control'), 'max-age=60');
    assert.deepEqual(all(a, 'content-length'), []);
    assert.equal(a.body.length, 0);
    const b = await send('/etag', ['If-None-Match: "v0"']);
    assert.equal(b.status, 200);
    assert.equal(b.body.toString(), 'fresh body');
  });

  it('HEAD of a streamed answer: its head (Transfer-Encoding: chunked, as h11 sends), no chunk, not even the last', async () => {
    const a = await send('/stream', [], { method: 'HEAD' });
    assert.equal(a.status, 200);
    assert.equal(one(a, 'content-type'), 'text/plain; charset=utf-8');
    assert.equal(a.body.length, 0);
    assert.ok(a.closed);
  });

  it('a stream to an HTTP/1.0 client: chunked, as uvicorn with httptools sends it, then closed (ADR 0195: not close-delimited as h11 does)', async () => {
    const a = await send('/stream', [], { version: 'HTTP/1.0' });
    assert.equal(a.status, 200);
    assert.deepEqual(all(a, 'connection'), ['close']);
    assert.deepEqual(all(a, 'transfer-encoding'), ['chunked']);
    // Chunked framing, whatever the pieces' grouping (one chunk when they came in one turn, one
    // each on a loaded machine), ending with the last chunk; then the connection closes.
    const framed = a.body.toString('latin1');
    assert.match(framed, /^([0-9a-f]+\r\n[^]*?\r\n)+0\r\n\r\n$/);
    assert.equal(unchunk(framed), 'piece 0\npiece 1\npiece 2\n');
    assert.ok(a.closed);
  });
});

describe('a WebSocket with subprotocols, as under uvicorn', () => {
  it('offered on one line or on two, the scope lists them all and the app\'s choice is the one answered', async () => {
    const lines: Record<string, string>[] = [{}, { 'Sec-WebSocket-Protocol': 'chat.v2' }];
    for (const [protocols, headers] of [[['chat.v1', 'chat.v2'], lines[0]], [['chat.v1'], lines[1]]] as const) {
      const ws = await RawWebSocket.connect(`${h.url.replace('http', 'ws')}/fn/${name}/ws`, { protocols: [...protocols], headers });
      assert.equal(ws.headers['sec-websocket-protocol'], 'chat.v2', JSON.stringify(headers));
      const hello = await ws.next();
      assert.deepEqual(JSON.parse((hello as { text: string }).text), { offered: ['chat.v1', 'chat.v2'], chosen: 'chat.v2' });
      assert.equal((await ws.closed()).code, 1000);
    }
    const none = await RawWebSocket.connect(`${h.url.replace('http', 'ws')}/fn/${name}/ws`, { protocols: ['chat.v1'] });
    assert.equal(none.headers['sec-websocket-protocol'], undefined);
    assert.deepEqual(JSON.parse((await none.next() as { text: string }).text), { offered: ['chat.v1'], chosen: null });
  });
});

/** The data of a chunked body (sizes checked: each chunk is as long as its size line says). */
function unchunk(framed: string): string {
  let data = '';
  for (let at = 0; ;) {
    const eol = framed.indexOf('\r\n', at);
    const size = parseInt(framed.slice(at, eol), 16);
    if (size === 0) return data;
    data += framed.slice(eol + 2, eol + 2 + size);
    assert.equal(framed.slice(eol + 2 + size, eol + 4 + size), '\r\n', 'a chunk ends where its size says');
    at = eol + 4 + size;
  }
}
