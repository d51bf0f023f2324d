/**
 * A new user's first hour in the console (console round 14): what tripped a FastAPI developer who
 * only uses the browser. Settings typed and not saved were dropped without a word when another tab
 * (Code, to look at platform.yaml) was opened and the Settings tab again; the Invoke tab sent a
 * path with a space as typed, and the API refused it (`INVALID_FIELD`); on a phone the function's tabs after Logs
 * (Settings, Data, Usage) were past the edge of a strip scrolled sideways, with nothing showing they were there; a token made for CI
 * said how to log in, not how a CI job (no login) uses it; the Code tab of a function with no version had a
 * Versions heading over nothing; a warning of the check that told why a deploy would fail (an import the runtime does
 * not provide) sat in a closed list under "✓ no problems".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleSkip, eventually, textOf, typeAtEnd, useConsole } from './console-harness.js';
import { createFunction, deploy, deployed, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** The ids and values of the Settings tab's inputs. */
async function inputs(page: Page): Promise<Record<string, string>> {
  return page.locator('main').evaluate((m) => Object.fromEntries([...m.querySelectorAll('input[id]')].map((i) => [i.id, (i as unknown as { value: string }).value])));
}

/** Opens the Code tab (its editor shown), then the Settings tab again: the tab is mounted anew. */
async function viaCodeTab(page: Page): Promise<void> {
  await page.getByRole('tab', { name: 'Code' }).click();
  await page.locator('.cm-content').waitFor();
  await page.getByRole('tab', { name: 'Settings' }).click();
}

describe('the console in a new user\'s first hour', { skip }, () => {
  it('Settings typed and not saved are still there after another tab, saved as typed, and a change made elsewhere meanwhile is not undone', async () => {
    const name = fnName('keepset');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"') });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings` });
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.locator('#env-k-0').fill('GREETING');
    await page.locator('#env-v-0').fill('héllo ✓');
    await page.locator('#lim-timeout').fill('45s');
    await page.locator('#sec-name').fill('API_KEY');
    await page.locator('#sec-value').fill('s3cr3t');
    // A look at the Code tab, and back: nothing typed is gone.
    await viaCodeTab(page);
    await page.locator('#lim-timeout').waitFor();
    const back = await inputs(page);
    assert.equal(back['env-k-0'], 'GREETING');
    assert.equal(back['env-v-0'], 'héllo ✓');
    assert.equal(back['lim-timeout'], '45s');
    assert.equal(back['sec-name'], 'API_KEY');
    assert.equal(back['sec-value'], 's3cr3t');
    // Unchanged forms show the function as it is now: the retries changed elsewhere meanwhile are shown.
    assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { retry: { maxAttempts: 5 } })).status, 200);
    // The page's 5 s poll reads the function again (its contract card, drawn from it, says so), then the tab is visited again.
    await eventually(async () => assert.match(await textOf(page.locator('main')), /5 attempts/));
    await viaCodeTab(page);
    await page.locator('#re-attempts').waitFor();
    assert.equal(await page.locator('#re-attempts').inputValue(), '5');
    assert.equal(await page.locator('#lim-timeout').inputValue(), '45s');
    // Saved as typed.
    await page.getByRole('button', { name: 'Save environment' }).click();
    await page.getByTestId('status-env').getByText('Environment saved.').waitFor();
    await page.getByRole('button', { name: 'Set secret' }).click();
    await page.getByTestId('status-secrets').getByText('Secret API_KEY set.').waitFor();
    await page.getByRole('button', { name: 'Save limits' }).click();
    await page.getByTestId('status-limits').getByText('Limits saved.').waitFor();
    const fn = (await c.platform.api.call('GET', `/functions/${name}`)).body as { function: { env: Record<string, string>; secrets: string[]; limits: { timeoutMs: number } } };
    assert.deepEqual(fn.function.env, { GREETING: 'héllo ✓' });
    assert.deepEqual(fn.function.secrets, ['API_KEY']);
    assert.equal(fn.function.limits.timeoutMs, 45_000);
    // Saved, nothing is held: the next visit shows the function's values, the secret's fields empty.
    await viaCodeTab(page);
    await page.locator('#env-v-0').waitFor();
    assert.deepEqual([await page.locator('#env-v-0').inputValue(), await page.locator('#sec-name').inputValue(), await page.locator('#sec-value').inputValue()], ['héllo ✓', '', '']);

    // A change kept unsaved over a visit is still refused when the setting changed since it was read (ADR 0159).
    await page.locator('#env-v-0').fill('mine');
    await page.getByRole('tab', { name: 'Code' }).click();
    await page.locator('.cm-content').waitFor();
    assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { env: { GREETING: 'héllo ✓', OTHER: '1' } })).status, 200);
    await page.getByRole('tab', { name: 'Settings' }).click();
    assert.equal(await page.locator('#env-v-0').inputValue(), 'mine');
    await page.getByRole('button', { name: 'Save environment' }).click();
    await page.getByTestId('status-env').getByRole('alert').getByText('The environment was changed since this page read it', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Load the current values' }).click();
    await page.getByRole('button', { name: 'Save environment' }).click();
    await page.getByTestId('status-env').getByText('Environment saved.').waitFor();
    const after = (await c.platform.api.call('GET', `/functions/${name}`)).body as { function: { env: Record<string, string> } };
    assert.deepEqual(after.function.env, { GREETING: 'mine', OTHER: '1' });
    assert.deepEqual(problems.filter((p) => !/status of 40[49]/.test(p)), []);
    await context.close();
  });

  it('Settings with a change not saved ask before the page is reloaded', async () => {
    const name = fnName('askset');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"') });
    const { page, context } = await c.page({ hash: `#/functions/${name}/settings` });
    await page.locator('#lim-timeout').fill('45s');
    const asked = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.type()); void d.dismiss(); }));
    // Chromium asks only on a page the user interacted with: the fill above counts.
    const reloaded = page.reload({ timeout: 10_000 }).then(() => 'reloaded without asking', () => 'not reloaded');
    assert.equal(await Promise.race([asked, reloaded]), 'beforeunload');
    assert.equal(await page.locator('#lim-timeout').inputValue(), '45s');
    await context.close();
  });

  it('on a phone (390 px) every tab of a function is in sight, none past the edge of a strip scrolled sideways', async () => {
    const name = fnName('phone');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"') });
    const { page, context } = await c.page({ viewport: { width: 390, height: 844 }, hash: `#/functions/${name}/logs` });
    const tabs = page.getByRole('tablist', { name: 'Function' }).getByRole('tab');
    await tabs.first().waitFor();
    const outside: string[] = [];
    for (const tab of await tabs.all()) {
      const box = (await tab.boundingBox())!;
      if (box.x < 0 || box.x + box.width > 390) outside.push(await textOf(tab));
    }
    assert.deepEqual(outside, []);
    assert.equal(await tabs.count(), 8);
    await context.close();
  });

  it('a function not deployed yet says it has no version under Versions, until its first deploy', async () => {
    const name = fnName('noversion');
    await createFunction(c.platform.api, name);
    const { page, context } = await c.page({ hash: `#/functions/${name}/code` });
    const none = page.getByTestId('versions-none');
    await none.waitFor();
    assert.equal(await textOf(none), 'None yet: Deploy… makes version 1.');
    await page.getByTestId('code-empty').getByRole('button', { name: 'Start from the http template' }).click();
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /no problems/));
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.locator('#version-history').getByText('v1').waitFor();
    assert.equal(await none.count(), 0);
    await context.close();
  });

  it('a warning of the check is counted beside "no problems" and shown open: the import that stops the start is in sight before Deploy', async () => {
    const name = fnName('warned');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"') });
    const { page, context } = await c.page({ hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    await typeAtEnd(page, '\nimport no_such_pkg_c14\n');
    await eventually(async () => assert.equal(await textOf(page.getByTestId('check-state')), '✓ no problems · 1 warning'));
    const warnings = page.getByTestId('code-warnings');
    assert.equal(await warnings.evaluate((d) => (d as unknown as { open: boolean }).open), true);
    assert.ok(await warnings.getByText(/imports 'no_such_pkg_c14', a third-party module that the runtime does not provide/).isVisible());
    assert.match(await textOf(page.getByRole('region', { name: 'Problems' })), /the warning below may still stop the code from starting/);
    await context.close();
  });

  it('a token made for CI says how a CI job uses it: FP_URL and FP_TOKEN, no login', async () => {
    const { page, context, problems } = await c.page({ hash: '#/tokens' });
    await page.getByLabel('Label').fill(fnName('ci'));
    await page.getByLabel('Role').selectOption('deployer');
    await page.getByRole('button', { name: 'Create token' }).click();
    const ci = page.getByTestId('token-created').getByTestId('token-ci');
    await ci.waitFor();
    const said = await textOf(ci);
    // The platform's address, not the console's own host (console.<base>), as the login line says it.
    assert.ok(said.includes(`FP_URL=${new URL(page.url()).origin.replace('//console.', '//')} and FP_TOKEN`), said);
    assert.ok(said.includes('npx fastapi-platform deploy then needs no login'), said);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the Invoke tab sends a path with a space percent-encoded, and its curl line says it so', async () => {
    const name = fnName('spaced');
    const app = py(
      'from fastapi import FastAPI',
      'app = FastAPI()',
      '@app.get("/items/{name}")',
      'def item(name: str, q: str = ""):',
      '    return {"name": name, "q": q}',
    );
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'app.py': app }, { entrypoint: 'app:app' });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.getByLabel('Method').selectOption('GET');
    await page.getByLabel('Path').fill('/items/two wörds?q=a b');
    assert.match(await textOf(page.locator('main')), /\/items\/two%20wörds\?q=a\+b'/);
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    assert.deepEqual(JSON.parse(await textOf(page.getByTestId('response-body'))), { name: 'two wörds', q: 'a b' });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
