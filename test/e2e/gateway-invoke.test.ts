/**
 * The invoke contract over real HTTP: handler (sync and async) and ASGI (an unchanged FastAPI
 * app), the request → event mapping, binary bodies, and the invocation headers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { describe, it } from 'node:test';
import { fnName, py, request, runRecord, useGateway } from './gateway-harness.js';

const SYNC = fnName('sync');
const ASYNC = fnName('async');
const ASGI = fnName('asgi');
const ECHO = fnName('echo');
const BYTES = fnName('bytes');
const COLD = fnName('cold');
const NONE = fnName('none');

const h = useGateway({
  [SYNC]: { files: { 'main.py': py('def handler(event, context):', '    return {"contract": "sync", "fn": context.function_name}') } },
  [ASYNC]: {
    files: {
      'main.py': py('import asyncio', 'async def handler(event, context):', '    await asyncio.sleep(0.01)', '    return {"contract": "async"}'),
    },
  },
  [ASGI]: {
    manifest: 'entrypoint: app:app',
    files: {
      'app.py': py(
        'from fastapi import FastAPI, Request',
        'from pydantic import BaseModel',
        'app = FastAPI()',
        'class Item(BaseModel):',
        '    name: str',
        '    price: float',
        '@app.get("/items/{item_id}")',
        'def read(item_id: int, q: str | None = None):',
        '    return {"item_id": item_id, "q": q}',
        '@app.get("/where")',
        'def where(request: Request):',
        '    return {"root_path": request.scope["root_path"], "url": str(request.url_for("where"))}',
        '@app.post("/items", status_code=201)',
        'def create(item: Item):',
        '    return {"created": item.name, "price": item.price}',
      ),
    },
  },
  [ECHO]: {
    files: {
      'main.py': py(
        'def handler(event, context):',
        '    return {k: event[k] for k in ("method", "path", "rawQuery", "multiQuery", "multiHeaders", "requestId")}',
      ),
    },
  },
  [BYTES]: { files: { 'main.py': py('def handler(event, context):', '    return event["body"]') } },
  [COLD]: { files: { 'main.py': py('def handler(event, context):', '    return "ok"') } },
  [NONE]: { files: { 'main.py': py('def handler(event, context):', '    return None') } },
});

describe('handler contract', () => {
  it('calls a sync def handler and returns its dict as JSON', async () => {
    const res = await fetch(`${h.url}/fn/${SYNC}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await res.json(), { contract: 'sync', fn: SYNC });
  });

  it('calls an async def handler', async () => {
    const res = await fetch(`${h.url}/fn/${ASYNC}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { contract: 'async' });
  });
});

describe('ASGI contract (FastAPI app, unchanged)', () => {
  it('serves GET with a path parameter and a query', async () => {
    const res = await fetch(`${h.url}/fn/${ASGI}/items/42?q=blue`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { item_id: 42, q: 'blue' });
  });

  it('tells the app where it is mounted (root_path), so it builds its own URLs right', async () => {
    const res = await fetch(`${h.url}/fn/${ASGI}/where`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { root_path: string; url: string };
    assert.equal(body.root_path, `/fn/${ASGI}`);
    assert.match(body.url, new RegExp(`/fn/${ASGI}/where$`));
  });

  it('serves POST with a JSON body and its own status code', async () => {
    const res = await fetch(`${h.url}/fn/${ASGI}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lamp', price: 12.5 }),
    });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { created: 'lamp', price: 12.5 });
  });

  it("passes the app's own 404 and 422 through", async () => {
    assert.equal((await fetch(`${h.url}/fn/${ASGI}/nothing-here`)).status, 404);
    const bad = await fetch(`${h.url}/fn/${ASGI}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": 1}' });
    assert.equal(bad.status, 422);
  });
});

describe('event mapping', () => {
  it('maps method, path, repeated query keys and repeated headers', async () => {
    const res = await request(`${h.url}/fn/${ECHO}/a/b/c?x=1&x=2&y=hello%20world&flag`, {
      method: 'PATCH',
      headers: { 'x-multi': ['one', 'two'], 'X-Upper': 'Case' },
    });
    assert.equal(res.status, 200);
    const event = JSON.parse(res.body.toString()) as Record<string, unknown> & {
      multiQuery: Record<string, string[]>;
      multiHeaders: Record<string, string[]>;
    };
    assert.equal(event['method'], 'PATCH');
    assert.equal(event['path'], '/a/b/c');
    assert.equal(event['rawQuery'], 'x=1&x=2&y=hello%20world&flag');
    assert.deepEqual(event.multiQuery, { x: ['1', '2'], y: ['hello world'], flag: [''] });
    assert.deepEqual(event.multiHeaders['x-multi'], ['one', 'two']);
    assert.deepEqual(event.multiHeaders['x-upper'], ['Case']);
    assert.equal(event['requestId'], res.headers['x-run-id']);
  });

  it('gives the function "/" for /fn/<name> and /fn/<name>/', async () => {
    for (const suffix of ['', '/']) {
      const res = await fetch(`${h.url}/fn/${ECHO}${suffix}`);
      assert.equal(((await res.json()) as { path: string }).path, '/');
    }
  });

  it('round-trips a binary body byte-exact (content-length and chunked)', async () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const body = Buffer.concat([every, randomBytes(512 * 1024), every]);
    const sized = await request(`${h.url}/fn/${BYTES}/`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(sized.status, 200);
    assert.equal(sized.headers['content-type'], 'application/octet-stream');
    assert.ok(sized.body.equals(body), 'the echoed body differs');

    const pieces = [body.subarray(0, 1000), body.subarray(1000, 300_000), body.subarray(300_000)];
    const chunked = await request(`${h.url}/fn/${BYTES}/`, { method: 'PUT', body: pieces, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(chunked.status, 200);
    assert.ok(chunked.body.equals(body), 'the echoed chunked body differs');
  });
});

describe('invocation headers', () => {
  it('sets X-Run-Id, X-Cold-Start (1 then 0) and Server-Timing', async () => {
    const first = await fetch(`${h.url}/fn/${COLD}/`);
    await first.text();
    const second = await fetch(`${h.url}/fn/${COLD}/`);
    await second.text();
    assert.equal(first.headers.get('x-cold-start'), '1');
    assert.equal(second.headers.get('x-cold-start'), '0');
    const runIds = [first, second].map((r) => r.headers.get('x-run-id'));
    assert.match(runIds[0] ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(runIds[0], runIds[1]);
    const timing = /^queue;dur=[\d.]+, init;dur=([\d.]+), handler;dur=[\d.]+, total;dur=([\d.]+)$/;
    const coldTiming = timing.exec(first.headers.get('server-timing') ?? '');
    const warmTiming = timing.exec(second.headers.get('server-timing') ?? '');
    assert.ok(coldTiming && warmTiming, 'Server-Timing has queue, init, handler and total');
    assert.ok(Number(coldTiming[1]) > 0, 'a cold start reports its init time');
    assert.equal(Number(warmTiming[1]), 0, 'a warm call has no init time');

    const run = await runRecord(h, runIds[0]!);
    assert.equal(run.cold, true);
    assert.equal(run.function, COLD);
  });
});

describe('responses without a body', () => {
  it('answers 204 and HEAD without body bytes, keeping the connection usable', async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const none = await request(`${h.url}/fn/${NONE}/`, { agent });
    assert.equal(none.status, 204);
    assert.equal(none.body.length, 0);
    assert.equal(none.headers['content-length'], undefined);
    const head = await request(`${h.url}/fn/${SYNC}/`, { method: 'HEAD', agent });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    // The same kept-alive connection still frames the next response correctly.
    const after = await request(`${h.url}/fn/${SYNC}/`, { agent });
    assert.deepEqual(JSON.parse(after.body.toString()), { contract: 'sync', fn: SYNC });
  });
});
