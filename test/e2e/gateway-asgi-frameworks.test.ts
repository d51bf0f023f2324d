/**
 * ASGI frameworks other than Starlette's, through the real gateway and runtimes, under /fn/<name>/
 * and at the root of their own host (docs/adr/0079-falcon-path.md):
 *  - Falcon's `falcon.asgi.App` routes on what follows `root_path`: given the full path (the ASGI
 *    spec's reading, Starlette's), every route of it under /fn/<name>/ answered its own 404;
 *  - Quart strips `root_path` itself, but its `root_path` attribute is its folder on disk, which
 *    the runtime took for a FastAPI-style URL prefix: every route under /fn/<name>/ was 404 too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, request, runRecord, useGateway } from './gateway-harness.js';

const FALCON = py(
  'import falcon, falcon.asgi',
  'class Thing:',
  '    async def on_get(self, req, resp, thing_id):',
  '        resp.media = {"id": thing_id, "path": req.path, "root": req.root_path, "uri": req.uri, "relative": req.relative_uri, "q": req.get_param("q")}',
  '    async def on_post(self, req, resp, thing_id):',
  '        resp.media = {"id": thing_id, "got": await req.get_media()}',
  '        resp.status = falcon.HTTP_201',
  'class Home:',
  '    async def on_get(self, req, resp):',
  '        raise falcon.HTTPFound(req.prefix + "/things/1")',
  'app = falcon.asgi.App()',
  'app.add_route("/things/{thing_id:int}", Thing())',
  'app.add_route("/", Home())',
);

const QUART = py(
  'from quart import Quart, request, url_for, redirect',
  'app = Quart(__name__)',
  '@app.get("/hello/<name>")',
  'async def hello(name):',
  '    return {"name": name, "path": request.path, "root": request.root_path, "self": url_for("hello", name=name, _external=True)}',
  '@app.post("/echo")',
  'async def echo():',
  '    return {"got": await request.get_json()}, 201',
  '@app.get("/")',
  'async def home():',
  '    return redirect(url_for("hello", name="x"))',
);

/** App factories (`entrypoint: module:factory()`), as gunicorn's `app:create_app()` and uvicorn's `--factory`. */
const FACTORIES = py(
  'CALLS = []',
  'def get_application():',
  '    from fastapi import FastAPI',
  '    CALLS.append("fastapi")',
  '    api = FastAPI()',
  '    @api.get("/calls")',
  '    def calls():',
  '        return CALLS',
  '    return api',
  'def create_app(config=None):',
  '    from flask import Flask, url_for',
  '    CALLS.append("flask")',
  '    app = Flask(__name__)',
  '    @app.route("/calls")',
  '    def calls():',
  '        return {"calls": CALLS, "self": url_for("calls")}',
  '    return app',
  'def not_an_app():',
  '    return 42',
);

/**
 * FastAPI on Lambda: `handler = Mangum(app)` (apps round of 2026-12-05: every call failed, Mangum's
 * own call could not read the platform's event). Mangum's layout as published (mangum/adapter.py,
 * re-exported by the package): the adapter keeps the app in `.app` and answers API Gateway events.
 */
const MANGUM = {
  'mangum/__init__.py': 'from mangum.adapter import Mangum\n',
  'mangum/adapter.py': py(
    'class Mangum:',
    '    def __init__(self, app, lifespan="auto", api_gateway_base_path="/"):',
    '        self.app = app',
    '    def __call__(self, event, context):',
    '        raise RuntimeError("The adapter was unable to infer a handler to use for the event.")',
  ),
  'main.py': py(
    'from fastapi import FastAPI',
    'from mangum import Mangum',
    'app = FastAPI()',
    '@app.get("/items/{item_id}")',
    'def item(item_id: int):',
    '    return {"item": item_id}',
    'handler = Mangum(app, lifespan="off")',
  ),
};

const name = fnName('falcon');
const quart = fnName('quart');
const mangum = fnName('mangum');
const factories = { fastapi: fnName('factory-fa'), flask: fnName('factory-fl'), wrong: fnName('factory-no') };
const h = useGateway({
  [name]: { files: { 'main.py': FALCON }, manifest: 'entrypoint: main:app' },
  [quart]: { files: { 'main.py': QUART }, manifest: 'entrypoint: main:app' },
  [factories.fastapi]: { files: { 'main.py': FACTORIES }, manifest: 'entrypoint: main:get_application()' },
  [factories.flask]: { files: { 'main.py': FACTORIES }, manifest: 'entrypoint: main:create_app()' },
  [factories.wrong]: { files: { 'main.py': FACTORIES }, manifest: 'entrypoint: main:not_an_app()' },
  [mangum]: { files: MANGUM, manifest: 'entrypoint: main:handler' },
});

describe('a FastAPI app wrapped for Lambda (handler = Mangum(app))', () => {
  it('is served as the app inside: its routes answer, as with entrypoint main:app', async () => {
    const res = await request(`${h.url}/fn/${mangum}/items/7`);
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), { item: 7 });
    assert.equal((await request(`${h.url}/fn/${mangum}/items/x`)).status, 422, 'FastAPI\'s own validation');
  });
});

describe('a Falcon ASGI app', () => {
  it('routes under /fn/<name>/: its path is what follows the mount point, its URLs carry it', async () => {
    const res = await request(`${h.url}/fn/${name}/things/7?q=x`);
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), {
      id: 7, path: '/things/7', root: `/fn/${name}`, uri: `${h.url}/fn/${name}/things/7?q=x`, relative: `/fn/${name}/things/7?q=x`, q: 'x',
    });
    const post = await request(`${h.url}/fn/${name}/things/8`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"a":1}') });
    assert.equal(post.status, 201);
    assert.deepEqual(JSON.parse(post.body.toString()), { id: 8, got: { a: 1 } });
    const home = await request(`${h.url}/fn/${name}/`);
    assert.equal(home.status, 302);
    assert.equal(home.headers.location, `${h.url}/fn/${name}/things/1`);
    const missing = await request(`${h.url}/fn/${name}/nothing`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.toString(), /404 Not Found/);
  });

  it('routes at the root of its own host the same, with nothing before its path', async () => {
    const host = `${name}.localhost:${new URL(h.url).port}`;
    const res = await request(`${h.url}/things/3`, { headers: { host } });
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), { id: 3, path: '/things/3', root: '', uri: `http://${host}/things/3`, relative: '/things/3', q: null });
  });
});

describe('a Quart app', () => {
  it('routes under /fn/<name>/ and at the root of its own host; url_for and redirects carry where it is', async () => {
    const port = new URL(h.url).port;
    for (const [base, headers, root, origin] of [
      [`${h.url}/fn/${quart}`, {}, `/fn/${quart}`, h.url],
      [h.url, { host: `${quart}.localhost:${port}` }, '', `http://${quart}.localhost:${port}`],
    ] as const) {
      const res = await request(`${base}/hello/ada`, { headers });
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(JSON.parse(res.body.toString()), { name: 'ada', path: '/hello/ada', root, self: `${origin}${root}/hello/ada` });
      const post = await request(`${base}/echo`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: Buffer.from('[1,2]') });
      assert.equal(post.status, 201);
      assert.deepEqual(JSON.parse(post.body.toString()), { got: [1, 2] });
      const home = await request(`${base}/`, { headers });
      assert.equal(home.status, 302);
      assert.equal(home.headers.location, `${root}/hello/x`);
    }
  });
});

describe('app factories (entrypoint: module:factory())', () => {
  it('calls the factory once per instance and serves the app it returns, ASGI or WSGI', async () => {
    for (const _ of [1, 2]) {
      const fa = await request(`${h.url}/fn/${factories.fastapi}/calls`);
      assert.equal(fa.status, 200, fa.body.toString());
      assert.deepEqual(JSON.parse(fa.body.toString()), ['fastapi'], 'called once, at the instance\'s start');
    }
    const fl = await request(`${h.url}/fn/${factories.flask}/calls`);
    assert.equal(fl.status, 200, fl.body.toString());
    assert.deepEqual(JSON.parse(fl.body.toString()), { calls: ['flask'], self: `/fn/${factories.flask}/calls` });
  });

  it('a factory that returns no app fails the start with what it returned', async () => {
    const res = await request(`${h.url}/fn/${factories.wrong}/`);
    assert.equal(res.status, 502);
    const run = await runRecord(h, String(res.headers['x-run-id']));
    assert.equal(run.errorCode, 'FUNCTION_INIT_FAILED');
    assert.equal(run.error?.type, 'TypeError');
    assert.match(run.error?.message ?? '', /entrypoint main:not_an_app\(\): not_an_app\(\) returned 42, not an app/);
  });
});
