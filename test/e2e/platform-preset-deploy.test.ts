/**
 * A FastAPI app's first call right after its deploy is forked from the `fastapi` preset: the
 * preset's zygote starts when the version is deployed, and the deploy answers once it is ready
 * (PoolManager.expect, CodeDirs.ensure; docs/adr/0019-zygotes.md). It used to start at that first
 * call, which was spawned on the default preset meanwhile and imported FastAPI itself (203-261 ms
 * instead of 26-29 ms, by hand).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from './gateway-harness.js';
import { createFunction, deploy, fnName, py, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });

describe('the first FastAPI app deployed on a platform', () => {
  it('is forked from the fastapi preset at its first call, made as soon as the deploy answered', async () => {
    const name = fnName('preset-first');
    await createFunction(h.api, name);
    await upload(h.api, name, {
      'main.py': py(
        'import sys',
        'PRELOADED = "pydantic" in sys.modules  # imported by the preset\'s zygote before the fork',
        'from fastapi import FastAPI',
        'app = FastAPI()',
        '@app.get("/")',
        'def root():',
        '    return {"preloaded": PRELOADED}',
      ),
    }, { entrypoint: 'main:app' });
    await deploy(h.api, name);
    const res = await request(`${h.url}/fn/${name}/`);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers['x-cold-start'], '1');
    assert.deepEqual(JSON.parse(res.body.toString()), { preloaded: true });
  });
});
