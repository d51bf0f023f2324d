/**
 * A version keeps what its last deploy found when it started it (ADR 0252): the versions list and
 * a version's read say `startCheck` (null never checked, ok, or the refusal's code and the message
 * the deploy answered), a later deploy that starts it replaces it, and a secret the code printed
 * in its failure reads as masked to a viewer of the list, as to the deploy's caller (ADR 0269).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Api, createFunction, errorOf, fnName, handlerReturning, py, upload, usePlatform } from './platform-harness.js';

const h = usePlatform({ poolSize: 1 });

type Check = { ok: boolean; code: string | null; message: string | null; at: number } | null;

async function checks(api: Api, name: string): Promise<Record<number, Check>> {
  const list = await api.call('GET', `/functions/${name}/versions`);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  return Object.fromEntries((list.body.items as { version: number; startCheck: Check }[]).map((v) => [v.version, v.startCheck]));
}

describe("a version's start check is kept", () => {
  it('null until deployed; a refused deploy keeps its code and message, masked; a deploy that starts it says ok', async () => {
    const name = fnName('keep');
    const secret = `tok-${randomBytes(8).toString('hex')}`;
    await createFunction(h.api, name, { secrets: { API_TOKEN: secret } });
    const good = await upload(h.api, name, handlerReturning('one'));
    // The code fails to load and puts the secret in its error, as a connection string often is.
    const broken = await upload(h.api, name, { 'main.py': py('import os', 'if "API_TOKEN" in os.environ:', '    raise RuntimeError("cannot log in with " + os.environ["API_TOKEN"])', 'def handler(event, context):', '    return 2') });
    assert.deepEqual(await checks(h.api, name), { [good]: null, [broken]: null });

    const before = Date.now();
    assert.equal((await h.api.call('POST', `/functions/${name}/deploy`, { version: good })).status, 200);
    const refused = await h.api.call('POST', `/functions/${name}/deploy`, { version: broken });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    const err = errorOf(refused);
    assert.equal(err.code, 'DEPLOY_START_FAILED');
    const kept = await checks(h.api, name);
    assert.equal(kept[good]?.ok, true);
    assert.deepEqual({ ...kept[broken], at: 0 }, { ok: false, code: 'DEPLOY_START_FAILED', message: err['message'], at: 0 }, 'the message the deploy answered');
    assert.ok(kept[broken]!.at >= before && kept[broken]!.at <= Date.now());
    assert.match(String(kept[broken]!.message), /\[secret API_TOKEN\]/);
    const one = await h.api.call('GET', `/functions/${name}/versions/${broken}`);
    assert.deepEqual(one.body.version.startCheck, kept[broken]);

    // A viewer reads the list: the failure, never the secret.
    const viewer = await h.api.call('POST', '/tokens', { role: 'viewer', label: 'support' });
    assert.equal(viewer.status, 201, JSON.stringify(viewer.body));
    const asViewer = new Api(h.url, viewer.body.secret as string);
    const list = await asViewer.call('GET', `/functions/${name}/versions`);
    assert.equal(list.status, 200);
    assert.ok(!JSON.stringify(list.body).includes(secret), 'no secret value in the versions list');
    assert.equal((await checks(asViewer, name))[broken]?.code, 'DEPLOY_START_FAILED');

    // Without the secret the same version loads: its next deploy starts it, and says so.
    assert.equal((await h.api.call('PATCH', `/functions/${name}`, { secrets: { API_TOKEN: null } })).status, 200);
    assert.equal((await h.api.call('POST', `/functions/${name}/deploy`, { version: broken })).status, 200);
    assert.equal((await checks(h.api, name))[broken]?.ok, true);
    // A deploy without the check leaves what the last check found.
    const third = await upload(h.api, name, { 'main.py': py('raise SystemExit(4)') });
    assert.equal((await h.api.call('POST', `/functions/${name}/deploy`, { version: third, check: false })).status, 200);
    assert.equal((await checks(h.api, name))[third], null);
  });
});
