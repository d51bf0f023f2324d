/**
 * Console round 13: axe-core (a devDependency, injected into the page by this test, never in the
 * console's bundle) run on every page and state of the console, in the light and the dark scheme,
 * for the rules of WCAG 2.1 A and AA, and again at a phone's 360 px, where the page must not scroll
 * sideways. A violation fails the test, so a new one cannot land unseen.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { consoleSkip, eventually, useConsole } from './console-harness.js';
import { createFunction, deployed, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** WCAG 2.1 A and AA, and axe's best practices (landmarks, heading order, one main), which the console meets too. */
const RULES = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line per element. */
async function violations(page: Page): Promise<string[]> {
  // Injected through the DevTools protocol: the console's CSP allows no inline script, and needs not.
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE);
  return page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(RULES)} }, resultTypes: ['violations'] })
    .then((r) => r.violations.flatMap((v) => v.nodes.map((n) => v.id + ' @ ' + n.target.join(' ') + ': ' + (n.any.concat(n.all, n.none).map((x) => x.message).join('; ')))))`);
}

/** How far the page scrolls sideways, and the outermost elements past its right edge (page code, as text). */
const SIDEWAYS = `(() => {
  const doc = document.scrollingElement;
  const past = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > doc.clientWidth + 1));
  return [doc.scrollWidth - doc.clientWidth, past.slice(0, 3).map((el) => el.tagName.toLowerCase() + '.' + [...el.classList].join('.')).join(', ')];
})()`;

/** Checks the page in both schemes once `ready` shows (and nothing says Loading… any more). */
async function audit(page: Page, state: string, ready: Locator, found: string[]): Promise<void> {
  await ready.first().waitFor();
  await eventually(async () => assert.equal(await page.getByText(/^Loading…$/).count(), 0));
  // Charts draw once their chunk loaded: measured drawn (a canvas drawn wide held the page wide at 360 px).
  await eventually(async () => assert.equal(await page.locator('.chart-box:not([data-rendered])').count(), 0));
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const v of await violations(page)) found.push(`${state} (${scheme}): ${v}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  // A phone's width: the page itself does not scroll sideways (a table scrolls in its own box, reachable by Tab).
  await page.setViewportSize({ width: 360, height: 800 });
  // What follows the width (a chart's ResizeObserver) is given a moment.
  const wide = await eventually(async () => {
    const [by, what] = await page.evaluate(SIDEWAYS) as [number, string];
    if (by > 0) throw Object.assign(new Error('sideways'), { said: `the page scrolls ${by} px sideways (${what})` });
    return '';
  }, 2000).catch((err: { said?: string }) => err.said ?? String(err));
  if (wide !== '') found.push(`${state} (360 px): ${wide}`);
  for (const v of await violations(page)) found.push(`${state} (360 px): ${v}`);
  await page.setViewportSize({ width: 1360, height: 900 });
}

describe('the console against WCAG 2.1 A/AA (axe-core; console round 13)', { skip }, () => {
  it('every page and state has no violation, light and dark', async () => {
    const found: string[] = [];
    const { page, context, problems } = await c.page();
    const go = async (hash: string): Promise<void> => { await page.goto(`${c.platform.url}/console/${hash}`); };
    await audit(page, 'functions list, empty', page.getByText('No functions yet.'), found);
    // The check sees a violation when there is one (an unnamed button put in the page, then taken out).
    await page.evaluate(`document.querySelector('main').append(Object.assign(document.createElement('button'), { id: 'unnamed' }))`);
    assert.match((await violations(page)).join('\n'), /^button-name @ #unnamed/m);
    await page.evaluate(`document.getElementById('unnamed').remove()`);

    const good = fnName('good');
    const bad = fnName('bad');
    await deployed(c.platform.api, good, { 'main.py': py('def handler(event, context):', '    print("hello")', '    return {"ok": True}') });
    await deployed(c.platform.api, bad, { 'main.py': py('def handler(event, context):', '    raise ValueError("no")') });
    assert.equal((await c.platform.api.call('POST', `/functions/${good}/invoke`, { method: 'GET' })).status, 200);
    const failed = await c.platform.api.call('POST', `/functions/${bad}/invoke`, { method: 'GET' });
    const runId = failed.body.runId as string;
    assert.equal((await c.platform.api.call('PATCH', `/functions/${good}`, { env: { PLAIN: 'ok' }, secrets: { TOKEN: 'a-secret-value' } })).status, 200);

    await go('#/functions');
    await audit(page, 'functions list', page.locator(`tr[data-function="${bad}"]`), found);
    // A version its deploy refused: the history marks it (ADR 0252).
    await upload(c.platform.api, good, { 'main.py': py('import no_such_module_here') });
    assert.equal((await c.platform.api.call('POST', `/functions/${good}/deploy`, {})).status, 422);
    await go(`#/functions/${good}/code`);
    await audit(page, 'code', page.locator('.cm-content'), found);
    await audit(page, 'code, a version that did not start', page.locator('.start-failed'), found);
    await go(`#/functions/${good}/invoke`);
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await audit(page, 'invoke', page.getByTestId('invoke-said').getByText(/^HTTP 200/), found);
    await go(`#/functions/${bad}/runs`);
    await audit(page, 'runs', page.getByRole('table', { name: 'Runs' }).locator('tbody tr'), found);
    await go(`#/functions/${bad}/runs?run=${runId}`);
    await audit(page, 'a run with an error', page.getByTestId('run-detail').getByText('ValueError'), found);
    await go(`#/functions/${good}/logs`);
    await page.getByTestId('live-tail').check();
    await audit(page, 'logs, live tail', page.getByTestId('tail-state').getByText('live', { exact: true }), found);
    await go(`#/functions/${good}/settings`);
    await audit(page, 'settings', page.getByText('TOKEN'), found);
    for (const tab of ['triggers', 'data', 'usage']) {
      await go(`#/functions/${good}/${tab}`);
      await audit(page, tab, page.getByRole('tab', { name: new RegExp(tab, 'i'), selected: true }), found);
    }
    for (const [hash, state, heading] of [['#/new', 'new function', 'New function'], ['#/tokens', 'tokens', 'Tokens'], ['#/audit', 'audit', 'Audit'], ['#/workspaces', 'workspaces', 'Workspaces'], ['#/coldstarts', 'cold starts', 'Cold starts'], ['#/nowhere', 'page not found', 'Page not found'], ['#/functions/nothing-here', 'function not found', 'nothing-here']] as const) {
      await go(hash);
      await audit(page, state, page.getByRole('heading', { name: heading }), found);
    }

    const drafty = fnName('drafty');
    await createFunction(c.platform.api, drafty);
    await go(`#/functions/${drafty}/code`);
    await page.getByRole('button', { name: 'Start from the http template' }).click();
    await eventually(async () => assert.equal(await page.getByRole('button', { name: 'Deploy…' }).isEnabled(), true));
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await audit(page, 'deploy dialog', page.getByTestId('confirm-deploy'), found);

    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await audit(page, 'sign-in', page.getByLabel('Token'), found);
    assert.deepEqual(found, []);
    assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
    await context.close();
  });
});
