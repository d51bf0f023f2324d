/**
 * Deploying from the console's Code tab when the code declares dependencies (docs/console.md,
 * docs/dependencies.md): the deploy waits for the version's dependency build, shows its progress,
 * then deploys; a build that fails shows its DEPS_* code and the active version keeps serving.
 * Real Chromium, a real platform, a builder resolving from wheels this test writes (never the network).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeWheel } from '../helpers/wheels.js';
import { consoleSkip, useConsole } from './console-harness.js';
import { fnName, py } from './platform-harness.js';

const wheels = mkdtempSync(join(tmpdir(), 'fp-console-wheels-'));
after(() => rmSync(wheels, { recursive: true, force: true }));
writeWheel(wheels, { name: 'gamma', version: '2.0', modules: { 'gamma.py': 'NAME = "gamma-2.0"\n' } });

const skip = consoleSkip();
const c = useConsole({ poolSize: 1, depsIndexUrl: 'none', depsFindLinks: wheels }, skip);

const MAIN = py('import gamma', 'def handler(event, context):', '    return {"gamma": gamma.NAME}');

describe('the console deploys code with dependencies', { skip }, () => {
  it('waits for the dependency build, then deploys; a failed build shows its code and changes nothing', async () => {
    const name = fnName('cdeps');
    assert.equal((await c.platform.api.call('POST', '/functions', { name })).status, 201);
    const draft = (requirements: string) => ({ baseVersion: null, files: [{ path: 'main.py', content: MAIN }, { path: 'requirements.txt', content: requirements }], removed: [] });
    assert.equal((await c.platform.api.call('PUT', `/functions/${name}/draft`, draft('gamma==2.0\n'))).status, 200);

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.locator('.fn-head').getByText('version 1').waitFor({ timeout: 120_000 });
    const res = await fetch(`${c.platform.url}/fn/${name}/`);
    assert.deepEqual([res.status, await res.json()], [200, { gamma: 'gamma-2.0' }]);

    // A requirement no index holds: the build fails, the dialog says DEPS_NOT_FOUND, version 1 keeps serving.
    await page.getByRole('tab', { name: 'Code' }).click();
    await page.locator('.cm-content').waitFor();
    await page.getByRole('option', { name: /^requirements\.txt/ }).click();
    const content = page.locator('.cm-content');
    await content.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\nnosuchpackage-fp==1.0\n');
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.getByRole('alert').getByText('DEPS_NOT_FOUND').waitFor({ timeout: 120_000 });
    assert.match(await page.getByRole('dialog').getByRole('alert').innerText(), /version 2's dependencies did not install/);
    // The version is in the history, marked with the build's code (ADR 0252; console round 16: it read as any other).
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    const marked = page.getByRole('list', { name: 'Version history' }).getByTestId('start-failed-2');
    await marked.waitFor();
    assert.match(await marked.innerText(), /did not start\s*DEPS_NOT_FOUND/);
    const fn = await c.platform.api.call('GET', `/functions/${name}`);
    assert.equal(fn.body.function.activeVersion, 1);
    const again = await fetch(`${c.platform.url}/fn/${name}/`);
    assert.deepEqual(await again.json(), { gamma: 'gamma-2.0' });

    assert.deepEqual(problems, []);
    await context.close();
  });
});
