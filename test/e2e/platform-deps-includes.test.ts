/**
 * `-r FILE` and `-c FILE` in a function's requirements.txt (apps round 7): pip-tools and most
 * projects split requirements (`-r requirements/base.txt`, `-c constraints.txt`); they were
 * refused as options. Files of the version are read in place, through the sandboxed builder,
 * against a local directory of wheels made here (no network). Paths outside the version (path
 * traversal, absolute paths, URLs), missing files and cycles are refused at upload: they would
 * let a function's owner read the platform's files into a build log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeWheel } from '../helpers/wheels.js';
import { createFunction, deploy, depsSettled as settled, errorOf, filesOf, fnName, py, upload, usePlatform } from './platform-harness.js';

const wheels = mkdtempSync(join(tmpdir(), 'fp-wheels-'));
after(() => rmSync(wheels, { recursive: true, force: true }));
writeWheel(wheels, { name: 'beta', version: '1.2', modules: { 'beta.py': 'NAME = "beta-1.2"\n' } });
writeWheel(wheels, { name: 'beta', version: '0.9', modules: { 'beta.py': 'NAME = "beta-0.9"\n' } });
writeWheel(wheels, { name: 'gamma', version: '1.0', modules: { 'gamma.py': 'NAME = "gamma-1.0"\n' } });

const h = usePlatform({ poolSize: 1, depsIndexUrl: 'none', depsFindLinks: wheels, depsMaxBytes: 1024 * 1024 });

const LAYERED = {
  'requirements.txt': '-r requirements/base.txt\n--constraint=constraints.txt\n',
  'requirements/base.txt': '# shared\n-rextra.txt\nbeta\n',
  'requirements/extra.txt': 'gamma\n',
  'constraints.txt': 'beta==0.9\n',
  'main.py': py(
    'import beta, gamma',
    'def handler(event, context):',
    '    return {"beta": beta.NAME, "gamma": gamma.NAME}',
  ),
};

describe('requirements.txt naming other files of the function', () => {
  it('installs what -r files declare, constrained by -c files; a changed included file builds again', async () => {
    const name = fnName('layers');
    await createFunction(h.api, name);
    assert.equal(await upload(h.api, name, LAYERED), 1);
    const deps = await settled(h.api, name, 1);
    assert.equal(deps.state, 'ready', JSON.stringify(deps));
    assert.deepEqual(deps.packages, [{ name: 'beta', version: '0.9', modules: ['beta'] }, { name: 'gamma', version: '1.0', modules: ['gamma'] }]);
    await deploy(h.api, name);
    const first = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { beta: 'beta-0.9', gamma: 'gamma-1.0' });

    // Only the constraints file changes: a new key, a new build, the other version of beta.
    assert.equal(await upload(h.api, name, { ...LAYERED, 'constraints.txt': 'beta>=1\n' }), 2);
    const again = await settled(h.api, name, 2);
    assert.equal(again.state, 'ready', JSON.stringify(again));
    assert.notEqual(again.key, deps.key);
    assert.deepEqual(again.packages, [{ name: 'beta', version: '1.2', modules: ['beta'] }, { name: 'gamma', version: '1.0', modules: ['gamma'] }]);
  });

  it('refuses, at upload, a path outside the function, an absolute path, a URL, a missing file and a cycle', async () => {
    const name = fnName('escape');
    await createFunction(h.api, name);
    const main = { 'main.py': py('def handler(event, context):', '    return 1') };
    const cases: [Record<string, string>, string, number][] = [
      [{ 'requirements.txt': 'gamma\n-r ../../secrets.key\n' }, 'requirements.txt', 2],
      [{ 'requirements.txt': '-r requirements/../../platform.db\n' }, 'requirements.txt', 1],
      [{ 'requirements.txt': '-r /etc/passwd\n' }, 'requirements.txt', 1],
      [{ 'requirements.txt': '-c /proc/self/environ\n' }, 'requirements.txt', 1],
      [{ 'requirements.txt': '--requirement=https://example.com/r.txt\n' }, 'requirements.txt', 1],
      [{ 'requirements.txt': '-r ~/.netrc\n' }, 'requirements.txt', 1],
      [{ 'requirements.txt': '-r ${HOME}/x.txt\n' }, 'requirements.txt', 1],
      [{ 'requirements.txt': '-r missing.txt\n' }, 'requirements.txt', 1],
      [{ 'requirements.txt': '-r a.txt\n', 'a.txt': 'gamma\n-r sub/b.txt\n', 'sub/b.txt': '-r ../a.txt\n' }, 'sub/b.txt', 1],
      [{ 'requirements.txt': '-c c.txt\n', 'c.txt': '-r requirements.txt\n' }, 'c.txt', 1],
      [{ 'requirements.txt': '-c c.txt\n', 'c.txt': 'beta[extra]==1\n' }, 'c.txt', 1],
      [{ 'requirements.txt': '-r sub/b.txt\n', 'sub/b.txt': 'gamma\n-e ../../x\n' }, 'sub/b.txt', 2],
    ];
    for (const [files, file, line] of cases) {
      const res = await h.api.call('POST', `/functions/${name}/versions`, { files: filesOf({ ...main, ...files }) });
      assert.equal(res.status, 400, `${JSON.stringify(files)}: ${JSON.stringify(res.body)}`);
      assert.equal(errorOf(res).code, 'DEPS_REQUIREMENT_INVALID', JSON.stringify(files));
      assert.equal(errorOf(res)['file'], file, JSON.stringify(res.body));
      assert.equal(errorOf(res)['line'], line, JSON.stringify(res.body));
    }
    const versions = await h.api.call('GET', `/functions/${name}/versions`);
    assert.equal(versions.status, 200);
    assert.equal(versions.body.items.length, 0, 'no version was created');
  });
});
