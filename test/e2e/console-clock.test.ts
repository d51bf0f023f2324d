/**
 * The console's timers against the page's own clock (console round 12): Playwright's clock paused,
 * jumped and resumed, so a timer set from a render's time, a state that waits for a moment with no
 * timer, or a poll skipped while the tab was hidden shows as what the page says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page, Route } from 'playwright-core';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { Api, createFunction, deployed, fnName, py } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** The tab hidden or shown, as the browser says it when the user switches tabs or the computer sleeps. */
async function tabShown(page: Page, shown: boolean): Promise<void> {
  await page.evaluate((state) => {
    const doc = (globalThis as unknown as { document: { dispatchEvent(e: unknown): void } }).document;
    Object.defineProperty(doc, 'visibilityState', { configurable: true, get: () => state });
    doc.dispatchEvent(new Event('visibilitychange'));
  }, shown ? 'visible' : 'hidden');
}

describe('the console timers (console round 12)', { skip }, () => {
  it("a token's row on the Tokens page turns expired at its expiry while the page is open", async () => {
    const hour = await c.platform.api.call('POST', '/tokens', { role: 'viewer', label: 'an hour', expiresIn: '1h' });
    assert.equal(hour.status, 201, JSON.stringify(hour.body));
    const { page, context, problems } = await c.page({ hash: '#/tokens', clock: true });
    const row = page.locator('table[aria-label="Tokens"] tbody tr', { hasText: 'an hour' });
    await eventually(async () => assert.match(await textOf(row), /active/));
    await page.clock.pauseAt(Date.now() + 1000);
    await page.clock.fastForward('59:00');
    assert.match(await textOf(row), /active/);
    await page.clock.fastForward('02:00');
    await page.clock.resume();
    // It said "active" until something else drew the page again.
    await eventually(async () => assert.match(await textOf(row), /expired 1m ago/), 5000);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a poll skipped while the tab was hidden runs when the tab comes back, not a whole period later', async () => {
    const { page, context, problems } = await c.page({ clock: true });
    // The first read answered (the count beside the search), so no read of the page's load is counted below.
    await page.locator('.toolbar .muted').getByText(/^\d+ of \d+$/).waitFor();
    let reads = 0;
    page.on('request', (r) => { if (r.method() === 'GET' && /\/api\/v1\/functions\?limit=/.test(r.url())) reads++; });
    await tabShown(page, false);
    await page.clock.fastForward('00:20');
    const hidden = reads;
    assert.equal(hidden, 0, 'read while hidden');
    await tabShown(page, true);
    // The functions list polls every 15 s: read again at once (within 3 s), not up to 15 s later.
    await eventually(async () => assert.equal(reads, 1), 3000);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("the live tail tells a screen reader a count of its new lines every few seconds, not each line; the box shows them at once", async () => {
    const name = fnName('chatty');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    for i in range(40):', '        print("chatty line", i)', '    return {}') });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/logs`, clock: true });
    await page.getByTestId('live-tail').check();
    await page.getByTestId('tail-state').getByText('live', { exact: true }).waitFor();
    const said = page.getByTestId('tail-said');
    assert.equal(await said.getAttribute('role'), 'status');
    await page.clock.pauseAt(Date.now() + 1000);
    const call = async (): Promise<void> => assert.equal((await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' })).status, 200);
    // The page's clock run in small steps until the lines show (the tail's batching is 100 ms): well under 5 s of it.
    const shown = async (lines: RegExp): Promise<void> => eventually(async () => {
      await page.clock.runFor(50);
      assert.match((await page.getByTestId('logs').allTextContents()).join(''), lines);
    });
    await call();
    await shown(/chatty line 39\n.*ended succeeded/s);
    // The lines' box is in no live region (it read out every line, one over the other).
    assert.equal(await page.locator('[aria-live] [data-testid="logs"], [role="status"] [data-testid="logs"], [role="log"], [data-testid="logs"][aria-live]').count(), 0);
    assert.equal(await textOf(said), '', 'nothing said yet');
    await page.clock.runFor(5000);
    await eventually(async () => assert.equal(await textOf(said), '41 new lines in the live tail (41 since it started).'));
    await call();
    await shown(/(chatty line 39\n.*){2}ended succeeded/s);
    assert.equal(await textOf(said), '41 new lines in the live tail (41 since it started).', 'said again before its time');
    await page.clock.runFor(5000);
    await eventually(async () => assert.equal(await textOf(said), '41 new lines in the live tail (82 since it started).'));
    await page.clock.resume();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("a function header's poll over a link slower than its period starts no second read while one is on its way", async () => {
    const name = fnName('slowlink');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings`, clock: true });
    await page.locator('.fn-head').waitFor();
    const usage = /\/usage\?window=1m$/;
    const held: Route[] = [];
    await page.route(usage, (route) => void held.push(route));
    await page.clock.pauseAt(Date.now() + 1000);
    // Periods run until a read is held (one of the page's load may still be on its way: no read then).
    await eventually(async () => {
      await page.clock.fastForward(5000);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(held.length, 1);
    }, 10_000);
    // Three more periods with that read on its way: no other read (each one dropped the one before).
    for (let i = 0; i < 3; i++) await page.clock.fastForward(5000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(held.length, 1, 'reads started while one was on its way');
    // Answered: the poll goes on.
    await held[0]!.continue();
    await page.unroute(usage);
    const next = page.waitForRequest(usage);
    await eventually(async () => {
      await page.clock.fastForward(5000);
      await Promise.race([next, new Promise((_, no) => setTimeout(() => no(new Error('no read yet')), 300))]);
    }, 10_000);
    await page.clock.resume();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('relative times move on while the page stays open, their moment kept as a <time> with a tooltip (console round 13)', async () => {
    const name = fnName('aging');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {}') });
    const used = await c.platform.api.call('POST', '/tokens', { role: 'viewer', label: 'used once' });
    assert.equal(used.status, 201, JSON.stringify(used.body));
    const secret = (used.body as { secret: string }).secret;
    assert.equal((await new Api(c.platform.url, secret).call('GET', '/whoami')).status, 200);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code`, clock: true });
    const version = page.getByRole('list', { name: 'Version history' }).locator('li').first().locator('time');
    // Seconds old (a loaded machine may take more than the 5 s of "just now" to show it).
    await eventually(async () => assert.match(await textOf(version), /^(just now|\d+s ago)$/));
    assert.ok(await version.getAttribute('title'), 'the moment as a tooltip');
    assert.match((await version.getAttribute('datetime'))!, /^\d{4}-\d\d-\d\dT/);
    await page.clock.pauseAt(Date.now() + 1000);
    await page.clock.fastForward('10:00');
    // (The Code tab is drawn again by its header's 5 s poll too; the Tokens page below has no poll.)
    await eventually(async () => assert.equal(await textOf(version), '10m ago'), 5000);
    await page.clock.resume();
    // The page's clock is 10 minutes ahead now: the token was used 10 minutes ago by it.
    await page.goto(`${c.platform.url}/console/#/tokens`);
    const lastUse = page.locator('table[aria-label="Tokens"] tbody tr', { hasText: 'used once' }).locator('td time');
    await eventually(async () => assert.equal(await textOf(lastUse), '10m ago'));
    await page.clock.pauseAt(await page.evaluate(() => Date.now()) + 1000);
    await page.clock.fastForward('10:00');
    // It said "10m ago" for as long as the page stayed open (console round 13).
    await eventually(async () => assert.equal(await textOf(lastUse), '20m ago'), 5000);
    await page.clock.resume();
    assert.deepEqual(problems, []);
    await context.close();
  });
});
