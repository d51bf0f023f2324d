/**
 * A FastAPI app's lifespan startup (loading a model, warming a cache, migrations) runs in the cold
 * start's init. Its bound was the platform's fixed `initTimeoutMs` (10 s), whatever the function's
 * own `limits.timeout`: a startup of 12 s failed every cold start with FUNCTION_INIT_FAILED
 * (InitTimeout) and nothing in platform.yaml could change it; uvicorn waits for any startup. The
 * init may now take as long as the function's timeout when that is longer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOf, fnName, py, request, useGateway } from './gateway-harness.js';

const app = (startupS: number): string => py(
  'import time',
  'from contextlib import asynccontextmanager',
  'from fastapi import FastAPI',
  '',
  '@asynccontextmanager',
  'async def lifespan(app):',
  `    time.sleep(${startupS})`,
  '    yield {"loaded": True}',
  '',
  'app = FastAPI(lifespan=lifespan)',
  '',
  '@app.get("/")',
  'def root():',
  '    return {"ok": True}',
);

describe('a lifespan startup longer than the platform\'s init timeout', () => {
  const slow = fnName('startup');
  const tooSlow = fnName('startup');
  // A platform init timeout of 1 s stands for the default 10 s; the margins are whole seconds.
  const h = useGateway({
    [slow]: { files: { 'app.py': app(2) }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 30s' },
    [tooSlow]: { files: { 'app.py': app(4) }, manifest: 'entrypoint: app:app\nlimits:\n  timeout: 2s' },
  }, {}, { initTimeoutMs: 1000 });

  test('is waited for within the function\'s own timeout', async () => {
    const res = await request(`${h.url}/fn/${slow}/`);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers['x-cold-start'], '1');
  });

  test('past the function\'s timeout too, fails the cold start with FUNCTION_INIT_FAILED', async () => {
    const res = await request(`${h.url}/fn/${tooSlow}/`);
    assert.equal(res.status, 502);
    assert.equal(errorOf(res.body).code, 'FUNCTION_INIT_FAILED');
  });
});
