/**
 * The API operations the console is built on, as any client sees them (docs/api.md: "Series and
 * cold starts", "Drafts and test cases", "Validation"): the code check finds each problem at its
 * file and line, as `fastapi-platform validate` does; series and the cold-start view hold real
 * cold and warm calls, init times and a scale-to-zero; drafts and test cases round-trip and go
 * with their function.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFunction, deploy, deployed, errorOf, fnName, py, sleep, upload, usePlatform } from './platform-harness.js';
import { Caller, deployAs, echoFunction, functionKey, makeTenant, type Platform } from './tenants-harness.js';

const h = usePlatform({ poolSize: 1, idleTimeoutMs: 1000, warmReportIntervalMs: 200 });

const GOOD = py('def handler(event, context):', '    print("hi")', '    return {"ok": True}');

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await sleep(100);
  }
}

describe('POST /validate: the checks of `fastapi-platform validate`, each problem at its line', () => {
  it("reports limits past the platform's ceilings (memory 64Gi, timeout 2h) with deploy's own words", async () => {
    const name = fnName('ceil');
    const res = await h.api.call('POST', '/validate', {
      files: [{ path: 'main.py', content: GOOD }, { path: 'platform.yaml', content: `kind: function\nname: ${name}\nlimits:\n  memory: 64Gi\n  timeout: 2h\n` }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.ok, false);
    const problems = res.body.problems.map((p: { kind: string; line: number; path: string; message: string }) => [p.kind, p.line, p.path, p.message]);
    // What creating (deploying) it answers: the same field and words.
    const refused: unknown[] = [];
    for (const limits of [{ memory: '64Gi' }, { timeout: '2h' }]) {
      const create = await h.api.call('POST', '/functions', { name, limits });
      assert.equal(create.status, 400);
      refused.push(errorOf(create).message);
    }
    assert.deepEqual(problems, [
      ['manifest', 4, 'limits.memory', 'this platform allows at most 4Gi of memory per function (FP_MAX_FUNCTION_MEMORY_BYTES)'],
      ['manifest', 5, 'limits.timeout', 'this platform allows a timeout of at most 1h (FP_MAX_FUNCTION_TIMEOUT_MS)'],
    ]);
    assert.deepEqual(refused, problems.map((p: (string | number)[]) => `${p[2]}: ${p[3]}`));
  });

  it('reports a syntax error, a manifest problem and a wrong handler signature where they are', async () => {
    const name = fnName('check');
    const res = await h.api.call('POST', '/validate', {
      files: [
        { path: 'main.py', content: py('def handler(event, context):', '    x = (1,', '    return x') },
        { path: 'lib/other.py', content: py('def handler(event):', '    return 1') },
        { path: 'platform.yaml', content: `kind: function\nname: ${name}\nlimits:\n  timeout: 30\n` },
      ],
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.ok, false);
    const syntax = res.body.problems.find((p: { kind: string }) => p.kind === 'syntax');
    assert.deepEqual([syntax.file, syntax.line], ['main.py', 2]);
    const manifest = res.body.problems.find((p: { kind: string }) => p.kind === 'manifest');
    assert.deepEqual([manifest.file, manifest.line, manifest.path], ['platform.yaml', 4, 'limits.timeout']);
    assert.deepEqual(res.body.manifest, { kind: 'function', name, limits: { timeout: 30 } });

    const arity = await h.api.call('POST', '/validate', { files: [{ path: 'app.py', content: py('def main(event):', '    return 1') }], entrypoint: 'app:main' });
    assert.equal(arity.body.ok, false);
    assert.deepEqual(arity.body.problems.map((p: { kind: string; file: string; line: number }) => [p.kind, p.file, p.line]), [['entrypoint', 'app.py', 1]]);

    const ok = await h.api.call('POST', '/validate', { files: [{ path: 'main.py', content: GOOD }, { path: 'platform.yaml', content: `kind: function\nname: ${name}\n` }] });
    assert.equal(ok.body.ok, true, JSON.stringify(ok.body.problems));
    assert.deepEqual([ok.body.entrypoint.value, ok.body.entrypoint.file, ok.body.entrypoint.kind], ['main:handler', 'main.py', 'handler']);
    assert.match(ok.body.python.version, /^3\./);

    // A cron step past its field's range: valid, with the warning `validate` gives (before: none here).
    const step = await h.api.call('POST', '/validate', { files: [{ path: 'main.py', content: GOOD }, { path: 'platform.yaml', content: `kind: function\nname: ${name}\ninvocation: async\ntriggers:\n  - type: cron\n    schedule: "*/90 * * * *"\n` }] });
    assert.equal(step.body.ok, true, JSON.stringify(step.body.problems));
    assert.deepEqual(step.body.warnings.map((w: { kind: string; file: string; path: string }) => [w.kind, w.file, w.path]), [['manifest', 'platform.yaml', 'triggers.0.schedule']]);
    assert.match(step.body.warnings[0].message, /"\*\/90" in the minute field matches minute 0 only/);

    // Declared dependencies are checked too: a requirement the platform does not install, at its line.
    const deps = await h.api.call('POST', '/validate', { files: [{ path: 'main.py', content: GOOD }, { path: 'requirements.txt', content: 'requests>=2\n-e ./local\n' }] });
    assert.equal(deps.status, 200);
    assert.equal(deps.body.ok, false);
    assert.deepEqual(deps.body.problems.map((p: { kind: string; file: string; line: number }) => [p.kind, p.file, p.line]), [['dependencies', 'requirements.txt', 2]]);
  });

  it('never runs the code it checks, and refuses paths an upload would refuse', async () => {
    const marker = `/tmp/fp-validate-ran-${fnName('m')}`;
    const res = await h.api.call('POST', '/validate', { files: [{ path: 'main.py', content: py(`open(${JSON.stringify(marker)}, "w").write("ran")`, 'def handler(event, context):', '    return 1') }] });
    assert.equal(res.body.ok, true);
    await assert.rejects(import('node:fs/promises').then((fs) => fs.access(marker)));
    const escape = await h.api.call('POST', '/validate', { files: [{ path: '../../etc/x.py', content: '' }] });
    assert.deepEqual([escape.status, errorOf(escape).code], [400, 'BUNDLE_PATH_INVALID']);
  });
});

describe('usage series and the cold-start view', () => {
  it('hold the cold and the warm calls, init time, warm instances and a scale to zero', async () => {
    const name = fnName('cold');
    await deployed(h.api, name, { 'main.py': GOOD });
    for (let i = 0; i < 3; i++) assert.equal((await h.api.call('POST', `/functions/${name}/invoke`, {})).body.status, 200);

    const usage = await until('the usage to count 3 calls', () => h.api.call('GET', `/functions/${name}/usage?window=1h`), (r) => r.body.invocations === 3);
    assert.equal(usage.body.coldStarts, 1);
    assert.ok(usage.body.coldP50Ms > 0 && usage.body.warmP50Ms > 0 && usage.body.initP50Ms > 0);

    const series = await h.api.call('GET', `/functions/${name}/usage/series?window=1h`);
    assert.deepEqual([series.status, series.body.points.length, series.body.stepMs], [200, 60, 60_000]);
    const total = series.body.points.reduce((n: number, p: { invocations: number }) => n + p.invocations, 0);
    assert.equal(total, 3);
    const withCold = series.body.points.find((p: { coldStarts: number }) => p.coldStarts > 0);
    assert.ok(withCold.coldP50Ms > 0 && withCold.initP50Ms > 0);

    const view = await h.api.call('GET', '/coldstarts?window=1h');
    const row = view.body.functions.find((f: { function: string }) => f.function === name);
    assert.deepEqual([row.invocations, row.coldStarts, row.state], [3, 1, 'warm']);
    assert.ok(row.warmInstances >= 1 && row.coldPenaltyMs !== null && row.lastColdAt !== null);
    assert.ok(view.body.summary.coldStarts >= 1 && view.body.summary.functions >= 1);

    // Idle for longer than idleTimeoutMs: the instance is stopped, and that is a scale-to-zero event.
    const after = await until('a scale-to-zero event', () => h.api.call('GET', '/coldstarts?window=1h'), (r) => (r.body.functions.find((f: { function: string }) => f.function === name)?.scaleToZero ?? 0) >= 1);
    const stopped = after.body.functions.find((f: { function: string }) => f.function === name);
    assert.deepEqual([stopped.warmInstances, stopped.state], [0, 'cold']);
    assert.ok(after.body.points.some((p: { scaleToZero: number }) => p.scaleToZero > 0));

    // A function with no version says so, as the functions list does (it said "cold").
    const undeployed = fnName('nover');
    assert.equal((await h.api.call('POST', '/functions', { name: undeployed })).status, 201);
    const listed = (await h.api.call('GET', '/coldstarts?window=1h')).body.functions.find((f: { function: string }) => f.function === undeployed);
    assert.equal(listed.state, 'not deployed');

    // Deleted, the function leaves the pool's per-name scale-to-zero counts (/readyz with the admin
    // token lists them): they are bounded by the functions that exist (ADR 0153's left-open point).
    const readyz = async (): Promise<{ pool: { scaledToZero?: Record<string, number> } }> =>
      (await fetch(`${h.url}/readyz`, { headers: { authorization: `Bearer ${h.api.token}` } })).json() as Promise<{ pool: { scaledToZero?: Record<string, number> } }>;
    assert.ok(((await readyz()).pool.scaledToZero?.[name] ?? 0) >= 1, 'counted while it exists');
    assert.equal((await h.api.call('DELETE', `/functions/${name}`)).status, 204);
    assert.equal((await readyz()).pool.scaledToZero?.[name], undefined, 'forgotten with the function');
  });
});

describe('triggers and the async test invoke', () => {
  it('lists HTTP, webhook and cron triggers with URLs and next fire times, and queues an async run', async () => {
    const name = fnName('trig');
    const manifest = { kind: 'function', name, triggers: [{ type: 'webhook', id: 'gh' }, { type: 'cron', id: 'nightly', schedule: '0 0 3 * * *', timezone: 'Europe/Berlin' }] };
    await createFunction(h.api, name, { invocation: 'both' });
    await upload(h.api, name, { 'main.py': GOOD }, { manifest });
    await deploy(h.api, name);
    const res = await h.api.call('GET', `/functions/${name}/triggers`);
    assert.equal(res.status, 200);
    const [http, hook, cron] = res.body.items;
    assert.equal(http.invokeUrl, `${h.url}/fn/${name}/`);
    assert.deepEqual([hook.type, hook.id, hook.style, hook.url], ['webhook', 'gh', 'github', `${h.url}/hooks/${name}/gh`]);
    assert.deepEqual([cron.type, cron.id, cron.timezone, cron.nextFires.length], ['cron', 'nightly', 'Europe/Berlin', 5]);
    assert.ok(cron.nextFires.every((t: number, i: number) => t > Date.now() && (i === 0 || t > cron.nextFires[i - 1])));
    assert.equal(new Date(cron.nextFires[0]).toLocaleString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }), '03:00');

    const queued = await h.api.call('POST', `/functions/${name}/invoke/async`, { method: 'POST', path: '/x', body: { n: 1 } });
    assert.equal(queued.status, 202);
    const run = await until('the async run to finish', () => h.api.call('GET', `/runs/${queued.body.runId}`), (r) => r.body.run?.state === 'succeeded');
    assert.equal(run.body.run.trigger, 'async');
  });
});

describe('drafts and test cases over the API', () => {
  it('round-trip, and go with their function', async () => {
    const name = fnName('draft');
    await deployed(h.api, name, { 'main.py': GOOD });
    assert.equal(errorOf(await h.api.call('GET', `/functions/${name}/draft`)).code, 'DRAFT_NOT_FOUND');
    const saved = await h.api.call('PUT', `/functions/${name}/draft`, { baseVersion: 1, files: [{ path: './main.py', content: 'x = 1\n' }], removed: [] });
    assert.equal(saved.status, 200);
    assert.deepEqual([saved.body.draft.files, saved.body.draft.revision, saved.body.draft.updatedBy], [[{ path: 'main.py', content: 'x = 1\n' }], 1, 'admin']);
    const file = await h.api.call('GET', `/functions/${name}/versions/1/file?path=main.py`);
    assert.deepEqual([file.body.encoding, file.body.content], ['utf-8', GOOD]);

    const put = await h.api.call('PUT', `/functions/${name}/test-cases/hello%20world`, { mode: 'async', request: { method: 'POST', body: { a: '<img src=x>' } } });
    assert.deepEqual([put.status, put.body.testCase.name, put.body.testCase.mode], [200, 'hello world', 'async']);
    const list = await h.api.call('GET', `/functions/${name}/test-cases`);
    assert.deepEqual(list.body.items.map((c: { name: string; request: unknown }) => [c.name, c.request]), [['hello world', { method: 'POST', body: { a: '<img src=x>' } }]]);

    // A tab that deployed (or discards) revision 1 keeps a revision 2 another tab saved meanwhile.
    await h.api.call('PUT', `/functions/${name}/draft`, { baseVersion: 1, files: [{ path: 'main.py', content: 'x = 2\n' }], removed: [], ifRevision: 1 });
    const kept = await h.api.call('DELETE', `/functions/${name}/draft?ifRevision=1`);
    assert.deepEqual([kept.status, errorOf(kept).code, errorOf(kept).revision], [409, 'DRAFT_CONFLICT', 2]);
    assert.equal((await h.api.call('GET', `/functions/${name}/draft`)).body.draft.revision, 2);
    assert.equal(errorOf(await h.api.call('DELETE', `/functions/${name}/draft?ifRevision=x`)).code, 'INVALID_FIELD');
    assert.equal((await h.api.call('DELETE', `/functions/${name}/draft?ifRevision=2`)).status, 204);
    assert.equal((await h.api.call('DELETE', `/functions/${name}/draft?ifRevision=2`)).status, 204, 'none left: nothing to keep');

    assert.equal((await h.api.call('DELETE', `/functions/${name}`)).status, 204);
    await createFunction(h.api, name);
    assert.equal(errorOf(await h.api.call('GET', `/functions/${name}/draft`)).code, 'DRAFT_NOT_FOUND');
    assert.deepEqual((await h.api.call('GET', `/functions/${name}/test-cases`)).body.items, []);
  });
});

describe("the console's routes under tenants (docs/adr/0011-tenants.md, 0016-console.md)", () => {
  it("resolve in the caller's workspace (another's function is 404), need their role, and audit test-case changes", async () => {
    const p: Platform = { urls: [h.url], rootToken: h.api.token! };
    const t = await makeTenant(p);
    const other = await makeTenant(p);
    await deployAs(t.deployer, 'fn', echoFunction('console'));
    await deployAs(other.deployer, 'theirs', echoFunction('other'));
    const main = { files: [{ path: 'main.py', content: GOOD }] };

    // Reads are viewer.
    await t.viewer.expect(200, 'GET', '/functions/fn/triggers');
    await t.viewer.expect(200, 'GET', '/functions/fn/usage/series?window=1h');
    await t.viewer.expect(200, 'GET', '/functions/fn/versions/1/file?path=main.py');
    await t.viewer.expect(200, 'GET', '/functions/fn/test-cases');
    assert.deepEqual(await t.viewer.refused('GET', '/functions/fn/draft'), [404, 'DRAFT_NOT_FOUND']);
    const cold = await t.viewer.expect(200, 'GET', '/coldstarts?window=1h');
    assert.deepEqual(cold.body.functions.map((f: { function: string }) => f.function), ['fn'], 'only its own workspace, by short name');
    const triggers = await t.viewer.expect(200, 'GET', '/functions/fn/triggers');
    assert.ok(triggers.body.items[0].invokeUrl.endsWith(`/fn/${functionKey('fn', t.name)}/`));

    // Writes, the code check and the async test invoke need their roles; refused before any lookup.
    const forbidden = async (caller: Caller, method: string, path: string, body: unknown, required: string): Promise<void> => {
      const res = await caller.call(method, path, body);
      assert.deepEqual([res.status, res.body.error.code, res.body.error.required], [403, 'ROLE_FORBIDDEN', required], `${method} ${path}`);
    };
    await forbidden(t.viewer, 'PUT', '/functions/fn/draft', { baseVersion: 1, files: [] }, 'deployer');
    await forbidden(t.invoker, 'DELETE', '/functions/fn/draft', undefined, 'deployer');
    await forbidden(t.invoker, 'PUT', '/functions/fn/test-cases/one', { request: {} }, 'deployer');
    await forbidden(t.invoker, 'DELETE', '/functions/fn/test-cases/one', undefined, 'deployer');
    await forbidden(t.invoker, 'POST', '/validate', main, 'deployer');
    await forbidden(t.viewer, 'POST', '/functions/fn/invoke/async', {}, 'invoker');
    await t.invoker.expect(202, 'POST', '/functions/fn/invoke/async', { path: '/t' });
    await t.deployer.expect(200, 'POST', '/validate', main);
    const draft = await t.deployer.expect(200, 'PUT', '/functions/fn/draft', { baseVersion: 1, files: [{ path: 'main.py', content: 'x = 1\n' }] });
    assert.deepEqual([draft.body.draft.function, draft.body.draft.updatedBy], ['fn', `${t.name}-deployer`]);
    await t.deployer.expect(200, 'PUT', '/functions/fn/test-cases/one', { mode: 'sync', request: { path: '/a' } });
    await t.deployer.expect(204, 'DELETE', '/functions/fn/test-cases/one');

    // Another workspace's function is not found on every console route, for its tokens and the root token in this workspace.
    for (const [method, path, body] of [
      ['GET', '/functions/theirs/triggers'], ['GET', '/functions/theirs/usage/series'], ['GET', '/functions/theirs/versions/1/file?path=main.py'],
      ['GET', '/functions/theirs/draft'], ['PUT', '/functions/theirs/draft', { baseVersion: null, files: [] }], ['DELETE', '/functions/theirs/draft'],
      ['GET', '/functions/theirs/test-cases'], ['PUT', '/functions/theirs/test-cases/x', { request: {} }], ['DELETE', '/functions/theirs/test-cases/x'],
      ['POST', '/functions/theirs/invoke/async', {}],
    ] as [string, string, unknown?][]) {
      assert.deepEqual(await t.owner.refused(method, path, body), [404, 'FUNCTION_NOT_FOUND'], `${method} ${path}`);
      assert.deepEqual(await t.root.refused(method, path, body), [404, 'FUNCTION_NOT_FOUND'], `root ${method} ${path}`);
    }
    await other.viewer.expect(200, 'GET', '/functions/theirs/triggers');

    // Test-case changes are in the audit log; draft saves (the editor's autosave) and test invokes are not.
    const audit = await t.owner.expect(200, 'GET', '/audit?limit=50');
    const actions = audit.body.items.map((e: { action: string; target: string; detail: Record<string, unknown> }) => [e.action, e.target, e.detail['testCase'] ?? null]);
    assert.deepEqual(actions.filter(([a]: [string]) => a.startsWith('test-case.')).reverse(), [['test-case.save', 'fn', 'one'], ['test-case.delete', 'fn', 'one']]);
    assert.ok(!actions.some(([a]: [string]) => a.startsWith('draft')));
  });
});
