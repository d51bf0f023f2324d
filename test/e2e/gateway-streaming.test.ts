/**
 * ASGI fidelity through the real gateway and real runtimes (issue 10): streamed responses reach
 * the client as the app sends them, a slow reader pauses the app (backpressure), a client that
 * leaves cancels the app's stream, background tasks run after the response, and the lifespan runs
 * at specialize (state, failure) and at shutdown.
 *
 * Ordering, never timing: the app waits on a gate the test opens (test/e2e/logs-harness.ts), so
 * "chunk 1 arrived before the end" is "the test read chunk 1 while the app was still held".
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fnName, py, runRecord, sleep, useGateway, type Harness } from './gateway-harness.js';
import type { AddressInfo } from 'node:net';

/** A wait budget for what the test expects to happen (a failure, never a pass condition). */
const EXPECT_MS = 30_000;

const GATE_URL = 'GATE_URL';

/** A FastAPI app with streaming, background and lifespan routes; `GATE_URL` comes from the env. */
const APP = py(
  'import asyncio, os, urllib.request',
  'from contextlib import asynccontextmanager',
  'from fastapi import BackgroundTasks, FastAPI, Request',
  'from fastapi.responses import StreamingResponse',
  '',
  'GATE = os.environ["GATE_URL"]',
  'stats = {"sent": 0}',
  '',
  'def gate(key):',
  '    urllib.request.urlopen(f"{GATE}/wait/{key}", timeout=60).read()',
  '',
  '@asynccontextmanager',
  'async def lifespan(app):',
  '    await asyncio.to_thread(gate, "startup-" + os.environ["FN"])',
  '    yield {"greeting": "from lifespan"}',
  '    await asyncio.to_thread(gate, "shutdown-" + os.environ["FN"])',
  '',
  'app = FastAPI(lifespan=lifespan)',
  '',
  '@app.get("/three")',
  'async def three(key: str):',
  '    async def chunks():',
  '        for i in (1, 2, 3):',
  '            if i > 1:',
  '                await asyncio.to_thread(gate, f"{key}-{i}")',
  '            yield f"data: chunk {i}\\n\\n".encode()',
  '    return StreamingResponse(chunks(), media_type="text/event-stream")',
  '',
  '# An event stream whose first event waits: its head goes at http.response.start (ADR 0150).',
  '@app.get("/held-head")',
  'async def held_head(key: str):',
  '    async def events():',
  '        await asyncio.to_thread(gate, key)',
  '        yield b"data: first\\n\\n"',
  '    return StreamingResponse(events(), media_type="text/event-stream")',
  '',
  '@app.get("/endless")',
  'async def endless():',
  '    async def chunks():',
  '        while True:',
  '            yield b"x" * 65536',
  '            stats["sent"] += 1',
  '    return StreamingResponse(chunks(), media_type="application/octet-stream")',
  '',
  '# Small pieces (apps round 17): the gateway writes those of one turn together (ADR 0191).',
  '@app.get("/endless-small")',
  'async def endless_small():',
  '    async def chunks():',
  '        while True:',
  '            yield b"y" * 100',
  '            stats["small"] = stats.get("small", 0) + 1',
  '    return StreamingResponse(chunks(), media_type="application/octet-stream")',
  '',
  '@app.get("/numbered")',
  'async def numbered(n: int):',
  '    async def chunks():',
  '        for i in range(n):',
  '            yield f"{i},".encode()',
  '    return StreamingResponse(chunks(), media_type="text/plain")',
  '',
  '@app.get("/stats")',
  'async def get_stats():',
  '    return stats',
  '',
  '@app.get("/background")',
  'async def background(key: str, tasks: BackgroundTasks, fail: bool = False):',
  '    def task():',
  '        gate(key)',
  '        if fail:',
  '            raise RuntimeError("the background task failed: " + key)',
  '        print("background done", key)',
  '    tasks.add_task(task)',
  '    return {"ok": True}',
  '',
  '@app.get("/state")',
  'async def state(request: Request):',
  '    return {"greeting": request.state.greeting}',
);

const FAILING_APP = py(
  'from contextlib import asynccontextmanager',
  'from fastapi import FastAPI',
  '',
  '@asynccontextmanager',
  'async def lifespan(app):',
  '    raise RuntimeError("the database is not reachable")',
  '    yield',
  '',
  'app = FastAPI(lifespan=lifespan)',
  '',
  '@app.get("/")',
  'def root():',
  '    return {"ok": True}',
);

/** A stream that stops producing after its first chunk (until a gate nobody opens). */
const STALLED_APP = py(
  'import asyncio, os, urllib.request',
  'from fastapi import BackgroundTasks, FastAPI',
  'from fastapi.responses import StreamingResponse',
  'app = FastAPI()',
  '@app.get("/")',
  'async def stalled():',
  '    async def chunks():',
  '        yield b"first\\n"',
  '        await asyncio.to_thread(urllib.request.urlopen, os.environ["GATE_URL"] + "/wait/never", timeout=600)',
  '        yield b"never\\n"',
  '    return StreamingResponse(chunks())',
  '@app.get("/background")',
  'async def background(tasks: BackgroundTasks):',
  '    tasks.add_task(urllib.request.urlopen, os.environ["GATE_URL"] + "/wait/never", timeout=600)',
  '    return {"ok": True}',
);

/** A raw ASGI app whose body fails right after its first piece: both reach the gateway together. */
const FAILS_AFTER_FIRST = py(
  'import asyncio',
  'async def app(scope, receive, send):',
  '    if scope["type"] != "http":',
  '        return',
  '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})',
  '    if scope["query_string"] in (b"empty", b"empty-ok"):',
  '        # an empty first piece, as a generator\'s first `yield b""` sends the headers at once',
  '        await send({"type": "http.response.body", "body": b"", "more_body": True})',
  '        await asyncio.sleep(0)',
  '        if scope["query_string"] == b"empty-ok":',
  '            await send({"type": "http.response.body", "body": b"done"})',
  '            return',
  '        raise RuntimeError("after an empty first piece")',
  '    await send({"type": "http.response.body", "body": b"first\\n", "more_body": True})',
  '    raise RuntimeError("after the first piece")',
);

/** A raw ASGI app that sends its head, then waits on the gate before its one body message. */
const HELD_HEAD_APP = py(
  'import asyncio, os, urllib.request',
  'GATE = os.environ["GATE_URL"]',
  'async def app(scope, receive, send):',
  '    if scope["type"] != "http":',
  '        return',
  '    kind, key = scope["query_string"].decode().split("-", 1)',
  '    headers = [(b"content-type", b"text/plain")] + ([(b"content-length", b"4")] if kind == "counted" else [])',
  '    await send({"type": "http.response.start", "status": 201, "headers": headers})',
  '    await asyncio.to_thread(lambda: urllib.request.urlopen(f"{GATE}/wait/{key}", timeout=60).read())',
  '    await send({"type": "http.response.body", "body": b"" if kind == "empty" else b"late", "more_body": False})',
);

const name = fnName('stream');
const heldHead = fnName('held');
const failsAfterFirst = fnName('fafter');
const stalled = fnName('stall');
const failing = fnName('lsfail');
let gate: Gate;

// The gate must exist before the functions are written (its URL is in their env): started at load.
gate = await startGate();
const gateUrl = gate;

const h: Harness = useGateway({
  [name]: {
    files: { 'app.py': APP },
    manifest: `entrypoint: app:app\nenv:\n  ${GATE_URL}: "${gateUrl.url}"\n  FN: "${name}"\nlimits:\n  concurrency: 4\n  maxInstances: 1\n  timeout: 60s`,
  },
  [failing]: { files: { 'app.py': FAILING_APP }, manifest: 'entrypoint: app:app' },
  [failsAfterFirst]: { files: { 'app.py': FAILS_AFTER_FIRST }, manifest: 'entrypoint: app:app' },
  [heldHead]: { files: { 'app.py': HELD_HEAD_APP }, manifest: `entrypoint: app:app\nenv:\n  ${GATE_URL}: "${gateUrl.url}"\nlimits:\n  timeout: 60s` },
  [stalled]: { files: { 'app.py': STALLED_APP }, manifest: `entrypoint: app:app\nenv:\n  ${GATE_URL}: "${gateUrl.url}"\nlimits:\n  timeout: 2s` },
});
after(() => gate.close());

/** Reads a response's body piece by piece (node:http: pausable, abortable). */
class Reader {
  private pieces: Buffer[] = [];
  private wake: (() => void) | null = null;
  ended = false;
  constructor(readonly res: http.IncomingMessage, readonly req: http.ClientRequest) {
    res.on('data', (c: Buffer) => { this.pieces.push(c); this.wake?.(); });
    res.on('end', () => { this.ended = true; this.wake?.(); });
    res.on('error', () => { this.ended = true; this.wake?.(); });
    res.on('close', () => { this.ended = true; this.wake?.(); });
  }

  /** Waits until the text read so far contains `text`; returns everything read. */
  async until(text: string): Promise<string> {
    const deadline = Date.now() + EXPECT_MS;
    for (;;) {
      const all = Buffer.concat(this.pieces).toString();
      if (all.includes(text)) return all;
      if (this.ended) throw new Error(`the body ended without ${JSON.stringify(text)}: ${JSON.stringify(all)}`);
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} within ${EXPECT_MS} ms`);
      await new Promise<void>((resolve) => { this.wake = resolve; setTimeout(resolve, 200); });
    }
  }

  async end(): Promise<string> {
    const deadline = Date.now() + EXPECT_MS;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('the body did not end');
      await new Promise<void>((resolve) => { this.wake = resolve; setTimeout(resolve, 200); });
    }
    return Buffer.concat(this.pieces).toString();
  }
}

function open(path: string): Promise<Reader> {
  return openAt(`/fn/${name}${path}`);
}

function openAt(path: string): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${h.url}${path}`, { agent: false }, (res) => resolve(new Reader(res, req)));
    req.on('error', reject);
  });
}

/** `promise`, or a failure once the wait budget is spent (a bound for a failure, not a timing assertion). */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within ${EXPECT_MS} ms`)), EXPECT_MS); });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function getJson(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${h.url}/fn/${name}${path}`);
  assert.equal(res.status, 200);
  return await res.json() as Record<string, unknown>;
}

/** Polls `check` until it holds (a wait budget, not an assertion on time). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EXPECT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('ASGI fidelity through the gateway', () => {
  before(async () => {
    // The first call specializes the app, whose lifespan startup waits on the gate.
    gate.release(`startup-${name}`);
    await getJson('/state');
  });

  test('lifespan state set at startup reaches the request', async () => {
    assert.deepEqual(await getJson('/state'), { greeting: 'from lifespan' });
  });

  test('a StreamingResponse reaches the client chunk by chunk, as the app sends it', async () => {
    const reader = await open('/three?key=k3');
    assert.equal(reader.res.statusCode, 200);
    assert.equal(reader.res.headers['content-type'], 'text/event-stream; charset=utf-8');
    const runId = String(reader.res.headers['x-run-id']);
    // Chunk 1 arrives while the app is held before chunk 2 (the gate is still closed).
    const first = await reader.until('data: chunk 1');
    assert.ok(!first.includes('chunk 2'));
    gate.release('k3-2');
    const second = await reader.until('data: chunk 2');
    assert.ok(!second.includes('chunk 3'));
    gate.release('k3-3');
    assert.equal(await reader.end(), 'data: chunk 1\n\ndata: chunk 2\n\ndata: chunk 3\n\n');
    const run = await runRecord(h, runId);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.httpStatus, 200);
    assert.equal(run.responseBytes, 3 * 'data: chunk 1\n\n'.length);
    assert.ok(run.durationMs >= run.handlerMs - 1);
  });

  test('the head of a stream leaves at http.response.start, before its first piece, as under uvicorn (ADR 0150)', async () => {
    // An event stream waiting for its first event: before, its head waited for that event, and an
    // EventSource stayed without `onopen`. The app is held on the gate until the head arrived.
    const held = open('/held-head?key=hh-1');
    await gate.asked('hh-1');
    const reader = await within('the head while the app waits for its first event', held);
    assert.equal(reader.res.statusCode, 200);
    assert.equal(reader.res.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(reader.res.headers['transfer-encoding'], 'chunked');
    gate.release('hh-1');
    assert.equal(await reader.end(), 'data: first\n\n');
    assert.equal(reader.res.complete, true);
    // A raw app: start, then a wait, then its one body message: chunked (or its Content-Length), as uvicorn sends it.
    for (const [kind, body, framing] of [['chunked', 'late', 'transfer-encoding'], ['empty', '', 'transfer-encoding'], ['counted', 'late', 'content-length']] as const) {
      const key = `${kind}-hh`;
      const pending = openAt(`/fn/${heldHead}/?${kind}-${key}`);
      await gate.asked(key);
      const raw = await within(`the ${kind} head while the app waits`, pending);
      assert.equal(raw.res.statusCode, 201, kind);
      assert.equal(raw.res.headers[framing], framing === 'content-length' ? '4' : 'chunked', kind);
      gate.release(key);
      assert.equal(await raw.end(), body, kind);
      assert.equal(raw.res.complete, true, kind);
      const run = await runRecord(h, String(raw.res.headers['x-run-id']));
      assert.equal(run.status, 'succeeded', kind);
      assert.equal(run.responseBytes, body.length, kind);
    }
  });

  test('a direct invocation (test invoke, async runs) gets the streamed body whole, and the call\'s end', async () => {
    gate.release('kd-2');
    gate.release('kd-3');
    const out = await h.gateway.invoke(name, { method: 'GET', path: '/three', rawQuery: 'key=kd', headers: [], body: new Uint8Array(0) }, 'test');
    assert.equal(out.status, 200);
    assert.equal(out.error, null);
    assert.equal(Buffer.from(out.body).toString(), 'data: chunk 1\n\ndata: chunk 2\n\ndata: chunk 3\n\n');
    const run = await runRecord(h, out.runId);
    assert.equal(run.trigger, 'test');
    assert.equal(run.status, 'succeeded');
  });

  test('a slow reader pauses the app (bounded), reading again resumes it, leaving cancels it', async () => {
    const reader = await open('/endless');
    reader.res.pause(); // the client stops reading
    // The app's send waits once the window and the sockets' buffers are full: its count stops growing.
    let last = -1;
    let stable = 0;
    await until('the app to be paused by backpressure', async () => {
      const sent = Number((await getJson('/stats'))['sent']);
      stable = sent === last ? stable + 1 : 0;
      last = sent;
      return stable >= 10;
    });
    t_diag(`chunks of 64 KiB sent while the client did not read: ${last}`);
    // Bounded: what is in flight is the window plus the kernel's socket buffers, far from endless.
    assert.ok(last * 65536 < 64 * 1024 * 1024, `the app sent ${last} chunks to a client that does not read`);
    reader.res.resume();
    await until('the app to go on once the client reads', async () => Number((await getJson('/stats'))['sent']) > last + 20);
    reader.req.destroy(); // the client leaves mid-stream
    // The app's stream is cancelled (http.disconnect, its send raises): the call ends and frees its slot.
    const run = await runRecord(h, String(reader.res.headers['x-run-id']));
    assert.equal(run.clientAborted, true);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.ok((run.responseBytes ?? 0) >= (last + 20) * 65536);
  });

  test('many small pieces arrive whole and in order; a slow reader still pauses the app, reading resumes it, leaving cancels it (ADR 0191)', async () => {
    const numbered = await open('/numbered?n=5000');
    const want = Array.from({ length: 5000 }, (_, i) => `${i},`).join('');
    assert.equal(await numbered.end(), want);
    assert.equal(numbered.res.complete, true);
    const reader = await open('/endless-small');
    reader.res.pause();
    let last = -1;
    let stable = 0;
    await until('the app to be paused by backpressure', async () => {
      const sent = Number((await getJson('/stats'))['small'] ?? 0);
      stable = sent === last ? stable + 1 : 0;
      last = sent;
      return stable >= 10;
    });
    t_diag(`pieces of 100 B sent while the client did not read: ${last}`);
    // Bounded as for big pieces: the window, the sockets' buffers and at most 16 KiB taken and not yet written.
    assert.ok(last * 100 < 64 * 1024 * 1024, `the app sent ${last} pieces to a client that does not read`);
    reader.res.resume();
    await until('the app to go on once the client reads', async () => Number((await getJson('/stats'))['small']) > last + 5000);
    reader.req.destroy();
    const run = await runRecord(h, String(reader.res.headers['x-run-id']));
    assert.equal(run.clientAborted, true);
    assert.ok((run.responseBytes ?? 0) >= (last + 5000) * 100);
  });

  test('a background task runs after the response, holds the slot, and its log is in the run record', async () => {
    const res = await fetch(`${h.url}/fn/${name}/background?key=bg1`);
    // The response arrived while the task is held on the gate.
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    const runId = res.headers.get('x-run-id')!;
    const busy = (): number => Object.values(h.pool.stats().functions).find((f) => f.name === name)?.busy ?? 0;
    assert.equal(busy(), 1, 'the instance is busy while the background task runs');
    assert.equal(h.runs.get(runId), undefined, 'the run is recorded when the task ends');
    gate.release('bg1');
    const run = await runRecord(h, runId);
    assert.equal(run.status, 'succeeded');
    assert.ok(run.logs.some((l) => l.msg === 'background done bg1'));
    await until('the slot to be free', () => busy() === 0);
  });

  test('a background task that fails: the caller got its 200, the run record has the error', async () => {
    const res = await fetch(`${h.url}/fn/${name}/background?key=bg2&fail=true`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    gate.release('bg2');
    const run = await runRecord(h, res.headers.get('x-run-id')!);
    assert.equal(run.httpStatus, 200);
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'FUNCTION_ERROR');
    assert.equal(run.error?.type, 'RuntimeError');
    assert.match(run.error?.message ?? '', /bg2/);
  });

  test('a stream that stops producing ends at the call\'s timeout: the body is cut off, the record says FUNCTION_TIMEOUT', async () => {
    const reader = await new Promise<Reader>((resolve, reject) => {
      const req = http.get(`${h.url}/fn/${stalled}/`, { agent: false }, (res) => resolve(new Reader(res, req)));
      req.on('error', reject);
    });
    if (reader.res.statusCode !== 200) assert.fail(await reader.end());
    await reader.until('first');
    const cut = await new Promise<boolean>((resolve) => {
      reader.res.on('aborted', () => resolve(true));
      reader.res.on('error', () => resolve(true));
      reader.res.on('end', () => resolve(reader.res.complete === false));
      reader.res.on('close', () => resolve(reader.res.complete === false));
    });
    assert.equal(cut, true, 'the client must not take a cut body for whole');
    const run = await runRecord(h, String(reader.res.headers['x-run-id']));
    assert.equal(run.errorCode, 'FUNCTION_TIMEOUT');
    assert.equal(run.httpStatus, 200);
    assert.equal(run.status, 'failed');
  });

  test('a background task that outlives the call\'s timeout: the caller has its 200, the record says FUNCTION_TIMEOUT', async () => {
    const res = await fetch(`${h.url}/fn/${stalled}/background`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    const run = await runRecord(h, res.headers.get('x-run-id')!);
    assert.equal(run.errorCode, 'FUNCTION_TIMEOUT');
    assert.equal(run.httpStatus, 200);
  });

  test('a failing lifespan startup is FUNCTION_INIT_FAILED with the app\'s message in the run record', async () => {
    const res = await fetch(`${h.url}/fn/${failing}/`);
    const body = await res.json() as { error: { code: string } };
    assert.equal(body.error.code, 'FUNCTION_INIT_FAILED');
    const run = await runRecord(h, res.headers.get('x-run-id')!);
    assert.equal(run.errorCode, 'FUNCTION_INIT_FAILED');
    assert.match(run.error?.message ?? '', /the database is not reachable/);
  });

  test('a body that fails after its first piece: the client gets the head and that piece, then the cut, every time (as uvicorn)', async () => {
    // The piece and the failure reach the gateway together: closed in the cork that wrote the
    // head, uWS dropped both, and about a third of the calls got an empty reply (apps round 14).
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      got.push(await new Promise<string>((resolve) => {
        const req = http.get(`${h.url}/fn/${failsAfterFirst}/`, { agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => { body += d; });
          res.on('close', () => resolve(`${res.statusCode} ${JSON.stringify(body)} complete=${res.complete}`));
        });
        req.on('error', (err) => resolve(`no answer: ${err.message}`));
      }));
    }
    assert.deepEqual(got, Array(20).fill('200 "first\\n" complete=false'));
  });

  test('a body that fails after an empty first piece: cut, and the run is the app\'s error, not the runtime\'s; one that ends is whole', async () => {
    // The runtime took the empty piece for nothing sent and answered a `result` after its
    // `response`: RUNTIME_PROTOCOL_ERROR, the instance discarded (apps round 14). The client's
    // answer is cut after its head (whole since ADR 0150: an empty write ends it).
    const get = (query: string): Promise<{ line: string; runId: string }> => new Promise((resolve) => {
      const req = http.get(`${h.url}/fn/${failsAfterFirst}/?${query}`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { body += d; });
        res.on('close', () => resolve({ line: `${res.statusCode} ${JSON.stringify(body)} complete=${res.complete}`, runId: String(res.headers['x-run-id']) }));
      });
      req.on('error', (err) => resolve({ line: `no answer: ${err.message}`, runId: '' }));
    });
    assert.doesNotMatch((await get('empty')).line, /complete=true/, 'never a complete-looking answer');
    const failed = await h.gateway.invoke(failsAfterFirst, { method: 'GET', path: '/', rawQuery: 'empty', headers: [], body: new Uint8Array(0) }, 'test');
    assert.equal(failed.error?.code, 'FUNCTION_ERROR', JSON.stringify(failed.error));
    const run = await runRecord(h, failed.runId);
    assert.equal(run.errorCode, 'FUNCTION_ERROR', JSON.stringify(run.error));
    assert.match(run.error?.message ?? '', /after an empty first piece/);
    const ok = await get('empty-ok');
    assert.equal(ok.line, '200 "done" complete=true');
    assert.equal((await runRecord(h, ok.runId)).status, 'succeeded');
  });

  test('the lifespan shutdown runs when the instance is stopped', async () => {
    gate.release(`shutdown-${name}`);
    const asked = gate.asked(`shutdown-${name}`);
    h.pool.drain(name); // the idle instance retires: the runtime gets `shutdown`
    await asked;
  });
});

function t_diag(msg: string): void {
  process.stdout.write(`# ${msg}\n`);
}

interface Gate {
  url: string;
  /** Lets the app waiting on `key` go on (now, or as soon as it asks). */
  release(key: string): void;
  /** Resolves when the app asked for `key`. */
  asked(key: string): Promise<void>;
  close(): Promise<void>;
}

/** A gate the app waits on (`GET /wait/<key>`), as in logs-harness.ts, that also says who asked. */
async function startGate(): Promise<Gate> {
  const released = new Set<string>();
  const waiting = new Map<string, http.ServerResponse[]>();
  const askedFor = new Map<string, () => void>();
  const askedSeen = new Set<string>();
  const server = http.createServer((req, res) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/wait\//, ''));
    askedSeen.add(key);
    askedFor.get(key)?.();
    if (released.has(key)) res.end('go');
    else waiting.set(key, [...(waiting.get(key) ?? []), res]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    release(key) {
      released.add(key);
      for (const res of waiting.get(key) ?? []) res.end('go');
      waiting.delete(key);
    },
    asked(key) {
      if (askedSeen.has(key)) return Promise.resolve();
      return new Promise<void>((resolve) => askedFor.set(key, resolve));
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
