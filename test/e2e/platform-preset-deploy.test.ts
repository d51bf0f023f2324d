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
import { createFunction, deploy, fnName, py, until, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });

/** The fastapi preset's zygote as /readyz tells it (`starts.zygotes`): ready, starting, or none. */
async function fastapiZygote(): Promise<string | undefined> {
  const res = await fetch(`${h.url}/readyz`, { headers: h.api.token !== null ? { authorization: `Bearer ${h.api.token}` } : {} });
  return ((await res.json()) as { starts?: { zygotes?: Record<string, { state: string }> } }).starts?.zygotes?.['fastapi']?.state;
}

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
    assert.equal(await fastapiZygote(), undefined, 'no FastAPI version yet: no fastapi zygote');
    const at = performance.now();
    await deploy(h.api, name);
    const took = performance.now() - at;
    // Ready when the deploy answered, or the deploy waited its 3 s for it (PoolManager.expect): a
    // loaded machine (CI) may take longer to import FastAPI. The call is made once it is ready.
    const state = await fastapiZygote();
    assert.ok(state === 'ready' || (state === 'starting' && took >= 2_900), `the fastapi zygote ${state} when the deploy answered after ${took} ms`);
    await until('the fastapi zygote ready', async () => (await fastapiZygote()) === 'ready', 60_000);
    const res = await request(`${h.url}/fn/${name}/`);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers['x-cold-start'], '1');
    assert.deepEqual(JSON.parse(res.body.toString()), { preloaded: true });
  });
});
