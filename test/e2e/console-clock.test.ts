/**
 * The console's timers against the page's own clock (console round 12): Playwright's clock paused,
 * jumped and resumed, so a timer set from a render's time, a state that waits for a moment with no
 * timer, or a poll skipped while the tab was hidden shows as what the page says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';

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
});
