/**
 * The Code tab's version history says which version did not start at its last deploy (ADR 0252;
 * console round 16): it read like any other, with "Deploy vN" offered as for one that served. The
 * badge names the code, the message is the deploy's (controls escaped), and "Deploy vN" says so
 * before it asks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
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
});
