/**
 * A FastAPI call that answered but has not ended (a `yield` dependency's teardown, a background
 * task) still holds its instance's slot. The next call of a client that sends it right after the
 * answer used to start a second instance (a cold start, and a second copy of everything the app
 * keeps in memory or in /tmp: a SQLAlchemy app with `Depends(get_db)` and a SQLite file saw half
 * its rows vanish). It now waits for that slot, for at most `finishingWaitMs`
 * (docs/adr/0045-finishing-calls.md), and only then starts another instance.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fnName, py, request } from './gateway-harness.js';
import { useGateway } from './gateway-harness.js';

const APP = py(
  'import time, urllib.request, uuid',
  'from fastapi import BackgroundTasks, Depends, FastAPI',
  '',
  'app = FastAPI()',
  'SEEN = []',
  'INSTANCE = uuid.uuid4().hex  # pids repeat: each instance has a PID namespace of its own',
  '',
  'def session():',
  '    yield "db"',
  '    time.sleep(0.3)  # the teardown runs after the answer went out (FastAPI >= 0.106)',
  '',
  '@app.post("/rows")',
  'def add(db: str = Depends(session)):',
  '    SEEN.append(1)',
  '    return {"instance": INSTANCE, "rows": len(SEEN)}',
  '',
  'GATE = {"url": None}',
  '',
  'def gated_session():',
  '    yield "db"',
  '    if GATE["url"]:',
  '        urllib.request.urlopen(GATE["url"], timeout=60).read()  # the teardown holds until the test releases it',
  '',
  '@app.post("/gated")',
  'def gated(gate: str, db: str = Depends(gated_session)):',
  '    GATE["url"] = gate',
  '    return {"instance": INSTANCE}',
  '',
  'def hold(url):',
  '    urllib.request.urlopen(url, timeout=60).read()',
  '',
  '@app.post("/slow-task")',
  'def slow_task(tasks: BackgroundTasks, gate: str):',
  '    tasks.add_task(hold, gate)',
  '    return {"instance": INSTANCE}',
  '',
  '@app.get("/instance")',
  'def instance():',
  '    return {"instance": INSTANCE}',
);

describe('a call arriving while the only instance finishes its last call', () => {
  const name = fnName('finish');
  // A grace far longer than the teardown: the test proves the wait, not a race won.
  const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app' } }, {}, { finishingWaitMs: 10_000 });

  test('waits for that instance instead of starting a second one', async () => {
    const answers: Array<{ instance: string; rows: number; cold: string | undefined }> = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(`${h.url}/fn/${name}/rows`, { method: 'POST' });
      assert.equal(res.status, 200);
      answers.push({ ...(JSON.parse(res.body.toString()) as { instance: string; rows: number }), cold: res.headers['x-cold-start'] as string | undefined });
    }
    assert.deepEqual(answers.map((a) => a.cold), ['1', '0', '0', '0'], 'one cold start');
    assert.equal(new Set(answers.map((a) => a.instance)).size, 1, 'one instance served them all');
    assert.deepEqual(answers.map((a) => a.rows), [1, 2, 3, 4], 'so the app kept its state');
  });
});

// A body the client has whole (its Content-Length reached) before the call's last piece: behind
// BaseHTTPMiddleware the teardown runs before the last piece goes, a WSGI app's close() too.
// Each next call of a client started another instance (apps kept in memory or /tmp lost state).
const MIDDLEWARE_APP = py(
  'import time, uuid',
  'from fastapi import Depends, FastAPI, Request',
  '',
  'app = FastAPI()',
  'INSTANCE = uuid.uuid4().hex',
  'SEEN = []',
  '',
  '@app.middleware("http")',
  'async def tag(request: Request, call_next):',
  '    response = await call_next(request)',
  '    response.headers["x-app"] = "mw"',
  '    return response',
  '',
  'def session():',
  '    yield "db"',
  '    time.sleep(0.005)',
  '',
  '@app.post("/rows")',
  'def add(db: str = Depends(session)):',
  '    SEEN.append(1)',
  '    return {"instance": INSTANCE, "rows": len(SEEN)}',
);
const WSGI_APP = py(
  'import json, time, uuid',
  'INSTANCE = uuid.uuid4().hex',
  'SEEN = []',
  '',
  'class Body:',
  '    def __init__(self, data):',
  '        self.data = data',
  '    def __iter__(self):',
  '        return iter([self.data])',
  '    def close(self):',
  '        time.sleep(0.005)  # Django sends request_finished here',
  '',
  'def app(environ, start_response):',
  '    SEEN.append(1)',
  '    data = json.dumps({"instance": INSTANCE, "rows": len(SEEN)}).encode()',
  '    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])',
  '    return Body(data)',
);

describe('a client\'s next call while a call whose body it has whole still finishes (WSGI close(), BaseHTTPMiddleware)', () => {
  const mw = fnName('finmw');
  const wsgi = fnName('finwsgi');
  const wsgi4 = fnName('finwsgi');
  const h = useGateway({
    [mw]: { files: { 'app.py': MIDDLEWARE_APP }, manifest: 'entrypoint: app:app' },
    [wsgi]: { files: { 'app.py': WSGI_APP }, manifest: 'entrypoint: app:app' },
    [wsgi4]: { files: { 'app.py': WSGI_APP }, manifest: 'entrypoint: app:app\nlimits:\n  concurrency: 4' },
  }, {}, { finishingWaitMs: 10_000 });

  for (const [what, key] of [['behind BaseHTTPMiddleware', mw], ['a WSGI app at concurrency 1', wsgi], ['a WSGI app at concurrency 4 (threaded)', wsgi4]] as const) {
    test(`${what}: one instance serves them all`, async () => {
      // One keep-alive connection, each request sent as soon as the answer is read (httpx, requests.Session).
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const answers: Array<{ instance: string; rows: number; cold: string | undefined }> = [];
      for (let i = 0; i < 30; i++) {
        const res = await request(`${h.url}/fn/${key}/rows`, { method: 'POST', agent });
        assert.equal(res.status, 200);
        answers.push({ ...(JSON.parse(res.body.toString()) as { instance: string; rows: number }), cold: res.headers['x-cold-start'] as string | undefined });
      }
      agent.destroy();
      assert.equal(answers.filter((a) => a.cold === '1').length, 1, 'one cold start');
      assert.equal(new Set(answers.map((a) => a.instance)).size, 1, 'one instance served them all');
      assert.deepEqual(answers.map((a) => a.rows), answers.map((_, i) => i + 1));
    });
  }
});

describe('a call arriving while the only instance runs a long background task', () => {
  const name = fnName('finish');
  const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app' } }, {}, { finishingWaitMs: 200 });
  // The background task blocks on this server until the test releases it.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  const gate = http.createServer((_req, res) => { void held.then(() => res.end('go')); });
  before(() => new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve)));
  after(() => { release(); gate.closeAllConnections(); return new Promise<void>((resolve) => gate.close(() => resolve())); });

  test('does not wait for it past finishingWaitMs: another instance serves it', async () => {
    const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/gate`;
    const first = await request(`${h.url}/fn/${name}/slow-task?gate=${encodeURIComponent(gateUrl)}`, { method: 'POST' });
    assert.equal(first.status, 200);
    // The first instance's task holds until release(): only a second instance can answer this.
    const second = await request(`${h.url}/fn/${name}/instance`);
    assert.equal(second.status, 200);
    assert.equal(second.headers['x-cold-start'], '1');
    assert.notEqual(JSON.parse(second.body.toString()).instance, JSON.parse(first.body.toString()).instance);
    release();
  });
});

describe('a burst arriving while the only instance finishes its last call', () => {
  const name = fnName('finish');
  // However long the wait may be, only as many calls wait as the finishing instance has slots.
  // A call timeout past the test's own: only the fix can answer the burst before the gate opens.
  const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 120s' } }, {}, { finishingWaitMs: 60_000 });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  const gate = http.createServer((_req, res) => { void held.then(() => res.end('go')); });
  before(() => new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve)));
  after(() => { release(); gate.closeAllConnections(); return new Promise<void>((resolve) => gate.close(() => resolve())); });

  // Without the bound both calls wait for the finishing slot: a hang, ended by this budget.
  test('scales out for the calls past its slots at once', { timeout: 30_000 }, async () => {
    const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/gate`;
    const first = await request(`${h.url}/fn/${name}/gated?gate=${encodeURIComponent(gateUrl)}`, { method: 'POST' });
    assert.equal(first.status, 200);
    // The first instance finishes until release(): of two calls, one waits for its slot, the other
    // gets an instance of its own and answers before the gate opens.
    const calls = [request(`${h.url}/fn/${name}/instance`), request(`${h.url}/fn/${name}/instance`)];
    const earliest = await Promise.race(calls);
    assert.equal(earliest.status, 200);
    assert.equal(earliest.headers['x-cold-start'], '1');
    assert.notEqual(JSON.parse(earliest.body.toString()).instance, JSON.parse(first.body.toString()).instance);
    // The other runs on whichever slot frees first (the new instance's, as a rule).
    release();
    const both = await Promise.all(calls);
    assert.deepEqual(both.map((r) => r.status), [200, 200]);
  });
});


describe('a function that never queues (maxQueue: 0) while its only instance finishes (red team 4)', () => {
  const name = fnName('finish');
  // The wait for a finishing slot is a wait in the queue: with no queue the call was refused
  // 429 FUNCTION_BUSY (QueueFull) while 9 of its 10 instances could still start.
  const h = useGateway({ [name]: { files: { 'app.py': APP }, manifest: 'entrypoint: app:app\nlimits:\n  maxQueue: 0' } }, {}, { finishingWaitMs: 200 });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  const gate = http.createServer((_req, res) => { void held.then(() => res.end('go')); });
  before(() => new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve)));
  after(() => { release(); gate.closeAllConnections(); return new Promise<void>((resolve) => gate.close(() => resolve())); });

  test('starts another instance instead of refusing the call', async () => {
    const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/gate`;
    const first = await request(`${h.url}/fn/${name}/slow-task?gate=${encodeURIComponent(gateUrl)}`, { method: 'POST' });
    assert.equal(first.status, 200);
    const second = await request(`${h.url}/fn/${name}/instance`);
    assert.equal(second.status, 200, `refused: ${second.body.toString()}`);
    assert.equal(second.headers['x-cold-start'], '1');
    release();
  });
});
