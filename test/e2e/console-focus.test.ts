/**
 * The keyboard's place after an action that takes its own control away (console round 10): a
 * removed secret's Remove, a deleted version's Delete, the Deploy vN of the version that now serves,
 * a revoked token's Revoke, a deleted workspace's Delete. The focus fell to the page's body (a screen
 * reader said nothing, Tab started over at the header); it goes to the named place around the control.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleSkip, eventually, useConsole } from './console-harness.js';
import { createFunction, deploy, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** The focused element's role and accessible name, as a screen reader would announce where it is. */
async function focused(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const a = document.activeElement;
    if (a === null || a === document.body) return 'body';
    return a.tagName.toLowerCase() + ' ' + (a.getAttribute('aria-label') ?? a.id);
  })()`);
}

/** Waits for the focus to be on `where` (the list the control was in is drawn again after the change). */
async function focusedOn(page: Page, where: string): Promise<void> {
  await eventually(async () => assert.equal(await focused(page), where), 5_000);
}

/** Presses Enter on `name`'s button, accepts the question, and waits for the button to go. */
async function confirmFromKeyboard(page: Page, name: string): Promise<void> {
  const button = page.getByRole('button', { name, exact: true });
  await button.focus();
  page.once('dialog', (d) => void d.accept());
  await page.keyboard.press('Enter');
  await button.waitFor({ state: 'detached' });
}

describe('console: the focus after an action that removes its control', { skip }, () => {
  it('stays in the Secrets form, the Version history, the Tokens and Workspaces tables', async () => {
    const name = fnName('focus');
    await createFunction(c.platform.api, name);
    for (const n of [1, 2, 3]) {
      await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', `    return ${n}`) });
      await deploy(c.platform.api, name, n);
    }
    assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { secrets: { A_KEY: 'a', B_KEY: 'b' } })).status, 200);
    const { page, problems } = await c.page({ hash: `#/functions/${name}/settings` });

    await confirmFromKeyboard(page, 'Remove secret A_KEY');
    await page.getByText('Secret A_KEY removed.').waitFor();
    await focusedOn(page, 'form Secrets');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'button Remove secret B_KEY', 'Tab goes on from where the removed control was');

    await page.getByRole('tab', { name: 'Code' }).click();
    await confirmFromKeyboard(page, 'Delete version 2');
    await focusedOn(page, 'ol Version history');
    await confirmFromKeyboard(page, 'Deploy v1');
    await focusedOn(page, 'ol Version history');

    for (const label of ['focus-viewer', 'focus-other']) assert.equal((await c.platform.api.call('POST', '/tokens', { role: 'viewer', label })).status, 201);
    await page.goto(`${c.platform.url}/console/#/tokens`);
    await confirmFromKeyboard(page, 'Revoke focus-viewer');
    await focusedOn(page, 'table Tokens');

    const ws = `focus-${Date.now().toString(36)}`;
    assert.equal((await c.platform.api.call('POST', '/workspaces', { name: ws })).status, 201);
    await page.goto(`${c.platform.url}/console/#/workspaces`);
    await confirmFromKeyboard(page, `Delete ${ws}`);
    await focusedOn(page, 'table Workspaces');
    assert.deepEqual(problems, []);
  });
});
