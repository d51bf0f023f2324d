/**
 * Dependency builds against an index (issue 10): an unreachable index fails the build with
 * DEPS_INDEX_UNREACHABLE (the active version keeps serving), and one tiny real package resolved
 * from PyPI through the builder's egress proxy — skipped with a message when PyPI cannot be
 * reached from here and CI is not set.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startPlatform } from '../../platform/start.js';
import { Api, createFunction, deploy, errorOf, fnName, py, sleep, TEST_SECRETS_KEY, upload, usePlatform } from './platform-harness.js';

/** Nothing listens on port 9 (discard): every connection to the index is refused. */
const h = usePlatform({ poolSize: 1, depsIndexUrl: 'http://127.0.0.1:9/simple' });

async function settled(api: Api, name: string, version: number, timeoutMs = 120_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON
  const start = Date.now();
  for (;;) {
    const res = await api.call('GET', `/functions/${name}/versions/${version}/deps`);
    if (res.body.deps?.state !== 'building') return res.body.deps;
    assert.ok(Date.now() - start < timeoutMs, 'still building');
    await sleep(200);
  }
}

/** A TCP connection to pypi.org:443 (TLS is pip's business: it may need the system's CA bundle). */
function pypiReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: 'pypi.org', port: 443, timeout: 5000 }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('dependencies from an index', () => {
  it('fails with DEPS_INDEX_UNREACHABLE when the index cannot be reached; the active version keeps serving', async () => {
    const name = fnName('noidx');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': py('def handler(event, context):', '    return {"v": 1}') });
    await deploy(h.api, name);
    const v2 = await upload(h.api, name, { 'requirements.txt': 'six\n', 'main.py': py('import six', 'def handler(event, context):', '    return {"v": 2}') });
    const deps = await settled(h.api, name, v2);
    assert.equal(deps.state, 'failed');
    assert.equal(deps.error.code, 'DEPS_INDEX_UNREACHABLE', deps.error.message);
    const refused = await h.api.call('POST', `/functions/${name}/deploy`, { version: v2 });
    assert.equal(refused.status, 503);
    assert.equal(errorOf(refused).code, 'DEPS_INDEX_UNREACHABLE');
    const res = await fetch(`${h.url}/fn/${name}/`);
    assert.deepEqual(await res.json(), { v: 1 });
  });

  it('resolves a tiny real package from PyPI through the egress proxy', async (t) => {
    if (!(await pypiReachable())) {
      if (process.env['CI']) assert.fail('PyPI is not reachable and CI is set');
      t.skip('PyPI is not reachable from here (set CI to make this a failure)');
      return;
    }
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-pypi-'));
    const platform = await startPlatform({ stateDir, port: 0, poolSize: 1, secretsKey: TEST_SECRETS_KEY, log: () => undefined });
    t.after(async () => {
      await platform.close();
      rmSync(stateDir, { recursive: true, force: true });
    });
    const api = new Api(platform.url, platform.takeAdminToken() ?? null);
    const name = fnName('pypi');
    await createFunction(api, name);
    await upload(api, name, { 'requirements.txt': 'six==1.16.0\n', 'main.py': py('import six', 'def handler(event, context):', '    return {"six": six.__version__, "file": six.__file__}') });
    const deps = await settled(api, name, 1);
    assert.equal(deps.state, 'ready', JSON.stringify(deps.error));
    assert.deepEqual(deps.packages, [{ name: 'six', version: '1.16.0', modules: ['six'] }]);
    await deploy(api, name);
    const res = await fetch(`${platform.url}/fn/${name}/`);
    assert.deepEqual(await res.json(), { six: '1.16.0', file: '/deps/six.py' });
  });
});
