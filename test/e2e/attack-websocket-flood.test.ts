/**
 * Clients that flood a WebSocket app which reads rarely (red team round 30; docs/security.md,
 * "Thirtieth probe"; docs/adr/0194-websocket-inbound-backpressure.md): what the app has not taken
 * is bounded per connection (WS_INBOUND_WINDOW_MESSAGES, WS_INBOUND_WINDOW_BYTES) and per instance
 * (a share of its memory limit); the rest waits in the gateway, counted in the held-answer budget,
 * up to WS_HELD_INBOUND_BYTES, past which the connection is closed 1008. Before, each connection
 * could have 16 MiB sent to its app and not taken: six of them pushed a 128 MiB instance out of
 * memory, and the kill spent the function's crash budget.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RawWebSocket } from '../helpers/ws-client.js';
import { fnName, py, sleep, useGateway } from './gateway-harness.js';

// Reads one message every `every` seconds (default 1) and answers each with its first 8 bytes (the
// client's sequence number) and the runtime's resident memory.
const SLOW = py(
  'import asyncio',
  'from fastapi import FastAPI, WebSocket',
  'app = FastAPI()',
  '',
  'def rss_mib():',
  '    with open("/proc/self/status") as f:',
  '        for line in f:',
  '            if line.startswith("VmRSS:"):',
  '                return int(line.split()[1]) // 1024',
  '    return -1',
  '',
  '@app.websocket("/slow")',
  'async def slow(ws: WebSocket):',
  '    await ws.accept()',
  '    every = float(ws.query_params.get("every", "1"))',
  '    while True:',
  '        data = await ws.receive_bytes()',
  '        await ws.send_text(f"{int.from_bytes(data[:8], \'big\')} {len(data)} {rss_mib()}")',
  '        await asyncio.sleep(every)',
);

// A busy route whose app takes nothing for a minute, and an echo beside it on the same instance.
const BESIDE = py(
  'import asyncio',
  'from fastapi import FastAPI, WebSocket',
  'app = FastAPI()',
  '',
  '@app.websocket("/busy")',
  'async def busy(ws: WebSocket):',
  '    await ws.accept()',
  '    await asyncio.sleep(60)',
  '',
  '@app.websocket("/echo")',
  'async def echo(ws: WebSocket):',
  '    await ws.accept()',
  '    while True:',
  '        data = await ws.receive_bytes()',
  '        await ws.send_text(str(len(data)))',
);

const slow = fnName('slow');
const beside = fnName('beside');
const crowded = fnName('crowded');
const victim = fnName('victim');
const MIB = 1024 * 1024;

const h = useGateway({
  [slow]: { files: { 'main.py': SLOW }, manifest: 'entrypoint: main:app\nlimits:\n  timeout: 120s\n  memory: 128Mi\n  concurrency: 8\n  maxInstances: 1' },
  [victim]: { files: { 'main.py': py('def handler(event, context):', '    return {"ok": True}') } },
  [beside]: { files: { 'main.py': BESIDE }, manifest: 'entrypoint: main:app\nlimits:\n  timeout: 120s\n  memory: 256Mi\n  concurrency: 8\n  maxInstances: 1' },
  [crowded]: { files: { 'main.py': BESIDE }, manifest: 'entrypoint: main:app\nlimits:\n  timeout: 120s\n  memory: 128Mi\n  concurrency: 8\n  maxInstances: 1' },
});

function numbered(seq: number): Buffer {
  const data = Buffer.alloc(MIB, 7);
  data.writeBigUInt64BE(BigInt(seq), 0);
  return data;
}

/** Sends numbered 1 MiB messages as fast as the socket takes them until the connection ends or `stop` says so. */
async function flood(ws: RawWebSocket, stop: () => boolean): Promise<number> {
  let seq = 0;
  while (!ws.ended && !stop() && !ws.socket.destroyed) {
    ws.sendBinary(numbered(seq++));
    if (ws.socket.writableNeedDrain) {
      await Promise.race([new Promise((resolve) => ws.socket.once('drain', resolve)), sleep(200)]);
    }
  }
  return seq;
}

describe('WebSocket clients flooding an app that reads one message a second', () => {
  test('the instance keeps its memory (no out-of-memory kill), floods are closed 1008, other connections and functions are served, the slow app gets every message in order', async () => {
    const base = `${h.url.replace('http:', 'ws:')}/fn/${slow}/slow`;
    // A polite client: a burst larger than the window the app may hold, then it waits.
    const polite = await RawWebSocket.connect(`${base}?every=0.05`);
    const floods = await Promise.all(Array.from({ length: 6 }, () => RawWebSocket.connect(base)));
    let stop = false;
    const flooding = floods.map((ws) => flood(ws, () => stop));
    const BURST = 12;
    for (let i = 0; i < BURST; i++) polite.sendBinary(numbered(i));

    const got: number[] = [];
    let maxRss = 0;
    while (got.length < BURST) {
      const e = await polite.next(60_000);
      assert.equal(e.kind, 'text', JSON.stringify(e));
      const [seq, len, rss] = (e as { text: string }).text.split(' ').map(Number) as [number, number, number];
      assert.equal(len, MIB);
      got.push(seq);
      maxRss = Math.max(maxRss, rss);
    }
    assert.deepEqual(got, Array.from({ length: BURST }, (_, i) => i), 'every message, in order');

    // Another function is served meanwhile.
    const res = await fetch(`${h.url}/fn/${victim}`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);

    // The flooders are closed 1008 (they kept sending into a full connection), not the instance killed.
    const ends = await Promise.all(floods.map((ws) => ws.closed(60_000)));
    stop = true;
    await Promise.all(flooding);
    for (const end of ends) assert.deepEqual([end.code, end.reason], [1008, 'the function is not reading its messages']);
    for (const end of ends) {
      for (const e of end.before) maxRss = Math.max(maxRss, Number((e as { text: string }).text.split(' ')[2]));
    }
    assert.ok(maxRss < 100, `the runtime's resident memory reached ${maxRss} MiB`);

    // The polite connection is still open: the instance was not killed.
    polite.sendBinary(numbered(BURST));
    const last = await polite.next(20_000);
    assert.equal(last.kind, 'text', JSON.stringify(last));
    assert.equal(Number((last as { text: string }).text.split(' ')[0]), BURST);
    polite.close();
    await polite.closed(20_000);
    const failed = h.runs.list().filter((r) => r.errorCode === 'FUNCTION_OUT_OF_MEMORY' || r.errorCode === 'FUNCTION_CRASH_LOOP' || r.errorCode === 'RUNTIME_CRASHED');
    assert.deepEqual(failed.map((r) => r.errorCode), []);
    for (const ws of floods) ws.destroy();
  });
});

describe('a message refused for the runtime socket\'s backlog (red team round 32)', () => {
  test('goes when the backlog drains: an echo beside a connection whose app takes nothing answers at once, not 1008 after 30 s', async () => {
    const base = `${h.url.replace('http:', 'ws:')}/fn/${beside}`;
    const busy = await RawWebSocket.connect(`${base}/busy`);
    const echo = await RawWebSocket.connect(`${base}/echo`);
    echo.sendBinary(Buffer.alloc(10));
    assert.deepEqual(await echo.next(10_000), { kind: 'text', text: '10' });
    // In one go: 3.5 MiB to the busy connection (its app takes none; they wait in the gateway for the
    // runtime's socket a moment), then 1 MiB to the echo, refused for that backlog. It waited for the
    // next message an app on the instance took, and none did: closed 1008 after 30 s.
    for (let i = 0; i < 7; i++) busy.sendBinary(Buffer.alloc(MIB / 2, 1));
    echo.sendBinary(Buffer.alloc(MIB, 2));
    const e = await echo.next(40_000);
    assert.deepEqual(e, { kind: 'text', text: String(MIB) });
    echo.close();
    await echo.closed(20_000);
    busy.destroy();
  });
});

describe('connections whose app takes nothing fill their instance\'s share (red team round 32, ADR 0197)', () => {
  test('another connection still gets its part of the share: its 1 MiB reaches its app at once, not 1008 after 30 s', async () => {
    const base = `${h.url.replace('http:', 'ws:')}/fn/${crowded}`;
    // 128 Mi: the share is 16 MiB; five connections of 3.5 MiB each (their window) fill it. Before,
    // the echo's message waited for one of them to be taken, and none was: closed 1008 after 30 s.
    const busy = await Promise.all([0, 1, 2, 3, 4].map(() => RawWebSocket.connect(`${base}/busy`)));
    for (const ws of busy) for (let i = 0; i < 8; i++) ws.sendBinary(Buffer.alloc(MIB / 2, 1));
    await Promise.all(busy.map((ws) => (ws.socket.writableLength === 0 ? undefined : new Promise((resolve) => ws.socket.once('drain', resolve)))));
    await sleep(1000); // the gateway has passed them on to the runtime
    const echo = await RawWebSocket.connect(`${base}/echo`);
    echo.sendBinary(Buffer.alloc(MIB, 2));
    assert.deepEqual(await echo.next(40_000), { kind: 'text', text: String(MIB) });
    echo.close();
    await echo.closed(20_000);
    for (const ws of busy) ws.destroy();
  });
});

