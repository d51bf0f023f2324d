/**
 * The functions list with many functions, or a slow link (console round 6): the list waited for
 * every function's two usage reads before it showed a row (200 functions: 8.7 s of "Loading
 * functions…"; over a 400 ms link, nothing after 3 minutes, as the 15 s poll started the whole
 * pass again before it ended). Here the usage reads are held back: the rows must show at once,
 * the poll must not start a second pass while the first is on its way, and the numbers fill in
 * when the reads answer; meanwhile a deployed function's state is not said ("cold" of a warm one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Route } from 'playwright-core';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, deployed, handlerReturning } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

describe('the console functions list with slow usage reads', { skip }, () => {
  it('shows its rows before their numbers, starts no second pass while one is going, and fills the numbers in', async () => {
    const names = ['many-a', 'many-b', 'many-c'];
    await deployed(c.platform.api, names[0]!, handlerReturning(1));
    assert.equal((await fetch(`${c.platform.url}/fn/${names[0]}/`, { method: 'POST', body: '{}' })).status, 200);
    for (const n of names.slice(1)) await createFunction(c.platform.api, n);
    const { page, problems } = await c.page({ clock: true });
    const held: Route[] = [];
    await page.route(/\/api\/v1\/functions\/[^/]+\/usage/, (route) => { held.push(route); });
    await page.reload();
    const rows = page.locator('table[aria-label="Functions"] tbody tr');
    // The rows, with no number yet: the list no longer waits for them.
    await eventually(async () => assert.equal(await rows.count(), names.length), 10_000);
    // A warm function whose numbers are not read yet is not called cold: its state is not said yet.
    assert.match(await textOf(rows.first()), /many-a\s*…\s*—/);
    await eventually(async () => assert.equal(held.length, 6)); // six at a time: every function's two reads
    // The 15 s poll while those are held: the list is read again, no second pass of usage reads.
    await page.clock.fastForward(16_000);
    await page.clock.fastForward(16_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(held.length, 6);
    assert.equal(await rows.count(), names.length);
    for (const r of held.splice(0)) await r.continue();
    await page.unroute(/\/api\/v1\/functions\/[^/]+\/usage/);
    await eventually(async () => assert.equal(await rows.first().locator('td[data-label="Invocations"]').textContent(), '1'));
    assert.equal(await textOf(rows.first().locator('td[data-label="Status"]')), 'warm');
    assert.equal(await textOf(rows.nth(1).locator('td[data-label="Status"]')), 'not deployed');
    assert.deepEqual(problems, []);
  });
});
