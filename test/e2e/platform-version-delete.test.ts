/**
 * Deleting versions through the API (docs/adr/0098-deleting-versions.md) and retention on deploy
 * (FP_KEEP_VERSIONS, here 3): the active version and a draft's base are refused with stable codes,
 * a call running on a deleted version finishes (its directory goes after it), a bare rollback
 * passes deleted versions over, and a deploy deletes all but the newest versions, never the one a
 * bare rollback would go to. `blobs/missing` touches the contents it reports present, so the
 * collector keeps them for the upload that names them next (docs/adr/0099-collecting-contents.md).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from './gateway-harness.js';
import { createFunction, errorOf, fnName, sleep, until, upload, usePlatform, VERSION_HANDLER } from './platform-harness.js';

const h = usePlatform({ poolSize: 1, codeCollectIntervalMs: 100, keepVersions: 3 });

const HANDLER = VERSION_HANDLER;

const version = (n: number): Record<string, string> => ({ 'main.py': `${HANDLER}# version ${n}\n` });

async function served(name: string, path = '/'): Promise<string> {
  const res = await request(`${h.url}/fn/${name}${path}`);
  assert.equal(res.status, 200, res.body.toString());
  return String((JSON.parse(res.body.toString()) as { version: unknown }).version);
}

async function deploy(name: string, n?: number): Promise<{ pruned?: number[] }> {
  const res = await h.api.call('POST', `/functions/${name}/deploy`, n === undefined ? {} : { version: n });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { pruned?: number[] };
}

async function numbers(name: string): Promise<number[]> {
  const res = await h.api.call('GET', `/functions/${name}/versions`);
  return (res.body as { items: { version: number }[] }).items.map((v) => v.version);
}

describe('DELETE /functions/{name}/versions/{version}', () => {
  it('deletes a version not in use; refuses the active one and the draft\'s base; a call running on it finishes', async () => {
    const name = fnName('vdel');
    await createFunction(h.api, name);
    await upload(h.api, name, version(1));
    await deploy(name);
    const slow = served(name, '/slow');
    await sleep(200);
    await upload(h.api, name, version(2));
    await deploy(name);

    const active = await h.api.call('DELETE', `/functions/${name}/versions/2`);
    assert.equal(active.status, 409);
    assert.equal(errorOf(active).code, 'VERSION_ACTIVE');

    // Version 1 still serves the slow call: deleted under it, the call finishes on it.
    const gone = await h.api.call('DELETE', `/functions/${name}/versions/1`);
    assert.equal(gone.status, 204, JSON.stringify(gone.body));
    assert.equal(await slow, '1');
    assert.equal((await h.api.call('GET', `/functions/${name}/versions/1`)).status, 404);
    assert.deepEqual(await numbers(name), [2]);
    await until("version 1's directory removed once its call ended", () => !existsSync(join(h.stateDir, 'code', name, '1')));
    assert.equal(await served(name), '2');
    const again = await h.api.call('DELETE', `/functions/${name}/versions/1`);
    assert.equal(errorOf(again).code, 'VERSION_NOT_FOUND');

    // Nothing below the active version is left: a bare rollback says so, and no number comes back.
    const back = await h.api.call('POST', `/functions/${name}/rollback`, {});
    assert.equal(errorOf(back).code, 'NO_PREVIOUS_VERSION');
    assert.equal(await upload(h.api, name, version(3)), 3);

    const draft = await h.api.call('PUT', `/functions/${name}/draft`, { baseVersion: 3, files: [], removed: [] });
    assert.equal(draft.status, 200, JSON.stringify(draft.body));
    const inUse = await h.api.call('DELETE', `/functions/${name}/versions/3`);
    assert.equal(inUse.status, 409);
    assert.equal(errorOf(inUse).code, 'VERSION_IN_USE');
    assert.equal(errorOf(inUse).usedBy, 'draft');
    assert.equal((await h.api.call('DELETE', `/functions/${name}/draft`)).status, 204);
    assert.equal((await h.api.call('DELETE', `/functions/${name}/versions/3`)).status, 204);
    assert.equal(errorOf(await h.api.call('DELETE', `/functions/${name}/versions/x`)).code, 'INVALID_FIELD');

    const audit = await h.api.call('GET', '/audit?action=version.delete');
    const entries = (audit.body as { items: { target: string; detail: { version: number } }[] }).items.filter((e) => e.target === name);
    assert.deepEqual(entries.map((e) => e.detail.version).sort(), [1, 3]);
  });
});

describe('retention on deploy (FP_KEEP_VERSIONS=3)', () => {
  it('keeps the newest 3, the active one and the one a bare rollback goes to; deletes the rest on deploy', async () => {
    const name = fnName('vkeep');
    await createFunction(h.api, name);
    await upload(h.api, name, version(1));
    await deploy(name);
    for (const n of [2, 3, 4]) await upload(h.api, name, version(n));
    // Version 1 is the only one that served: a bare rollback from 4 goes to it, so it stays.
    assert.equal((await deploy(name, 4)).pruned, undefined);
    assert.deepEqual(await numbers(name), [4, 3, 2, 1]);
    await upload(h.api, name, version(5));
    assert.deepEqual((await deploy(name, 5)).pruned, [1, 2]);
    assert.deepEqual(await numbers(name), [5, 4, 3]);
    assert.equal(await served(name), '5');
    const back = await h.api.call('POST', `/functions/${name}/rollback`, {});
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(await served(name), '4');
    assert.ok(!h.logs.some((l) => l.includes('not collected this time') || l.includes('did not run this time')), h.logs.join('\n'));
  });
});

describe('POST /blobs/missing', () => {
  it('touches the contents it reports present: the collector keeps them for the upload that names them', async () => {
    const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
    const content = `X = "${randomBytes(8).toString('hex')}"\n`;
    assert.equal((await h.api.call('PUT', `/blobs/${sha256(content)}`, Buffer.from(content))).status, 201);
    // Last put two hours ago (past the collector's grace period of an hour).
    const path = join(h.stateDir, 'blobs', sha256(content).slice(0, 2), sha256(content).slice(2));
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(path, old, old);
    const answer = await h.api.call('POST', '/blobs/missing', { sha256: [sha256(content), sha256(`absent ${content}`)] });
    assert.deepEqual((answer.body as { missing: string[] }).missing, [sha256(`absent ${content}`)]);
    assert.ok(statSync(path).mtimeMs > Date.now() - 60_000, 'touched by the question');
  });
});
