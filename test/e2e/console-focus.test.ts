/**
 * The keyboard's place after an action that takes its own control away (console round 10): a
 * removed secret's Remove, a deleted version's Delete, the Deploy vN of the version that now serves,
 * a revoked token's Revoke, a deleted workspace's Delete. The focus fell to the page's body (a screen
 * reader said nothing, Tab started over at the header); it goes to the named place around the control.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
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

/** Presses Enter on `name`'s button, accepts the question (when `asked`), and waits for the button to go. */
async function confirmFromKeyboard(page: Page, name: string, asked = true): Promise<void> {
  const button = page.getByRole('button', { name, exact: true });
  await button.focus();
  if (asked) page.once('dialog', (d) => void d.accept());
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

  it('the Invoke tab says a call in one line to a screen reader, not its whole answer, and says what an empty panel is for', async () => {
    const name = fnName('said');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {"long": "x" * 3000}') });
    await deploy(c.platform.api, name, 1);
    const made = await c.platform.api.call('POST', '/tokens', { role: 'invoker', label: 'said-invoker' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { page, problems } = await c.page({ hash: `#/functions/${name}/invoke`, token: made.body.secret as string });
    const response = page.getByRole('region', { name: 'Response' });
    // Empty panels say what they are for (they were blank cards).
    await response.getByText(/^No call yet: Invoke sends the request/).waitFor();
    await page.getByTestId('cases-none').getByText('No saved test cases (a deployer saves them, with their request).').waitFor();
    // The panel is not a live region as a whole (a screen reader read the 3,000-character body at each call): one status line is.
    assert.equal(await response.getAttribute('aria-live'), null);
    assert.equal(await page.locator('[aria-live] [data-testid="response-body"], [role="status"] [data-testid="response-body"]').count(), 0);
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    const said = await textOf(response.getByRole('status'));
    assert.match(said, /^HTTP 200, [\d.]+ ms, (cold start|warm)\.$/);
    assert.equal(await response.getByText(/^No call yet/).count(), 0);
    assert.match(await textOf(page.getByTestId('response-body')), /x{3000}/);

    // A test case deleted from the keyboard leaves the focus in the test cases' panel.
    const owner = await c.page({ hash: `#/functions/${name}/invoke` });
    await owner.page.getByTestId('cases-none').getByText(/^No saved test cases: name the request and Save it/).waitFor();
    for (const caseName of ['first', 'second']) {
      await owner.page.getByLabel('Test case name').fill(caseName);
      await owner.page.getByRole('button', { name: 'Save', exact: true }).click();
      await owner.page.getByRole('button', { name: `Delete ${caseName}`, exact: true }).waitFor();
    }
    // Console round 11: a test case's Delete is asked first, like every other delete; dismissed, nothing is sent.
    owner.page.once('dialog', (d) => void d.dismiss());
    await owner.page.getByRole('button', { name: 'Delete first', exact: true }).click();
    assert.equal((await c.platform.api.call('GET', `/functions/${name}/test-cases`)).body.items.length, 2, 'a dismissed Delete sends nothing');
    await confirmFromKeyboard(owner.page, 'Delete first');
    await focusedOn(owner.page, 'section Saved test cases');
    // A refusal (deleted elsewhere meanwhile) is said under its row, not in the Response panel.
    assert.equal((await c.platform.api.call('DELETE', `/functions/${name}/test-cases/second`)).status, 204);
    owner.page.once('dialog', (d) => void d.accept());
    await owner.page.getByRole('button', { name: 'Delete second', exact: true }).click();
    const row = owner.page.locator('.cases li', { has: owner.page.getByRole('button', { name: 'Delete second', exact: true }) });
    await row.getByTestId('case-row-error').getByText('TEST_CASE_NOT_FOUND').waitFor();
    assert.equal(await owner.page.getByTestId('invoke-result').getByRole('alert').count(), 0, 'the Response panel says nothing of it');
    assert.deepEqual([...problems, ...owner.problems], []);
  });

  it('Copy says whether it copied: without the Clipboard API (plain http from another machine) it copies the older way, or says to copy by hand', async () => {
    const name = fnName('copy');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    // A page that is no secure context has no navigator.clipboard: Copy did nothing and said nothing.
    await page.addInitScript('Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined, configurable: true })');
    await page.reload();
    const header = page.locator('.meta.url').first();
    const url = await textOf(header.locator('code'));
    await header.getByRole('button', { name: 'Copy URL' }).click();
    await header.getByRole('status').getByText('Copied.').waitFor();
    await header.getByRole('button', { name: 'Copied' }).waitFor();
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const reader = await context.newPage();
    await reader.goto(`${c.platform.url}/console/`);
    assert.equal(await reader.evaluate('navigator.clipboard.readText()'), url);
    await reader.close();

    // Refused that way too: said at the button, and not "Copied".
    await page.evaluate('document.execCommand = () => false');
    await header.getByRole('button', { name: 'Copy URL' }).click();
    await header.getByRole('status').getByText(/^Not copied: this browser gave the page no clipboard\. Select the text and copy it by hand\.$/).waitFor();
    assert.equal(await header.getByRole('button', { name: 'Copied' }).count(), 0);
    assert.deepEqual(problems, []);
  });
});
