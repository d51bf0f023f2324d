/**
 * ASGI apps that load under uvicorn and failed to load on the platform (apps round 6 of
 * 2026-12-05), through the real gateway and runtimes (forked from the zygotes, as in production):
 *  - a module that calls `asyncio.get_event_loop()` at import: the zygote's warm-up had left the
 *    main thread's loop "set" to None, so the call raised "There is no current event loop"
 *    (docs/adr/0095-a-fresh-interpreter-at-import-and-at-exit.md);
 *  - an app wrapped in a middleware whose `__call__` is kept per instance (sentry_sdk's
 *    `SentryAsgiMiddleware`: `__call__` in its `__slots__`), whose signature `inspect` cannot
 *    read, and one whose `__call__` takes `*args`: "it takes -1 positional arguments"
 *    (docs/adr/0096-entrypoint-signatures.md).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fnName, py, request, useGateway } from './gateway-harness.js';

const LOOP_AT_IMPORT = py(
  'import asyncio',
  'from fastapi import FastAPI',
  'LOOP = asyncio.get_event_loop()',
  'INIT = LOOP.run_until_complete(asyncio.sleep(0, result="ready"))',
  'app = FastAPI()',
  '@app.get("/")',
  'async def root():',
  '    return {"init": INIT, "serving_loop_is_import_loop": asyncio.get_running_loop() is LOOP}',
);

/** sentry_sdk.integrations.asgi.SentryAsgiMiddleware's shape (sentry-sdk 2.x), without Sentry. */
const SLOTTED_CALL = py(
  'from starlette.applications import Starlette',
  'from starlette.responses import JSONResponse',
  'from starlette.routing import Route',
  'class SentryAsgiMiddleware:',
  '    __slots__ = ("app", "__call__")',
  '    def __init__(self, app):',
  '        self.app = app',
  '        self.__call__ = self._run_asgi3',
  '    async def _run_asgi3(self, scope, receive, send):',
  '        return await self.app(scope, receive, send)',
  'async def home(request):',
  '    return JSONResponse({"wrapped": True, "path": request.url.path})',
  'app = SentryAsgiMiddleware(Starlette(routes=[Route("/", home)]))',
);

const VARARGS_CALL = py(
  'from fastapi import FastAPI',
  'inner = FastAPI()',
  '@inner.get("/")',
  'def home():',
  '    return {"wrapped": "varargs"}',
  'class Traced:',
  '    def __init__(self, app):',
  '        self.app = app',
  '    async def __call__(self, *args, **kwargs):',
  '        return await self.app(*args, **kwargs)',
  'app = Traced(inner)',
);

const loop = fnName('loop');
const slotted = fnName('slotted');
const varargs = fnName('varargs');
const h = useGateway({
  [loop]: { files: { 'main.py': LOOP_AT_IMPORT }, manifest: 'entrypoint: main:app' },
  [slotted]: { files: { 'main.py': SLOTTED_CALL }, manifest: 'entrypoint: main:app' },
  [varargs]: { files: { 'main.py': VARARGS_CALL }, manifest: 'entrypoint: main:app' },
});

describe('an ASGI app calling asyncio.get_event_loop() at import', () => {
  // Its first instance forks from the FastAPI preset's zygote, as after a deploy (its warm-up ran
  // asyncio.run() there); an interpreter spawned while the zygote starts never had the fault.
  before(async () => { await h.pool.expect(join(h.registry.dir, loop), 'main:app'); });

  it('loads and answers, as under uvicorn: the import gets a loop of its own, the app is served on the runtime\'s', async () => {
    const res = await request(`${h.url}/fn/${loop}/`);
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), { init: 'ready', serving_loop_is_import_loop: false });
  });
});

describe('an ASGI app wrapped in a middleware whose signature inspect cannot read', () => {
  it('is served when __call__ is kept per instance (SentryAsgiMiddleware)', async () => {
    const res = await request(`${h.url}/fn/${slotted}/`);
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), { wrapped: true, path: `/fn/${slotted}/` });
  });

  it('is served when its async __call__ takes *args, as uvicorn decides (a coroutine __call__ is ASGI 3)', async () => {
    const res = await request(`${h.url}/fn/${varargs}/`);
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), { wrapped: 'varargs' });
  });
});
