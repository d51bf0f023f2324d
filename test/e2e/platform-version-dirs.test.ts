/**
 * The code directory of a version no longer active (`<stateDir>/code/<name>/<version>/`, a whole
 * copy of its code) is removed once no instance runs from it; the active one stays, and a rollback
 * writes its directory again (controlplane/service/code-collect.ts). Every deploy used to keep one
 * more copy until the function was deleted.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from './gateway-harness.js';
import { createFunction, deploy, fnName, sleep, until, upload, usePlatform, VERSION_HANDLER } from './platform-harness.js';

const h = usePlatform({ poolSize: 1, codeCollectIntervalMs: 100 });

const HANDLER = VERSION_HANDLER;

async function versionServed(name: string, path = '/'): Promise<unknown> {
  const res = await request(`${h.url}/fn/${name}${path}`);
  assert.equal(res.status, 200, res.body.toString());
  return (JSON.parse(res.body.toString()) as { version: unknown }).version;
}

describe('code directories of versions no longer active', () => {
  it('go once no instance runs from them; the active one stays; a rollback writes its directory again', async () => {
    const name = fnName('version-dirs');
    const dirOf = (version: number): string => join(h.stateDir, 'code', name, String(version));
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': HANDLER });
    await deploy(h.api, name);
    assert.equal(String(await versionServed(name)), '1');
    assert.ok(existsSync(dirOf(1)));

    // A call in flight on version 1 while version 2 is deployed: its instance drains, and runs
    // from version 1's directory until the call ends.
    const slow = versionServed(name, '/slow');
    await sleep(200);
    await upload(h.api, name, { 'main.py': `${HANDLER}# version 2\n` });
    await deploy(h.api, name);
    assert.equal(String(await versionServed(name)), '2');
    await sleep(500); // several collections (every 100 ms) while the call runs
    assert.ok(existsSync(dirOf(1)), 'removed under a call still running from it');
    assert.equal(String(await slow), '1');
    await until('version 1\'s directory removed after its last instance ended', () => !existsSync(dirOf(1)));
    assert.ok(existsSync(dirOf(2)), 'the active version\'s directory stays');
    assert.equal(String(await versionServed(name)), '2');

    const back = await h.api.call('POST', `/functions/${name}/rollback`, {});
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.ok(existsSync(dirOf(1)), 'the rollback wrote version 1 again');
    assert.equal(String(await versionServed(name)), '1');
    await until('version 2\'s directory removed after the rollback', () => !existsSync(dirOf(2)));
    assert.equal(String(await versionServed(name)), '1');
  });
});
