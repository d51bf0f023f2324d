/**
 * The console's version history deletes a version (docs/adr/0098-deleting-versions.md): asked
 * first, the active version has no Delete button, a refusal (the draft's base: VERSION_IN_USE) is
 * shown with its code, and "Roll back to" names a version still stored.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, useConsole } from './console-harness.js';
import { createFunction, deploy, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

const version = (n: number): Record<string, string> => ({ 'main.py': py('def handler(event, context):', `    return {"n": ${n}}`) });

async function numbers(name: string): Promise<number[]> {
  return ((await c.platform.api.call('GET', `/functions/${name}/versions`)).body as { items: { version: number }[] }).items.map((v) => v.version);
}

describe('console: deleting versions', { skip }, () => {
  it('deletes a version from the history after asking; the active one has no Delete; a refusal says why', async () => {
    const name = fnName('cver');
    await createFunction(c.platform.api, name);
    for (const n of [1, 2, 3]) {
      await upload(c.platform.api, name, version(n));
      await deploy(c.platform.api, name, n);
    }
    const { page } = await c.page({ hash: `#/functions/${name}/code` });
    const history = page.getByRole('list', { name: 'Version history' });
    await history.getByText('v3').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delete version 3' }).count(), 0, 'no Delete for the active version');
    await page.getByTestId('rollback').getByText('Roll back to v2').waitFor();

    // Dismissed: nothing deleted.
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: 'Delete version 2', exact: true }).click();
    assert.deepEqual(await numbers(name), [3, 2, 1]);
    const asked: string[] = [];
    page.once('dialog', (d) => { asked.push(d.message()); void d.accept(); });
    await page.getByRole('button', { name: 'Delete version 2', exact: true }).click();
    await eventually(async () => assert.deepEqual(await numbers(name), [3, 1]));
    assert.match(asked[0] ?? '', /^Delete version 2\?/);
    await page.getByRole('button', { name: 'Delete version 2', exact: true }).waitFor({ state: 'detached' });
    await page.getByTestId('rollback').getByText('Roll back to v1').waitFor();

    // A draft based on version 1: its delete is refused, and the page says why with the code.
    const draft = await c.platform.api.call('PUT', `/functions/${name}/draft`, { baseVersion: 1, files: [], removed: [] });
    assert.equal(draft.status, 200, JSON.stringify(draft.body));
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete version 1' }).click();
    await page.getByText(/VERSION_IN_USE/).waitFor();
    assert.deepEqual(await numbers(name), [3, 1]);
  });

  it('pages through a history longer than its first 50 versions, and keeps the older ones shown after a delete (console round 3)', async () => {
    // 55 versions (uploads without a deploy: retention, FP_KEEP_VERSIONS, runs at a deploy; with
    // it at 0 every version stays), the active one the oldest: the tab showed the newest 50 and
    // nothing else, so v1..v5 — the version serving among them — could not be seen, deployed or
    // deleted, and nothing said there were more.
    const name = fnName('cvermany');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, version(1));
    await deploy(c.platform.api, name, 1);
    for (let n = 2; n <= 55; n++) await upload(c.platform.api, name, version(n));
    const { page } = await c.page({ hash: `#/functions/${name}/code` });
    const history = page.getByRole('list', { name: 'Version history' });
    await history.getByText('v55', { exact: true }).waitFor();
    await history.getByText('v6', { exact: true }).waitFor();
    assert.equal(await history.locator('li').count(), 50);
    assert.equal(await history.getByText('v1 · active').count(), 0);
    await page.getByTestId('older-versions').click();
    await history.getByText('v1 · active').waitFor();
    assert.equal(await history.locator('li').count(), 55);
    await page.getByTestId('older-versions').waitFor({ state: 'detached' });
    // The button went with the last page: the focus is on the list, not lost to the page (keyboard use).
    await eventually(async () => assert.equal(await page.evaluate('document.activeElement && document.activeElement.getAttribute("aria-label")'), 'Version history'));

    // A version of the second page deleted: the list read again keeps both pages.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete version 2', exact: true }).click();
    await eventually(async () => assert.ok(!(await numbers(name)).includes(2)));
    await page.getByRole('button', { name: 'Delete version 2', exact: true }).waitFor({ state: 'detached' });
    await history.getByText('v3', { exact: true }).waitFor();
    assert.equal(await history.locator('li').count(), 54);
  });

  it('a deploy shows the warnings its upload answered that the check did not say, once (console round 11)', async () => {
    const name = fnName('cwarn');
    await createFunction(c.platform.api, name);
    // A SQLite database shipped with the code: not text, so the editor's check never sees it; the upload does (ADR 0248).
    const db = Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.from([0xff, 0xfe, 0x00, 0x01])]).toString('base64');
    const main = py('def handler(event, context):', '    return 1');
    const up = await c.platform.api.call('POST', `/functions/${name}/versions`, { entrypoint: 'main:handler', files: [{ path: 'main.py', contentBase64: Buffer.from(main).toString('base64') }, { path: 'data.db', contentBase64: db }] });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(c.platform.api, name, 1);
    assert.equal((await c.platform.api.call('PUT', `/functions/${name}/draft`, { baseVersion: 1, files: [{ path: 'main.py', content: py('def handler(event, context):', '    return 2') }], removed: [] })).status, 200);

    const { page, problems } = await c.page({ hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    await page.getByTestId('check-state').getByText('✓ no problems').waitFor();
    assert.equal(await page.getByTestId('code-warnings').count(), 0, 'the check of the text files warns of nothing');
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.locator('.fn-head').getByText('version 2').waitFor({ timeout: 60_000 });
    const warnings = page.getByTestId('code-warnings');
    await warnings.getByText('1 warning').waitFor();
    await warnings.locator('summary').click();
    assert.equal(await warnings.getByText(/^data\.db a SQLite database: deployed files are read-only/).count(), 1, 'said once, by the upload');
    await warnings.getByText('(said by version 2\'s upload)').waitFor();
    // Not kept with the version (ADR 0277): the list says so, and where to hear them again.
    await warnings.getByText(/not kept with the version .*fastapi-platform validate/).waitFor();
    assert.deepEqual(problems, []);
  });

  it("a deploy whose upload checked nothing says why (warningsSkipped), not silence (console round 12)", async () => {
    const name = fnName('cskip');
    await createFunction(c.platform.api, name);
    // A version over 4 MiB is not checked at upload (ADR 0248): its answer says why instead of warnings.
    const big = randomBytes(4 * 1024 * 1024 + 1024);
    const sha256 = createHash('sha256').update(big).digest('hex');
    const put = await fetch(`${c.platform.url}/api/v1/blobs/${sha256}`, { method: 'PUT', headers: { authorization: `Bearer ${c.platform.api.token!}` }, body: big });
    assert.ok(put.status === 201 || put.status === 200, String(put.status));
    const main = py('def handler(event, context):', '    return 1');
    const up = await c.platform.api.call('POST', `/functions/${name}/versions`, { entrypoint: 'main:handler', files: [{ path: 'main.py', contentBase64: Buffer.from(main).toString('base64') }, { path: 'model.bin', sha256, size: big.length }] });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.match(String(up.body.warningsSkipped), /over 4 MiB/);
    await deploy(c.platform.api, name, 1);
    assert.equal((await c.platform.api.call('PUT', `/functions/${name}/draft`, { baseVersion: 1, files: [{ path: 'main.py', content: py('def handler(event, context):', '    return 2') }], removed: [] })).status, 200);

    const { page, problems } = await c.page({ hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    await page.getByTestId('check-state').getByText('✓ no problems').waitFor();
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.locator('.fn-head').getByText('version 2').waitFor({ timeout: 60_000 });
    const unchecked = page.getByTestId('upload-unchecked');
    await unchecked.waitFor();
    assert.match((await unchecked.textContent()) ?? '', /^Version 2's upload checked nothing for warnings: the version's files are over 4 MiB/);
    assert.deepEqual(problems, []);
  });
});
