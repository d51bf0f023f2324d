/**
 * What a FastAPI app sees of FastAPI (ADR 0249): one that declares its own FastAPI and pydantic
 * (other versions than the `fastapi` preset preloads) runs with the versions it declared, built
 * from PyPI by the platform's builder (skipped with a message when PyPI cannot be reached and CI
 * is not set); and the stack of a failed run names the files the app can map, `/deps/fastapi/…`
 * for its own packages and `fastapi/…` (package-relative) for the runtime's, never the host's
 * `.venv` path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/cli-harness.js';
import { pypiReachable } from '../helpers/pypi.js';
import { request } from './gateway-harness.js';
import { Api, createFunction, deploy, depsSettled, fnName, py, runsWritten, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });

const APP = py(
  'import fastapi, pydantic, starlette',
  'from fastapi import FastAPI',
  'app = FastAPI()',
  '@app.get("/")',
  'def versions():',
  '    return {"fastapi": fastapi.__version__, "pydantic": pydantic.VERSION, "starlette": starlette.__version__, "file": fastapi.__file__}',
  '@app.get("/boom")',
  'def boom():',
  '    raise RuntimeError("boom")',
);

/** The stack of the function's failed run at /boom. */
async function boomStack(api: Api, url: string, name: string): Promise<string> {
  const res = await request(`${url}/fn/${name}/boom`);
  assert.equal(res.status, 500);
  await runsWritten(url);
  const runs = await api.call('GET', `/runs?function=${name}&status=failed&limit=1`);
  const run = await api.call('GET', `/runs/${runs.body.items[0].runId}`);
  return String(run.body.run.error.stack);
}

describe('what a FastAPI app sees of FastAPI', () => {
  it('a failed run of an app on the preset names FastAPI\'s files package-relative, never the host\'s .venv', async () => {
    const name = fnName('presetfa');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': APP }, { entrypoint: 'main:app' });
    await deploy(h.api, name);
    const stack = await boomStack(h.api, h.url, name);
    assert.match(stack, /File "fastapi\/routing\.py", line \d+/, stack);
    assert.match(stack, /File "starlette\/routing\.py", line \d+/, stack);
    assert.match(stack, /File "\/code\/main\.py", line 9, in boom/, stack);
    assert.ok(!stack.includes('site-packages') && !stack.includes(ROOT), stack);
  });

  it('an app that declares fastapi==0.110.* and pydantic==1.10.* gets them, from /deps', async (t) => {
    if (!(await pypiReachable('fastapi'))) {
      if (process.env['CI']) assert.fail('PyPI is not reachable and CI is set');
      t.skip('PyPI is not reachable from here (set CI to make this a failure)');
      return;
    }
    const name = fnName('ownfa');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'requirements.txt': 'fastapi==0.110.*\npydantic==1.10.*\n', 'main.py': APP }, { entrypoint: 'main:app' });
    const deps = await depsSettled(h.api, name, 1, 180_000);
    assert.equal(deps.state, 'ready', JSON.stringify(deps.error));
    await deploy(h.api, name);
    const res = await request(`${h.url}/fn/${name}/`);
    assert.equal(res.status, 200, res.body.toString());
    const seen = JSON.parse(res.body.toString());
    assert.match(seen.fastapi, /^0\.110\./);
    assert.match(seen.pydantic, /^1\.10\./);
    assert.match(seen.starlette, /^0\.3[67]\./); // what fastapi 0.110 requires, not the preset's
    assert.equal(seen.file, '/deps/fastapi/__init__.py');
    const stack = await boomStack(h.api, h.url, name);
    assert.match(stack, /File "\/deps\/fastapi\/routing\.py", line \d+/, stack);
    assert.ok(!stack.includes('site-packages') && !stack.includes(ROOT), stack);
  });
});
