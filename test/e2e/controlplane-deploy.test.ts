/**
 * Deploys through the API, served by the gateway of the same process with real Python runtimes:
 * a deploy is served within a second, rollback, pause (503 FUNCTION_PAUSED, no warm instances)
 * and resume, invoke tokens and their rotation, settings changes reaching new instances, and a
 * deploy under load losing no call.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFunction, deploy, deployed, errorOf, fnName, handlerReturning, py, sleep, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 2 });

async function invoke(name: string, headers: Record<string, string> = {}, path = '/'): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const res = await fetch(`${h.url}/fn/${name}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** Warm (or starting) instances of a function, or of one of its versions, from the pool stats on /readyz. */
/**
 * Polls `check` until it holds; fails after 15 s, a wait budget for a loaded machine, not a speed
 * target (the pool drains a paused or replaced version's idle instances right away).
 */
async function until(check: () => Promise<boolean>, message: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, message);
    await sleep(20);
  }
}

async function warmInstances(name: string, version?: string): Promise<number> {
  // Per-function pool entries are the admin token's to see (ADR 0055).
  const ready = (await (await fetch(`${h.url}/readyz`, { headers: { authorization: `Bearer ${h.api.token}` } })).json()) as { pool: { functions: Record<string, { name: string; version: string; warm: number; specializing: number }> } };
  return Object.values(ready.pool.functions)
    .filter((f) => f.name === name && (version === undefined || f.version === version))
    .reduce((sum, f) => sum + f.warm + f.specializing, 0);
}

describe('/readyz and function names', () => {
  it("names no function without the admin token (another tenant's names stay theirs), counts only", async () => {
    const name = fnName('ready');
    await deployed(h.api, name, handlerReturning('r'));
    assert.equal((await fetch(`${h.url}/fn/${name}/`)).status, 200);
    const anon = await (await fetch(`${h.url}/readyz`)).text();
    assert.ok(!anon.includes(name), anon);
    assert.match(anon, /"pool":\{"generic":\d+/);
    assert.ok(await warmInstances(name) >= 1, 'the admin token sees the per-function entries');
  });
});

describe('deploy and rollback', () => {
  it('serves a new version from the first call after its deploy answers', async () => {
    const name = fnName('dep');
    await deployed(h.api, name, handlerReturning('one'));
    assert.deepEqual((await invoke(name)).body, { value: 'one', version: '1' });
    const v2 = await upload(h.api, name, handlerReturning('two'));
    await deploy(h.api, name, v2);
    // The deploy switched the gateway's registry before it answered: no delay to wait out.
    assert.deepEqual((await invoke(name)).body, { value: 'two', version: '2' });
    // Its bytecode was compiled by the deploy, before any call: a cold start reads it instead of compiling.
    const { readdirSync } = await import('node:fs');
    assert.ok(readdirSync(`${h.stateDir}/code/${name}/2/__pycache__`).some((f) => /^main\..*\.pyc$/.test(f)));
    // The version's files are read-only copies in the state directory.
    const { statSync } = await import('node:fs');
    assert.equal(statSync(`${h.stateDir}/code/${name}/2/main.py`).mode & 0o777, 0o644);
  });

  it('a shipped file copied with shutil.copy is writable where it lands, as under uvicorn; the shipped one is not', async () => {
    // Deployed files were 0444 and `shutil.copy` keeps the mode: a seed database copied to /tmp
    // answered reads and refused every write (apps round 11).
    const name = fnName('seed');
    await deployed(h.api, name, {
      'seed.txt': 'seed',
      'main.py': [
        'import os, shutil',
        'def handler(event, context):',
        '    shutil.copy("seed.txt", "/tmp/copy.txt")',
        '    with open("/tmp/copy.txt", "a") as f:',
        '        f.write("+more")',
        '    try:',
        '        open("seed.txt", "a").close()',
        '        shipped = "writable"',
        '    except OSError as e:',
        '        shipped = type(e).__name__',
        '    return {"copy": open("/tmp/copy.txt").read(), "shipped": shipped}',
      ].join('\n'),
    });
    const body = (await invoke(name)).body as { copy: string; shipped: string };
    assert.equal(body.copy, 'seed+more');
    assert.notEqual(body.shipped, 'writable');
  });

  it('starts minWarm instances of the deployed version at once: the first call after the deploy is warm; a raised minWarm starts more', async () => {
    // minWarm only kept instances that calls had started: the first call after a deploy was cold
    // (apps round of 2026-12-05).
    const name = fnName('warm');
    await createFunction(h.api, name, { limits: { minWarm: 1, maxInstances: 3, concurrency: 1 } });
    await upload(h.api, name, handlerReturning('w'));
    await deploy(h.api, name, undefined, { check: false }); // no start check: its instance would be the warm one
    await until(async () => (await warmInstances(name, '1')) >= 1, 'a warm instance before any call');
    await until(async () => {
      const ready = (await (await fetch(`${h.url}/readyz`, { headers: { authorization: `Bearer ${h.api.token}` } })).json()) as { pool: { functions: Record<string, { name: string; warm: number }> } };
      return Object.values(ready.pool.functions).some((f) => f.name === name && f.warm >= 1);
    }, 'the instance ready');
    const res = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cold-start'), '0', 'the first call found its instance warm');
    const raised = await h.api.call('PATCH', `/functions/${name}`, { limits: { minWarm: 2 } });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    await until(async () => (await warmInstances(name, '1')) >= 2, 'a second warm instance for minWarm 2');
  });

  it('starts a version before serving it: one whose code does not load is refused (422 DEPLOY_START_FAILED) and the active one keeps serving', async () => {
    const name = fnName('chk');
    await createFunction(h.api, name);
    await upload(h.api, name, handlerReturning('one'));
    const first = await h.api.call('POST', `/functions/${name}/deploy`, {});
    assert.equal(first.status, 200);
    assert.equal(first.body.start.checked, true);
    assert.ok(first.body.start.initMs > 0, JSON.stringify(first.body.start));
    // The checked instance was stopped: the first call is a cold start, as before the check.
    const res = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(res.headers.get('x-cold-start'), '1');
    assert.equal((await res.json() as { value: string }).value, 'one');

    // A module-level failure, after a line printed: refused with the exception, its line and the load's lines.
    const broken = await upload(h.api, name, { 'main.py': py('print("loading v2")', 'import not_a_module_here', 'def handler(event, context):', '    return 2') });
    const refused = await h.api.call('POST', `/functions/${name}/deploy`, { version: broken });
    assert.equal(refused.status, 422);
    const err = errorOf(refused);
    assert.equal(err.code, 'DEPLOY_START_FAILED');
    assert.match(String(err.message), /^version 2 did not start: ModuleNotFoundError: No module named 'not_a_module_here' \(main\.py:2\); version 1 keeps serving$/);
    const details = refused.body.error as { version: number; cause: { code: string; type: string; line: number; stack: string }; logs: { msg: string }[] };
    assert.equal(details.version, 2);
    assert.equal(details.cause.code, 'FUNCTION_INIT_FAILED');
    assert.equal(details.cause.type, 'ModuleNotFoundError');
    assert.equal(details.cause.line, 2);
    assert.match(details.cause.stack, /import not_a_module_here/);
    assert.deepEqual(details.logs.map((l) => l.msg), ['loading v2']);
    const fn = (await h.api.call('GET', `/functions/${name}`)).body.function as { activeVersion: number };
    assert.equal(fn.activeVersion, 1);
    assert.deepEqual((await invoke(name)).body, { value: 'one', version: '1' });

    // A load that crashes the runtime, and an ASGI app whose startup raises: refused as well.
    const crash = await upload(h.api, name, { 'main.py': py('import os', 'os._exit(3)', 'def handler(event, context):', '    return 3') });
    const crashed = await h.api.call('POST', `/functions/${name}/deploy`, { version: crash });
    assert.equal(crashed.status, 422, JSON.stringify(crashed.body));
    assert.equal(errorOf(crashed).code, 'DEPLOY_START_FAILED');
    const asgi = await upload(h.api, name, {
      'main.py': py(
        'async def app(scope, receive, send):',
        '    if scope["type"] == "lifespan":',
        '        await receive()',
        '        await send({"type": "lifespan.startup.failed", "message": "no database"})',
        '        return',
      ),
    }, { entrypoint: 'main:app' });
    const startup = await h.api.call('POST', `/functions/${name}/deploy`, { version: asgi });
    assert.equal(startup.status, 422, JSON.stringify(startup.body));
    assert.match(String(errorOf(startup).message), /no database/);
    assert.deepEqual((await invoke(name)).body, { value: 'one', version: '1' });

    // `check: false` deploys it anyway; its first call then fails as the check said.
    const forced = await h.api.call('POST', `/functions/${name}/deploy`, { version: broken, check: false });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.start, undefined);
    assert.equal((await invoke(name)).body.error.code, 'FUNCTION_INIT_FAILED');
    // The ASGI version forced too (4, never served before): a rollback without a version goes to the
    // newest version below it that served, 2, not to 3, refused and never served (it went to 3).
    assert.equal((await h.api.call('POST', `/functions/${name}/deploy`, { version: asgi, check: false })).status, 200);
    const back1 = await h.api.call('POST', `/functions/${name}/rollback`, { check: false });
    assert.equal(back1.status, 200, JSON.stringify(back1.body));
    assert.deepEqual([back1.body.deploy.fromVersion, back1.body.deploy.toVersion], [asgi, broken]);
    assert.equal((await h.api.call('POST', `/functions/${name}/rollback`, {})).body.deploy.toVersion, 1);
    // A rollback is checked too: to the crashing one it is refused.
    const back = await h.api.call('POST', `/functions/${name}/rollback`, { version: crash });
    assert.equal(errorOf(back).code, 'DEPLOY_START_FAILED');
    assert.deepEqual((await invoke(name)).body, { value: 'one', version: '1' });
  });

  it('rolls back to the previous version, then to a named one, and logs every step', async () => {
    const name = fnName('rb');
    await createFunction(h.api, name);
    for (const v of ['a', 'b', 'c']) await upload(h.api, name, handlerReturning(v));
    await deploy(h.api, name); // the latest: 3
    assert.equal((await invoke(name)).body.value, 'c');

    const back = await h.api.call('POST', `/functions/${name}/rollback`, {});
    assert.equal(back.status, 200);
    assert.deepEqual([back.body.function.activeVersion, back.body.deploy.action, back.body.deploy.fromVersion, back.body.deploy.toVersion], [2, 'rollback', 3, 2]);
    assert.equal((await invoke(name)).body.value, 'b');

    const named = await h.api.call('POST', `/functions/${name}/rollback`, { version: 1, note: 'known good' });
    assert.equal(named.body.function.activeVersion, 1);
    assert.equal((await invoke(name)).body.value, 'a');

    const none = await h.api.call('POST', `/functions/${name}/rollback`, {});
    assert.deepEqual([none.status, errorOf(none).code], [409, 'NO_PREVIOUS_VERSION']);
    const missing = await h.api.call('POST', `/functions/${name}/deploy`, { version: 9 });
    assert.deepEqual([missing.status, errorOf(missing).code, errorOf(missing).field], [404, 'VERSION_NOT_FOUND', 'version']);

    const log = await h.api.call('GET', `/functions/${name}/deploys`);
    assert.deepEqual(
      log.body.items.map((e: { action: string; fromVersion: number | null; toVersion: number }) => [e.action, e.fromVersion, e.toVersion]),
      [['rollback', 2, 1], ['rollback', 3, 2], ['deploy', null, 3]],
    );
    assert.equal(log.body.items[0].note, 'known good');
    assert.equal(log.body.items[0].actor, 'admin');
  });

  it('answers 404 FUNCTION_NOT_DEPLOYED before the first deploy, and refuses a rollback then', async () => {
    const name = fnName('nodep');
    await createFunction(h.api, name);
    const res = await invoke(name);
    assert.deepEqual([res.status, res.body.error.code], [404, 'FUNCTION_NOT_DEPLOYED']);
    const rb = await h.api.call('POST', `/functions/${name}/rollback`, {});
    assert.deepEqual([rb.status, errorOf(rb).code], [404, 'FUNCTION_NOT_DEPLOYED']);
    const dep = await h.api.call('POST', `/functions/${name}/deploy`, {});
    assert.deepEqual([dep.status, errorOf(dep).code], [404, 'VERSION_NOT_FOUND']);
    assert.equal((await invoke(fnName('nobody'))).body.error.code, 'FUNCTION_NOT_FOUND');
  });
});

describe('pause and resume', () => {
  it('answers 503 FUNCTION_PAUSED while paused, keeps no warm instance, and serves again on resume', async () => {
    const name = fnName('pz');
    await deployed(h.api, name, handlerReturning('up'));
    assert.equal((await invoke(name)).status, 200);
    assert.ok((await warmInstances(name)) > 0);

    const paused = await h.api.call('POST', `/functions/${name}/pause`, { note: 'maintenance' });
    assert.equal(paused.status, 200);
    assert.equal(paused.body.function.status, 'paused');
    const res = await invoke(name);
    assert.deepEqual([res.status, res.body.error.code], [503, 'FUNCTION_PAUSED']);
    const test = await h.api.call('POST', `/functions/${name}/invoke`, {});
    assert.deepEqual([test.status, errorOf(test).code], [503, 'FUNCTION_PAUSED']);
    await until(async () => (await warmInstances(name)) === 0, 'instances still warm after the pause');

    const resumed = await h.api.call('POST', `/functions/${name}/resume`, {});
    assert.equal(resumed.body.function.status, 'active');
    assert.deepEqual((await invoke(name)).body, { value: 'up', version: '1' });
  });
});

describe('invoke tokens', () => {
  it('needs the right token: none 401, wrong 401, another function’s 404 (as a missing one, red team 10), the admin token 200 (ADR 0011), right 200; rotation switches at once', async () => {
    const name = fnName('tk');
    const created = await deployed(h.api, name, {
      'main.py': py('def handler(event, context):', '    return {"sawAuth": "authorization" in event["headers"]}'),
    }, { auth: 'token' });
    const token: string = created.invokeToken;
    const other = await createFunction(h.api, fnName('tk-other'), { auth: 'token' });

    const none = await fetch(`${h.url}/fn/${name}/`);
    assert.deepEqual([none.status, ((await none.json()) as { error: { code: string } }).error.code], [401, 'INVOKE_TOKEN_REQUIRED']);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(await codeOf(name, 'fpi_wrong'), [401, 'INVOKE_TOKEN_INVALID']);
    assert.deepEqual(await codeOf(name, other.invokeToken), [404, 'FUNCTION_NOT_FOUND']);
    const asAdmin = await invoke(name, { authorization: `Bearer ${h.api.token!}` });
    assert.deepEqual([asAdmin.status, asAdmin.body], [200, { sawAuth: false }], 'the root token invokes any function, and is never passed on');
    const ok = await invoke(name, { authorization: `Bearer ${token}` });
    assert.deepEqual([ok.status, ok.body], [200, { sawAuth: false }], 'the function never sees the token');

    const rotated = await h.api.call('POST', `/functions/${name}/tokens/rotate`);
    assert.equal(rotated.status, 200);
    const fresh: string = rotated.body.invokeToken;
    assert.deepEqual(await codeOf(name, token), [401, 'INVOKE_TOKEN_INVALID']);
    assert.equal((await invoke(name, { authorization: `Bearer ${fresh}` })).status, 200);

    // The test invoke needs only the admin token.
    const test = await h.api.call('POST', `/functions/${name}/invoke`, {});
    assert.equal(test.body.status, 200);
    // Back to public: no token needed.
    await h.api.call('PATCH', `/functions/${name}`, { auth: 'public' });
    assert.equal((await invoke(name)).status, 200);
  });
});

async function codeOf(name: string, token: string): Promise<[number, string]> {
  const res = await invoke(name, { authorization: `Bearer ${token}` });
  return [res.status, res.body.error.code];
}

describe('settings', () => {
  it('serves changed env vars from new instances at once', async () => {
    const name = fnName('env');
    await deployed(h.api, name, { 'main.py': py('import os', 'def handler(event, context):', '    return os.environ.get("COLOR")') }, { env: { COLOR: 'red' } });
    assert.equal((await invoke(name)).body, 'red');
    await h.api.call('PATCH', `/functions/${name}`, { env: { COLOR: 'blue' } });
    assert.equal((await invoke(name)).body, 'blue');
  });

  it('deletes a function: its URL answers 404 and its code is gone', async () => {
    const name = fnName('del');
    await deployed(h.api, name, handlerReturning('bye'));
    assert.equal((await invoke(name)).status, 200);
    assert.equal((await h.api.call('DELETE', `/functions/${name}`)).status, 204);
    assert.equal((await invoke(name)).body.error.code, 'FUNCTION_NOT_FOUND');
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(`${h.stateDir}/code/${name}`), false);
  });
});

describe('a deploy under load', () => {
  it('loses no call: calls from 8 clients while version 2 is deployed all answer 200, each from v1 or v2, from v2 once the deploy answered', async () => {
    const name = fnName('load');
    const source = (v: string) => ({
      'main.py': py('import asyncio', 'async def handler(event, context):', '    await asyncio.sleep(0.06)', `    return {"v": "${v}", "version": context.function_version}`),
    });
    await deployed(h.api, name, source('one'), { limits: { concurrency: 4, maxInstances: 3 } });
    const v2 = await upload(h.api, name, source('two'));
    const results: { status: number; v: string | undefined; afterDeploy: boolean }[] = [];
    // The deploy comes after 50 answers, and the clients go on until 50 calls started after it
    // answered: counts of calls, not guessed delays, so a slow machine changes nothing.
    let deployAnswered = false;
    let afterDeploy = 0;
    const client = async (): Promise<void> => {
      while (!(deployAnswered && afterDeploy >= 50)) {
        const after = deployAnswered;
        const res = await fetch(`${h.url}/fn/${name}/`);
        const body = (await res.json()) as { v?: string };
        results.push({ status: res.status, v: body.v, afterDeploy: after });
        if (after) afterDeploy++;
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await until(async () => results.length >= 50, 'the clients made no calls');
    await deploy(h.api, name, v2);
    deployAnswered = true;
    await Promise.all(clients);

    const bad = results.filter((r) => r.status !== 200 || (r.v !== 'one' && r.v !== 'two'));
    assert.deepEqual(bad, [], 'every call answered 200 from v1 or v2');
    assert.ok(results.filter((r) => r.v === 'one').length >= 50, 'version 1 served the calls before the deploy');
    assert.deepEqual(results.filter((r) => r.afterDeploy && r.v !== 'two'), [], 'a call started after the deploy answered is served by version 2');
    // After the deploy only version 2 keeps instances: version 1's drain and are reaped.
    await until(async () => (await warmInstances(name, '1')) === 0, 'version 1 instances were not reaped');
  });
});
