/**
 * Streamed ASGI responses at the runtime protocol (v3, docs/runtime-protocol.md "Streamed
 * responses" and "Lifespan") against real Python processes: the window holds an app that the host
 * does not acknowledge, an `ack` lets exactly that much more through, a `cancel` ends the call
 * (and wakes an app waiting in `receive`), calls beyond `concurrency` wait and start in arrival
 * order, a complete response goes out before background tasks, and a lifespan shutdown that hangs is
 * abandoned within its bound (the process still exits 0, not killed).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STREAM_WINDOW_BYTES, type RuntimeMessage } from '../../protocol/messages.js';
import { makeEvent, py, removeFunction, startRuntime, writeFunction, type RuntimeHandle } from '../helpers/runtime-process.js';

const PIECE = 64 * 1024;

const APP = py(
  'import asyncio',
  'async def app(scope, receive, send):',
  '    if scope["type"] != "http":',
  '        raise RuntimeError("no lifespan")',
  '    await receive()',
  '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})',
  '    if scope["path"] == "/background":',
  '        await send({"type": "http.response.body", "body": b"done"})',
  '        await asyncio.sleep(0.05)  # a background task: the response is out already',
  '        print("background ran")',
  '        return',
  '    try:',
  '        while True:',
  '            await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})',
  '    except OSError as err:',
  '        print("send raised", type(err).__name__)',
  '        assert (await receive())["type"] == "http.disconnect"',
);

/** Heads before a wait (alone) and behind BaseHTTPMiddleware (with their body): ADR 0150. */
const HEAD_APP = py(
  'import asyncio',
  'from fastapi import FastAPI, Request',
  'app = FastAPI()',
  '@app.middleware("http")',
  'async def mw(request: Request, call_next):',
  '    return await call_next(request)',
  '@app.get("/json")',
  'async def json_route():',
  '    return {"ok": True}',
  'async def held(scope, receive, send):',
  '    await send({"type": "http.response.start", "status": 201, "headers": []})',
  '    await asyncio.sleep(0.2)',
  '    await send({"type": "http.response.body", "body": b"late"})',
  'app.mount("/held", held)',
);

/** Two tasks of the app sending body pieces at the same turn, that turn varied by the path. */
const TWO_SENDERS_APP = py(
  'import asyncio',
  'async def app(scope, receive, send):',
  '    if scope["type"] != "http":',
  '        raise RuntimeError("no lifespan")',
  '    turns = int(scope["path"].strip("/"))',
  '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})',
  '    async def piece(data):',
  '        for _ in range(turns):',
  '            await asyncio.sleep(0)',
  '        await send({"type": "http.response.body", "body": data, "more_body": True})',
  '    if scope["query_string"] == b"cancel":  # the heartbeat cancelled as it waits for the head',
  '        beat = asyncio.ensure_future(piece(b": ping\\n\\n"))',
  '        async def stop():',
  '            for _ in range(turns):',
  '                await asyncio.sleep(0)',
  '            beat.cancel()',
  '        await asyncio.wait([beat, asyncio.ensure_future(stop())])',
  '        await send({"type": "http.response.body", "body": b"data: a\\n\\n", "more_body": True})',
  '    else:',
  '        await asyncio.gather(piece(b"data: a\\n\\n"), piece(b": ping\\n\\n"))',
  '    await send({"type": "http.response.body", "body": b""})',
);

async function asgiRuntime(t: { after(fn: () => unknown): void }, app = APP): Promise<RuntimeHandle> {
  const dir = await writeFunction({ 'main.py': app });
  t.after(() => removeFunction(dir));
  const rt = await startRuntime();
  t.after(() => rt.kill());
  await rt.specialize({ dir, entrypoint: 'main:app', timeoutMs: 30_000 });
  return rt;
}

/**
 * GETs `path`, acknowledges nothing (the answer stops at the window), then the client leaves:
 * the call must end (`end`, not the app's `error`); returns its log lines.
 */
async function leftMidAnswer(rt: RuntimeHandle, path: string): Promise<string[]> {
  const id = rt.id();
  rt.send({ t: 'invoke', id, event: makeEvent({ path }), context: { requestId: 'r', timeoutMs: 30_000, attempt: 1 } });
  await waitBytes(rt, id, STREAM_WINDOW_BYTES);
  rt.send({ t: 'cancel', id });
  const end = await rt.waitFor((m) => (m.t === 'end' || m.t === 'error') && 'id' in m && m.id === id, 'the end of the call');
  assert.equal(end.t, 'end', JSON.stringify(end));
  return [...rt.batches(id).flat(), ...(end.t === 'end' ? end.logs : [])].map((l) => l.msg);
}

/** Body bytes of call `id` received so far (the `response`'s and the `chunk`s'), taken from the inbox. */
function bodyBytes(rt: RuntimeHandle, id: number): number {
  let n = 0;
  for (const m of rt.unclaimed() as RuntimeMessage[]) {
    if (m.t === 'response' && m.id === id) n += m.response.body.byteLength;
    if (m.t === 'chunk' && m.id === id) n += m.body.byteLength;
  }
  return n;
}

/** A round trip through the runtime's loop: what it sent before this reply is in the inbox. */
async function roundTrip(rt: RuntimeHandle): Promise<void> {
  await rt.health();
}

describe('streamed responses (protocol v3)', () => {
  test('the window holds the app until the host acknowledges; an ack lets that much more through; cancel ends the call', async (t) => {
    const rt = await asgiRuntime(t);
    const id = rt.id();
    rt.send({ t: 'invoke', id, event: makeEvent({ path: '/endless' }), context: { requestId: 'r', timeoutMs: 30_000, attempt: 1 } });
    await waitBytes(rt, id, 1);
    const first = rt.unclaimed().find((m) => m.t === 'response' && m.id === id);
    assert.equal(first?.t === 'response' && first.more, true);
    // The app sends forever; without acks it stops at the window (several round trips later still).
    for (let i = 0; i < 3; i++) await roundTrip(rt);
    await waitBytes(rt, id, STREAM_WINDOW_BYTES);
    for (let i = 0; i < 3; i++) await roundTrip(rt);
    assert.equal(bodyBytes(rt, id), STREAM_WINDOW_BYTES);
    rt.send({ t: 'ack', id, bytes: PIECE });
    await waitBytes(rt, id, STREAM_WINDOW_BYTES + PIECE);
    for (let i = 0; i < 3; i++) await roundTrip(rt);
    assert.equal(bodyBytes(rt, id), STREAM_WINDOW_BYTES + PIECE);
    rt.send({ t: 'cancel', id });
    const end = await rt.waitFor((m) => m.t === 'end' || (m.t === 'error' && 'id' in m && m.id === id), 'the end of the call');
    assert.equal(end.t, 'end', JSON.stringify(end));
    const logs = [...rt.batches(id).flat(), ...(end.t === 'end' ? end.logs : [])];
    assert.ok(logs.some((l) => l.msg === 'send raised ClientDisconnected'), JSON.stringify(logs));
  });

  test('a streamed head of 80 000 headers goes to the host with 1001 of them: the gateway refuses it without decoding the rest (red team 6)', async (t) => {
    const rt = await asgiRuntime(t, py(
      'async def app(scope, receive, send):',
      '    if scope["type"] != "http":',
      '        raise RuntimeError("no lifespan")',
      '    await receive()',
      '    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-h", b"v")] * 80000})',
      '    await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})',
      '    await send({"type": "http.response.body", "body": b"y"})',
    ));
    const id = rt.id();
    rt.send({ t: 'invoke', id, event: makeEvent({ path: '/' }), context: { requestId: 'r', timeoutMs: 30_000, attempt: 1 } });
    const head = await rt.waitFor((m) => (m.t === 'response' || m.t === 'result') && m.id === id, 'the response head');
    assert.equal(head.t, 'response');
    assert.equal(head.t === 'response' ? head.response.headers.length : -1, 1001);
  });

  test('a client leaving a StreamingResponse closes its generator at once: its `finally` runs, as under uvicorn, and what it prints is the call\'s', async (t) => {
    // Starlette cancels its streaming task while the generator is suspended at `yield`; the
    // generator was left in a reference cycle, and its `finally` (a DB session, an upstream stream)
    // waited for a later garbage collection (apps round of 2026-12-04). Then it ran after the
    // call's lines were taken: its print went to the platform's log as output outside a call,
    // for an async generator and a sync one alike (oddfn round 2).
    const dir = await writeFunction({ 'main.py': py(
      'from fastapi import FastAPI',
      'from fastapi.responses import StreamingResponse',
      'app = FastAPI()',
      'state = {"finally": 0}',
      '@app.get("/gen")',
      'async def gen():',
      '    async def body():',
      '        try:',
      '            while True:',
      '                yield b"x" * 65536',
      '        finally:',
      '            state["finally"] += 1',
      '            print("async body closed")',
      '    return StreamingResponse(body())',
      '@app.get("/syncgen")',
      'def syncgen():',
      '    def body():',
      '        try:',
      '            while True:',
      '                yield b"x" * 65536',
      '        finally:',
      '            state["finally"] += 1',
      '            print("sync body closed")',
      '    return StreamingResponse(body())',
      '@app.get("/state")',
      'async def get_state():',
      '    return state',
    ) });
    t.after(() => removeFunction(dir));
    const rt = await startRuntime();
    t.after(() => rt.kill());
    await rt.specialize({ dir, entrypoint: 'main:app', timeoutMs: 30_000, concurrency: 4 });
    for (const [path, line] of [['/gen', 'async body closed'], ['/syncgen', 'sync body closed']] as const) {
      const id = rt.id();
      rt.send({ t: 'invoke', id, event: makeEvent({ path }), context: { requestId: `r${id}`, timeoutMs: 30_000, attempt: 1 } });
      await waitBytes(rt, id, STREAM_WINDOW_BYTES);
      rt.send({ t: 'cancel', id });
      const end = await rt.waitFor((m) => (m.t === 'end' || m.t === 'error') && 'id' in m && m.id === id, 'the end of the call');
      assert.equal(end.t, 'end', JSON.stringify(end));
      const logs = [...rt.batches(id).flat(), ...(end.t === 'end' ? end.logs : [])].map((l) => l.msg);
      assert.ok(logs.includes(line), `${path}: ${JSON.stringify(logs)}`);
    }
    await roundTrip(rt);
    const seen = await rt.invoke({ path: '/state' });
    assert.equal(seen.t, 'result', JSON.stringify(seen));
    assert.deepEqual(JSON.parse(Buffer.from(seen.t === 'result' ? seen.response.body : []).toString()), { finally: 2 });
  });

  test('a complete response goes out before the app returns (background work), then `end`', async (t) => {
    const rt = await asgiRuntime(t);
    const id = rt.id();
    rt.send({ t: 'invoke', id, event: makeEvent({ path: '/background' }), context: { requestId: 'r', timeoutMs: 30_000, attempt: 1 } });
    const first = await rt.reply(id);
    assert.equal(first.t, 'response');
    if (first.t !== 'response') return;
    assert.equal(first.more, false);
    assert.equal(Buffer.from(first.response.body).toString(), 'done');
    const end = await rt.reply(id);
    assert.equal(end.t, 'end');
    const logs = [...rt.batches(id).flat(), ...(end.t === 'end' ? end.logs : [])];
    assert.ok(logs.some((l) => l.msg === 'background ran'));
  });

  test('a head sent before a wait goes alone (ADR 0150); one whose body follows within a few loop turns (BaseHTTPMiddleware) goes with it', async (t) => {
    const rt = await asgiRuntime(t, HEAD_APP);
    const ask = async (path: string): Promise<RuntimeMessage[]> => {
      const id = rt.id();
      rt.send({ t: 'invoke', id, event: makeEvent({ path }), context: { requestId: 'r', timeoutMs: 30_000, attempt: 1 } });
      const got: RuntimeMessage[] = [];
      for (;;) {
        const m = await rt.reply(id);
        got.push(m);
        if (m.t === 'end' || m.t === 'result' || m.t === 'error') return got;
      }
    };
    // The head first, alone and open (more), then the body: before, the head waited for "late".
    const held = await ask('/held/');
    const head = held[0];
    assert.equal(head?.t, 'response', JSON.stringify(held.map((m) => m.t)));
    if (head?.t !== 'response') return;
    assert.equal(head.response.status, 201);
    assert.equal(head.response.body.byteLength, 0);
    assert.equal(head.more, true);
    const chunk = held[1];
    assert.equal(chunk?.t === 'chunk' ? Buffer.from(chunk.body).toString() : chunk?.t, 'late');
    // Behind BaseHTTPMiddleware the body comes a few turns after the head: both in the first frame.
    const mw = await ask('/json');
    const first = mw[0];
    const body = first?.t === 'response' || first?.t === 'result' ? Buffer.from(first.response.body).toString() : first?.t;
    assert.equal(body, '{"ok":true}', JSON.stringify(mw.map((m) => m.t)));
  });

  test('two tasks sending pieces as the head goes alone: the head is still the first frame (red25)', async (t) => {
    // An SSE endpoint with a heartbeat task beside its event task: both send right when the head
    // leaves alone (ADR 0150). The second sender found no head task to wait for (the first had
    // taken it) and its chunk went before the head: the host takes that for a broken protocol,
    // fails the call and kills the runtime.
    const rt = await asgiRuntime(t, TWO_SENDERS_APP);
    for (const [turns, query] of [0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((n) => [[n, ''], [n, 'cancel']] as const)) {
      const id = rt.id();
      rt.send({ t: 'invoke', id, event: makeEvent({ path: `/${turns}`, rawQuery: query }), context: { requestId: 'r', timeoutMs: 30_000, attempt: 1 } });
      const kinds: string[] = [];
      for (;;) {
        const m = await rt.reply(id);
        kinds.push(m.t);
        if (m.t === 'end' || m.t === 'result' || m.t === 'error') break;
      }
      assert.ok(kinds[0] === 'response' || kinds[0] === 'result', `after ${turns} turns${query && ` (${query})`}: ${kinds.join(' ')}`);
      assert.equal(kinds.at(-1), 'end', `after ${turns} turns${query && ` (${query})`}: ${kinds.join(' ')}`);
    }
  });

  test('a cancel wakes a receive waiting for the disconnect; calls sent beyond concurrency wait, counted, and start in order', async (t) => {
    const dir = await writeFunction({
      'main.py': py(
        'import asyncio, json',
        'started = []',
        'running = 0',
        'async def app(scope, receive, send):',
        '    global running',
        '    if scope["type"] != "http":',
        '        raise RuntimeError("no lifespan")',
        '    await receive()',
        '    started.append(scope["path"])',
        '    running += 1',
        '    if scope["path"] == "/hold":',
        '        print("waiting for the disconnect")',
        '        message = await receive()  # the request was delivered: waits for the client to leave',
        '        print("held call got", message["type"])',
        '    for _ in range(3):',
        '        await asyncio.sleep(0)  # a call that overlapped another would see `running` > 1',
        '    body = json.dumps({"started": started, "running": running}).encode()',
        '    running -= 1',
        '    # Dropped without a word, as uvicorn drops it (apps round 27): the app goes on after it.',
        '    await send({"type": "http.response.start", "status": 200, "headers": []})',
        '    await send({"type": "http.response.body", "body": body})',
        '    print("the app went on after its send")',
      ),
    });
    t.after(() => removeFunction(dir));
    const rt = await startRuntime();
    t.after(() => rt.kill());
    await rt.specialize({ dir, entrypoint: 'main:app', concurrency: 1, timeoutMs: 30_000 });
    const context = { requestId: 'r', timeoutMs: 30_000, attempt: 1 };
    const held = rt.id();
    rt.send({ t: 'invoke', id: held, event: makeEvent({ path: '/hold' }), context });
    const ids = ['/a', '/b', '/c'].map((path) => {
      const id = rt.id();
      rt.send({ t: 'invoke', id, event: makeEvent({ path }), context });
      return id;
    });
    // Read before this health message (frames are handled in order): one running, three waiting.
    assert.equal((await rt.health()).inflight, 4);
    // A cancel for a call that has not started yet finds no stream: wait until it is in `receive`.
    const first = await rt.waitFor((m) => m.t === 'logs' && m.id === held, 'the held call\'s first line');
    rt.send({ t: 'cancel', id: held });
    // Nothing went out before the cancel: the call ends with its (discarded) result.
    const heldEnd = await rt.reply(held);
    assert.equal(heldEnd.t, 'result', JSON.stringify(heldEnd));
    const lines = [...(first.t === 'logs' ? first.logs : []), ...rt.batches(held).flat(), ...(heldEnd.t === 'result' ? heldEnd.logs : [])];
    const logs = lines.map((l) => l.msg);
    assert.deepEqual(logs, ['waiting for the disconnect', 'held call got http.disconnect', 'the app went on after its send']);
    for (const [i, id] of ids.entries()) {
      const reply = await rt.reply(id);
      assert.equal(reply.t, 'result', JSON.stringify(reply));
      if (reply.t !== 'result') return;
      const seen = JSON.parse(Buffer.from(reply.response.body).toString()) as { started: string[]; running: number };
      assert.deepEqual(seen, { started: ['/hold', '/a', '/b', '/c'].slice(0, i + 2), running: 1 });
    }
    assert.equal((await rt.health()).inflight, 0);
  });

  test('a client that left before the answer: the background task and the dependency\'s teardown after `yield` run, behind @app.middleware("http") too, as under uvicorn (apps round 27)', async (t) => {
    const rt = await asgiRuntime(t, py(
        'import asyncio',
        'from fastapi import BackgroundTasks, Depends, FastAPI',
        'app = FastAPI()',
        '@app.middleware("http")',
        'async def timing(request, call_next):',
        '    response = await call_next(request)',
        '    response.headers["x-mw"] = "1"',
        '    return response',
        'def db():',
        '    try:',
        '        yield "session"',
        '        print("committed")',
        '    except BaseException as err:',
        '        print("rolled back:", type(err).__name__)',
        '        raise',
        'def mail(to):',
        '    print("mailed", to)',
        '@app.post("/signup")',
        'async def signup(tasks: BackgroundTasks, session: str = Depends(db)):',
        '    print("signing up")',
        '    await asyncio.sleep(0.3)  # the client leaves meanwhile',
        '    tasks.add_task(mail, "ada")',
        '    return {"ok": True}',
        '@app.post("/plain-signup")',
        'async def plain(tasks: BackgroundTasks):',
        '    print("signing up")',
        '    await asyncio.sleep(0.3)',
        '    tasks.add_task(mail, "bob")',
        '    return {"ok": True}',
    ));
    const context = { requestId: 'r', timeoutMs: 30_000, attempt: 1 };
    for (const [path, want] of [['/signup', ['signing up', 'mailed ada', 'committed']], ['/plain-signup', ['signing up', 'mailed bob']]] as const) {
      const id = rt.id();
      rt.send({ t: 'invoke', id, event: makeEvent({ path, method: 'POST' }), context });
      const first = await rt.waitFor((m) => m.t === 'logs' && m.id === id, `${path}'s first line`);
      rt.send({ t: 'cancel', id });
      const reply = await rt.reply(id);
      assert.equal(reply.t, 'result', JSON.stringify(reply));
      const lines = [...(first.t === 'logs' ? first.logs : []), ...rt.batches(id).flat(), ...(reply.t === 'result' ? reply.logs : [])];
      // Before: the middleware's send raised, the task was skipped and the teardown cancelled
      // (`rolled back: CancelledError`); without the middleware the task was skipped.
      assert.deepEqual(lines.map((l) => l.msg), want);
    }
  });

  test('a download the client left mid-way: the FileResponse\'s background task (removing the file) runs, as under uvicorn (apps round 27)', async (t) => {
    const rt = await asgiRuntime(t, py(
        'import os',
        'from fastapi import FastAPI',
        'from fastapi.responses import FileResponse',
        'from starlette.background import BackgroundTask',
        'app = FastAPI()',
        '@app.get("/report")',
        'def report():',
        '    path = "/tmp/report.bin"',
        '    with open(path, "wb") as f:',
        '        f.write(b"r" * (2 * 1024 * 1024))',
        '    print("serving the report")',
        '    return FileResponse(path, background=BackgroundTask(lambda: (os.remove(path), print("removed"))))',
    ));
    // Before: the waiting piece's send raised and the task group skipped the background task.
    assert.deepEqual(await leftMidAnswer(rt, '/report'), ['serving the report', 'removed']);
  });

  test('a whole answer past the window, sent before its background task, whose client left meanwhile: the call ends, not the app\'s error (apps round 27)', async (t) => {
    const rt = await asgiRuntime(t, py(
      'import asyncio',
      'from fastapi import BackgroundTasks, FastAPI',
      'app = FastAPI()',
      '@app.get("/export")',
      'async def export(tasks: BackgroundTasks):',
      '    async def audit():',
      '        await asyncio.sleep(0.2)',
      '        print("audited")',
      '    tasks.add_task(audit)',
      '    return {"rows": "r" * (1024 * 1024)}',
    ));
    // Before: an `error` (ClientDisconnected as the app's failure, FUNCTION_ERROR in its run).
    assert.deepEqual(await leftMidAnswer(rt, '/export'), ['audited']);
  });

  test('a lifespan shutdown that hangs is abandoned: the runtime exits 0 by itself', async (t) => {
    const dir = await writeFunction({
      'main.py': py(
        'import asyncio',
        'from contextlib import asynccontextmanager',
        'from fastapi import FastAPI',
        '@asynccontextmanager',
        'async def lifespan(app):',
        '    yield',
        '    print("shutdown hangs", flush=True)',
        '    await asyncio.sleep(3600)',
        'app = FastAPI(lifespan=lifespan)',
      ),
    });
    t.after(() => removeFunction(dir));
    const rt = await startRuntime();
    t.after(() => rt.kill());
    await rt.specialize({ dir, entrypoint: 'main:app' });
    rt.send({ t: 'shutdown', id: rt.id() });
    // Exit code 0 and no signal: the runtime's own bound ended it, not a kill by the host.
    assert.deepEqual(await rt.waitExit(), { code: 0, signal: null });
    assert.ok(rt.stdout.includes('shutdown hangs'));
  });
});

async function waitBytes(rt: RuntimeHandle, id: number, bytes: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (bodyBytes(rt, id) < bytes) {
    if (Date.now() > deadline) throw new Error(`only ${bodyBytes(rt, id)} of ${bytes} body bytes arrived`);
    await rt.health();
  }
}
