/**
 * The Code tab's version history says which version did not start at its last deploy (ADR 0252;
 * console round 16): it read like any other, with "Deploy vN" offered as for one that served. The
 * badge names the code, the message is the deploy's (controls escaped), and "Deploy vN" says so
 * before it asks. A deploy from the Code tab that is refused lists its version so at once (it was
 * not listed until a reload), and a first deploy refused is told the same in the tab, the header and
 * the functions list: no version deployed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, setEditorText, textOf, useConsole } from './console-harness.js';
import { createFunction, deploy, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

describe('the console: a version that did not start', { skip }, () => {
  it('is marked in the history with its code and message, and Deploy vN asks with what it found', async () => {
    const name = fnName('vstart');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {}') });
    await deploy(c.platform.api, name);
    const broken = await upload(c.platform.api, name, { 'main.py': py('raise RuntimeError("bad \\u202egnp.exe config")') });
    const refused = await c.platform.api.call('POST', `/functions/${name}/deploy`, { version: broken });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    const history = page.getByRole('list', { name: 'Version history' });
    const marked = history.getByTestId(`start-failed-${broken}`);
    await marked.waitFor();
    const said = await textOf(marked);
    assert.match(said, /did not start\s*DEPLOY_START_FAILED/);
    assert.ok(said.includes('RuntimeError: bad \\u202egnp.exe config'), JSON.stringify(said));
    assert.equal(/\u202e/.test(said), false, 'no raw control reached the page');
    assert.equal(await history.getByTestId('start-failed-1').count(), 0, 'the version that started has no mark');

    // Deploy v2 says what its last deploy found before it asks; dismissed, nothing changes.
    const asked: string[] = [];
    page.once('dialog', (d) => { asked.push(d.message()); void d.dismiss(); });
    await page.getByRole('button', { name: `Deploy v${broken}` }).click();
    await eventually(async () => assert.equal(asked.length, 1));
    assert.match(asked[0]!, new RegExp(`^Version ${broken} did not start at its last deploy \\(DEPLOY_START_FAILED\\): version ${broken} did not start: RuntimeError`));
    assert.match(asked[0]!, /Serve version 2 instead of version 1\?/);
    assert.equal((await c.platform.api.call('GET', `/functions/${name}`)).body.function.activeVersion, 1);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a deploy refused in the Code tab lists its version as not started at once; the tab, the header and the list agree on what serves', async () => {
    const name = fnName('vfirst');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    await page.getByRole('button', { name: 'Start from the http template' }).click();
    await page.locator('.cm-content').waitFor();
    const good = 'def handler(event, context):\n    return {"ok": True}\n';
    const deployHere = async (expectRefused: boolean): Promise<void> => {
      await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /no problems/));
      await page.getByRole('button', { name: 'Deploy…' }).click();
      await page.getByTestId('confirm-deploy').click();
      if (expectRefused) {
        await page.getByTestId('start-failure').waitFor();
        await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      } else {
        await page.getByRole('dialog').waitFor({ state: 'hidden' });
      }
    };
    const history = page.getByRole('list', { name: 'Version history' });
    const header = page.locator('.fn-head .meta').first();

    // The first deploy is refused: version 1 is listed, marked, and nothing says a version serves.
    await setEditorText(page, `import no_such_module_here\n${good}`);
    await deployHere(true);
    await history.getByTestId('start-failed-1').waitFor();
    assert.match(await textOf(page.getByTestId('draft-state')), /no version deployed yet/);
    assert.match(await textOf(header), /not deployed/);
    assert.doesNotMatch(await textOf(header), /version \d/);
    assert.equal(await history.getByText('active').count(), 0);

    // Fixed and deployed: version 2 serves; the header, the history and the list say so.
    await setEditorText(page, good);
    await deployHere(false);
    await eventually(async () => assert.match(await textOf(header), /version 2/));
    await eventually(async () => assert.match(await textOf(history.locator('li').first()), /^v2 · active/));
    assert.equal(await history.getByTestId('start-failed-2').count(), 0);
    await history.getByTestId('start-failed-1').waitFor();
    // The editor is over the version deployed before it is edited again (it loads it anew).
    await eventually(async () => assert.match(await textOf(page.getByTestId('draft-state')), /^editing over version 2$/));
    await page.locator('.cm-content').waitFor();

    // Broken again: version 3 is listed as not started at once, version 2 keeps serving everywhere.
    await setEditorText(page, `raise RuntimeError("no config")\n${good}`);
    await deployHere(true);
    await history.getByTestId('start-failed-3').waitFor();
    assert.match(await textOf(history.getByTestId('start-failed-3')), /DEPLOY_START_FAILED.*RuntimeError: no config/);
    assert.match(await textOf(header), /version 2/);
    assert.match(await textOf(page.getByTestId('draft-state')), /editing over version 2/);
    await page.goto(`${c.platform.url}/console/#/functions`);
    const row = page.locator(`tr[data-function="${name}"]`);
    await row.waitFor();
    await eventually(async () => assert.doesNotMatch(await textOf(row), /not deployed|…/));
    assert.deepEqual(problems, []);
    await context.close();
  });
});
