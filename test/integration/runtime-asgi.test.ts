/**
 * The ASGI contract against real Python processes: an unchanged FastAPI app (path params,
 * repeated query, pydantic bodies, 404/422, response headers, lifespan state, root_path), and
 * a bare ASGI app without lifespan support.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorClass } from '../../protocol/messages.js';
import {
  bodyJson, bodyText, headerValues, py, removeFunction, startRuntime, writeFunction,
  type Result, type RuntimeHandle,
} from '../helpers/runtime-process.js';

const APP = py(
  'from contextlib import asynccontextmanager',
  'from fastapi import FastAPI, Query, Request, Response',
  'from pydantic import BaseModel',
  '',
  '@asynccontextmanager',
  'async def lifespan(app):',
  '    app.state.greeting = "hello from startup"',
  '    yield {"pool": {"size": 3}}',
  '',
  'app = FastAPI(lifespan=lifespan)',
  '',
  'class Item(BaseModel):',
  '    name: str',
  '    price: float',
  '    tags: list[str] = []',
  '',
  '@app.get("/items/{item_id}")',
  'def read_item(item_id: int, request: Request, tag: list[str] = Query(default=[]), q: str | None = None):',
  '    return {"id": item_id, "tags": tag, "q": q, "rootPath": request.scope.get("root_path"),',
  '            "url": str(request.url), "agent": request.headers.get("user-agent"),',
  '            "multi": request.headers.getlist("x-multi")}',
  '',
  '@app.post("/items", status_code=201)',
  'async def create_item(item: Item, response: Response):',
  '    response.headers["x-item-name"] = item.name',
  '    response.set_cookie("a", "1")',
  '    response.set_cookie("b", "2")',
  '    return {"name": item.name, "double": item.price * 2, "tags": item.tags}',
  '',
  '@app.get("/state")',
  'async def state(request: Request):',
  '    return {"greeting": request.app.state.greeting, "pool": request.state.pool}',
  '',
  '@app.post("/echo")',
  'async def echo(request: Request):',
  '    return Response(content=await request.body(), media_type="application/octet-stream")',
  '',
  '@app.get("/fail")',
  'async def fail():',
  '    raise LookupError("no such thing")', // line 40
);

describe('FastAPI app served unchanged', () => {
  let rt: RuntimeHandle;
  let dir: string;
  before(async () => {
    dir = await writeFunction({ 'main.py': APP });
    rt = await startRuntime();
    const spec = await rt.specialize({ dir, entrypoint: 'main:app' });
    assert.equal(spec.contract, 'asgi');
  });
  after(async () => {
    await rt.kill();
    await removeFunction(dir);
  });

  test('GET with a path parameter, repeated query keys and repeated headers', async () => {
    const res = await rt.invokeOk({
      path: '/items/42',
      rawQuery: 'tag=a&tag=b&q=x%20y',
      query: [['tag', 'a'], ['tag', 'b'], ['q', 'x y']],
      headers: [['user-agent', 'test-agent'], ['x-multi', '1'], ['x-multi', '2']],
    });
    assert.equal(res.response.status, 200);
    assert.deepEqual(headerValues(res, 'content-type'), ['application/json']);
    const got = bodyJson(res) as Record<string, unknown>;
    assert.equal(got.id, 42);
    assert.deepEqual(got.tags, ['a', 'b']);
    assert.equal(got.q, 'x y');
    assert.equal(got.agent, 'test-agent');
    assert.deepEqual(got.multi, ['1', '2']);
    assert.equal(got.rootPath, '');
  });

  test('POST with a JSON body validated by a pydantic model; status and response headers come back', async () => {
    const res = await rt.invokeOk({
      method: 'POST',
      path: '/items',
      headers: [['content-type', 'application/json']],
      body: Buffer.from(JSON.stringify({ name: 'lamp', price: 2.25, tags: ['x'] })),
    });
    assert.equal(res.response.status, 201);
    assert.deepEqual(bodyJson(res), { name: 'lamp', double: 4.5, tags: ['x'] });
    assert.deepEqual(headerValues(res, 'x-item-name'), ['lamp']);
    const cookies = headerValues(res, 'set-cookie');
    assert.equal(cookies.length, 2);
    assert.ok(cookies[0]!.startsWith('a=1') && cookies[1]!.startsWith('b=2'), JSON.stringify(cookies));
    for (const [name] of res.response.headers) assert.equal(name, name.toLowerCase());
  });

  test('an invalid body is FastAPI\'s own 422; an unknown route is its 404', async () => {
    const bad = await rt.invokeOk({
      method: 'POST', path: '/items', headers: [['content-type', 'application/json']], body: Buffer.from('{"name": 1}'),
    });
    assert.equal(bad.response.status, 422);
    assert.ok(Array.isArray((bodyJson(bad) as { detail: unknown }).detail));
    const missing = await rt.invokeOk({ path: '/nope' });
    assert.equal(missing.response.status, 404);
    assert.deepEqual(bodyJson(missing), { detail: 'Not Found' });
    const wrongType = await rt.invokeOk({ path: '/items/not-a-number' });
    assert.equal(wrongType.response.status, 422);
  });

  test('state set by the lifespan startup is seen by routes (app.state and lifespan state)', async () => {
    const res = await rt.invokeOk({ path: '/state' });
    assert.deepEqual(bodyJson(res), { greeting: 'hello from startup', pool: { size: 3 } });
  });

  test('a binary request body reaches the app byte-exact and comes back byte-exact', async () => {
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
    const res = await rt.invokeOk({ method: 'POST', path: '/echo', body });
    assert.equal(res.response.status, 200);
    assert.ok(Buffer.from(res.response.body).equals(body));
  });

  test('replies larger than the socket buffer arrive whole and in one piece each, with health asked meanwhile', async () => {
    // Several MiB per reply: the runtime's first send takes only part of it and the rest goes while
    // it holds the write locks (fp_runtime/conn.py `asend`); the health replies and the second
    // echo must wait for it, never cut into it.
    const bodies = [0x5a, 0xa5].map((seed) => Buffer.from(Array.from({ length: 6 * 1024 * 1024 }, (_, i) => (i * 31 + seed) & 0xff)));
    const [first, health, second, health2] = await Promise.all([
      rt.invokeOk({ method: 'POST', path: '/echo', body: bodies[0]! }),
      rt.health(),
      rt.invokeOk({ method: 'POST', path: '/echo', body: bodies[1]! }),
      rt.health(),
    ]);
    assert.ok(Buffer.from(first.response.body).equals(bodies[0]!));
    assert.ok(Buffer.from(second.response.body).equals(bodies[1]!));
    assert.equal(health.ok, true);
    assert.equal(health2.ok, true);
  });

  test('rootPath: event rootPath /fn/x with path /items/1 matches the app route /items/{id}', async () => {
    const res = await rt.invokeOk({ rootPath: '/fn/x', path: '/items/1', rawQuery: 'tag=z', query: [['tag', 'z']] });
    assert.equal(res.response.status, 200, bodyText(res));
    const got = bodyJson(res) as Record<string, unknown>;
    assert.equal(got.id, 1);
    assert.deepEqual(got.tags, ['z']);
    assert.equal(got.rootPath, '/fn/x');
    assert.match(String(got.url), /\/fn\/x\/items\/1\?tag=z$/);
  });

  test('rootPath: FastAPI\'s generated docs page points at the mounted openapi.json', async () => {
    const docs = await rt.invokeOk({ rootPath: '/fn/x', path: '/docs' });
    assert.equal(docs.response.status, 200);
    assert.match(bodyText(docs), /\/fn\/x\/openapi\.json/);
    const spec = await rt.invokeOk({ rootPath: '/fn/x', path: '/openapi.json' });
    assert.equal(spec.response.status, 200);
    assert.ok('/items/{item_id}' in (bodyJson(spec) as { paths: Record<string, unknown> }).paths);
  });

  test('a route that raises: the app\'s own 500 as the result, the exception (user_error at the route\'s line) beside it; the app keeps serving', async () => {
    const reply = await rt.invoke({ path: '/fail' });
    assert.equal(reply.t, 'result');
    const r = reply as Result;
    assert.equal(r.response.status, 500);
    assert.equal(bodyText(r), 'Internal Server Error'); // Starlette's ServerErrorMiddleware
    assert.doesNotMatch(bodyText(r), /no such thing/);
    assert.equal(r.error?.class, ErrorClass.user);
    assert.equal(r.error?.type, 'LookupError');
    assert.equal(r.error?.file, 'main.py');
    assert.equal(r.error?.line, 40);
    assert.equal((await rt.invokeOk({ path: '/items/2' })).response.status, 200);
  });

  test('concurrent calls to sync and async routes all complete', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => rt.invokeOk(
      i % 2 ? { path: `/items/${i}` } : { path: '/state' },
    )));
    replies.forEach((r, i) => {
      assert.equal(r.response.status, 200);
      if (i % 2) assert.equal((bodyJson(r) as { id: number }).id, i);
    });
  });
});

describe('bare ASGI app', () => {
  test('an app without lifespan support is served (raising on the lifespan scope is allowed)', async (t) => {
    const dir = await writeFunction({
      'main.py': py(
        'async def app(scope, receive, send):',
        '    assert scope["type"] == "http", "no lifespan here"',
        '    message = await receive()',
        '    body = message["body"]',
        '    await send({"type": "http.response.start", "status": 207,',
        '                "headers": [(b"X-Path", scope["path"].encode()), (b"x-rp", scope["root_path"].encode())]})',
        '    await send({"type": "http.response.body", "body": body[:2], "more_body": True})',
        '    await send({"type": "http.response.body", "body": body[2:]})',
      ),
    });
    t.after(() => removeFunction(dir));
    const rt = await startRuntime();
    t.after(() => rt.kill());
    const spec = await rt.specialize({ dir, entrypoint: 'main:app' });
    assert.equal(spec.contract, 'asgi');
    const res = await rt.invokeOk({ method: 'POST', path: '/p', rootPath: '/fn/bare', body: Buffer.from('hello world') });
    assert.equal(res.response.status, 207);
    assert.deepEqual(headerValues(res, 'x-path'), ['/fn/bare/p']);
    assert.deepEqual(headerValues(res, 'x-rp'), ['/fn/bare']);
    assert.equal(bodyText(res), 'hello world');
  });

  test('the scope has a percent-decoded path, the raw path, and UTF-8 bytes for query and headers', async (t) => {
    const dir = await writeFunction({
      'main.py': py(
        'import json',
        'async def app(scope, receive, send):',
        '    if scope["type"] != "http":',
        '        raise RuntimeError("http only")',
        '    out = {"path": scope["path"], "rawPath": scope["raw_path"].decode("utf-8"), "rootPath": scope["root_path"],',
        '           "query": scope["query_string"].decode("utf-8"),',
        '           "headers": [[k.decode("utf-8"), v.decode("utf-8")] for k, v in scope["headers"]]}',
        '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})',
        '    await send({"type": "http.response.body", "body": json.dumps(out).encode()})',
      ),
    });
    t.after(() => removeFunction(dir));
    const rt = await startRuntime();
    t.after(() => rt.kill());
    await rt.specialize({ dir, entrypoint: 'main:app' });
    const res = await rt.invokeOk({
      rootPath: '/fn/x',
      path: '/names/caf%C3%A9%20au%2Flait',
      rawQuery: 'q=€&r=%E2%82%AC',
      query: [['q', '€'], ['r', '€']],
      headers: [['x-symbol', '€ and ü'], ['x-plain', 'ascii']],
    });
    assert.deepEqual(bodyJson(res), {
      path: '/fn/x/names/café au/lait',
      rawPath: '/fn/x/names/caf%C3%A9%20au%2Flait',
      rootPath: '/fn/x',
      query: 'q=€&r=%E2%82%AC',
      headers: [['x-symbol', '€ and ü'], ['x-plain', 'ascii']],
    });
  });

  test('a FastAPI path parameter with percent-escapes arrives decoded', async (t) => {
    const dir = await writeFunction({
      'main.py': py('from fastapi import FastAPI', 'app = FastAPI()', '@app.get("/names/{name}")', 'def name(name: str):', '    return {"name": name}'),
    });
    t.after(() => removeFunction(dir));
    const rt = await startRuntime();
    t.after(() => rt.kill());
    await rt.specialize({ dir, entrypoint: 'main:app' });
    const res = await rt.invokeOk({ rootPath: '/fn/names', path: '/names/caf%C3%A9%20x' });
    assert.equal(res.response.status, 200, bodyText(res));
    assert.deepEqual(bodyJson(res), { name: 'café x' });
  });

  test('an app that returns without a response, or without its body\'s end: uvicorn\'s plain 500, the reason in the run record', async (t) => {
    // uvicorn answers the first with `500 Internal Server Error` and cuts the second after its
    // head; the runtime sent 502 FUNCTION_BAD_RESPONSE and a 200 with an empty body (peer app rawasgi).
    const dir = await writeFunction({
      'main.py': py(
        'async def app(scope, receive, send):',
        '    if scope["type"] == "http" and scope["path"] == "/head-only":',
        '        await send({"type": "http.response.start", "status": 200, "headers": []})',
      ),
    });
    t.after(() => removeFunction(dir));
    const rt = await startRuntime();
    t.after(() => rt.kill());
    await rt.specialize({ dir, entrypoint: 'main:app' });
    for (const [path, why] of [['/', /without sending http\.response\.start/], ['/head-only', /without finishing its response body/]] as const) {
      const reply = await rt.invoke({ path });
      assert.equal(reply.t, 'result', path);
      const r = reply as Result;
      assert.equal(r.response.status, 500);
      assert.equal(bodyText(r), 'Internal Server Error');
      assert.equal(r.error?.class, ErrorClass.user);
      assert.equal(r.error?.type, 'BadReturn');
      assert.match(r.error?.message ?? '', why);
    }
  });
});

describe('the async phase event loop (ADR 0050)', () => {
  test('an ASGI app and an async handler run on uvloop, as under uvicorn --loop auto', async (t) => {
    const dir = await writeFunction({
      'main.py': py(
        'import asyncio',
        'async def app(scope, receive, send):',
        '    if scope["type"] != "http":',
        '        return',
        '    loop = type(asyncio.get_running_loop())',
        '    await send({"type": "http.response.start", "status": 200, "headers": []})',
        '    await send({"type": "http.response.body", "body": f"{loop.__module__}.{loop.__name__}".encode()})',
        '',
        'async def handler(event, context):',
        '    loop = type(asyncio.get_running_loop())',
        '    return {"loop": f"{loop.__module__}.{loop.__name__}"}',
      ),
    });
    t.after(() => removeFunction(dir));
    const asgi = await startRuntime();
    t.after(() => asgi.kill());
    await asgi.specialize({ dir, entrypoint: 'main:app' });
    // Two calls: the loop keeps serving after the first (the reader callback stays registered).
    for (let i = 0; i < 2; i++) assert.equal(bodyText(await asgi.invokeOk()), 'uvloop.Loop');
    const handler = await startRuntime();
    t.after(() => handler.kill());
    await handler.specialize({ dir, entrypoint: 'main:handler' });
    assert.deepEqual(bodyJson(await handler.invokeOk()), { loop: 'uvloop.Loop' });
  });
});
