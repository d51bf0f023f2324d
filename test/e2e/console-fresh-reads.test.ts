/**
 * What a console page reads when it is opened, not at its next poll (console round 15). A function's
 * page reads the function every 5 s; its Settings tab opened in the seconds after a change made
 * elsewhere (another tab, the CLI) showed the settings as they were, and a save of that form over
 * them went back on the change. The page's clock is held here, so no poll comes to the rescue.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleSkip, useConsole } from './console-harness.js';
import { deployed, fnName, py } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** Moves the page's held clock `ms` forward in steps (its effects and renders run on its frames) until `check` holds; false when it never did. */
async function within(page: Page, ms: number, check: () => Promise<boolean>): Promise<boolean> {
  for (let t = 0; t < ms; t += 100) {
    if (await check()) return true;
    await page.clock.runFor(100);
    await new Promise((r) => setTimeout(r, 30)); // a read on its way answers in real time
  }
  return check();
}

describe('the console reads what it shows when it is opened (console round 15)', { skip }, () => {
  it('the Settings tab opened right after a change made in another page shows the change, without waiting for the poll', async () => {
    const name = fnName('fresh');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"') });
    const a = await c.page({ hash: `#/functions/${name}/code`, clock: true });
    await a.page.locator('.cm-content').waitFor();
    // Page A's clock held just after its 5 s poll read the function: the next one is ~5 s of its time away.
    let polls = 0;
    a.page.on('request', (r) => { if (r.url().includes(`/functions/${name}/usage?window=1m`)) polls++; });
    await a.page.clock.pauseAt(Date.now() + 1000);
    const before = polls;
    assert.ok(await within(a.page, 6000, async () => polls > before), 'page A never polled');
    await new Promise((r) => setTimeout(r, 500));

    // Page B changes the retries from Settings.
    const b = await c.page({ hash: `#/functions/${name}/settings` });
    await b.page.locator('#re-attempts').fill('7');
    await b.page.getByRole('button', { name: 'Save retries' }).click();
    await b.page.getByTestId('status-retry').getByText('Retries saved.').waitFor();
    assert.equal(((await c.platform.api.call('GET', `/functions/${name}`)).body as { function: { retry: { maxAttempts: number } } }).function.retry.maxAttempts, 7);

    // Page A opens Settings well before its next poll: it shows 7, not the 1 it read before.
    await a.page.getByRole('tab', { name: 'Settings' }).click();
    const attempts = a.page.locator('#re-attempts');
    const shown = await within(a.page, 2500, async () => await attempts.count() === 1 && await attempts.inputValue() === '7');
    assert.ok(shown, `Settings showed attempts ${await attempts.inputValue()}, read before the change`);
    assert.deepEqual([...a.problems, ...b.problems], []);
    await Promise.all([a.context.close(), b.context.close()]);
  });
});
