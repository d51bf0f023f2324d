/**
 * ASGI apps that load under uvicorn and failed to load on the platform (apps round 6 of
 * 2026-12-05), through the real gateway and runtimes (forked from the zygotes, as in production):
 *  - a module that calls `asyncio.get_event_loop()` at import: the zygote's warm-up had left the
 *    main thread's loop "set" to None, so the call raised "There is no current event loop"
 *    (docs/adr/0095-a-fresh-interpreter-at-import-and-at-exit.md).
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

const loop = fnName('loop');
const h = useGateway({
  [loop]: { files: { 'main.py': LOOP_AT_IMPORT }, manifest: 'entrypoint: main:app' },
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
