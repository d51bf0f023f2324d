/**
 * Console round 8: the Runs and Logs tabs and the Audit page with a queue and long lists.
 * - A run waiting in the queue can be cancelled from its detail, asked first, as `runs cancel` does
 *   (the console offered no way: a call queued by mistake behind a slow one waited its turn).
 * - **Load more** pressed from the keyboard for the last page: the button goes, and the focus went
 *   with it to the page's top (Tab started over from the header); it now goes to the first row added.
 * - The Logs tab's run picker names each run with the id its log lines show: runs of the same second
 *   read the same ("11:02:23 AM · succeeded · http", ten times).
 * - A code of one word in a table (a run's FUNCTION_ERROR, an audit action) was broken at any letter.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { screenshot } from '../helpers/browser.js';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, deployed, fnName } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** Whether the element has the focus (typed by hand: this file is compiled without the DOM's types). */
async function focused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el: { ownerDocument: { activeElement: unknown } }) => el === el.ownerDocument.activeElement);
}

async function stateOf(runId: string): Promise<string | undefined> {
  return (await c.platform.api.call('GET', `/runs/${runId}`)).body.run?.state as string | undefined;
}

/**
 * A function that runs one call at a time, sleeping `sleep` seconds, with `calls` async calls made:
 * the first runs, the others wait in the queue behind it. Their run ids, in order.
 */
async function queuedBehindSleeper(name: string, calls: number, sleep: number): Promise<string[]> {
  await deployed(c.platform.api, name, { 'main.py': `import time\ndef handler(event, context):\n    time.sleep(${sleep})\n    return {"ok": True}\n` }, { invocation: 'both', limits: { timeout: `${sleep + 15}s`, concurrency: 1, maxInstances: 1 } });
  const ids: string[] = [];
  for (let i = 0; i < calls; i++) {
    const res = await fetch(`${c.platform.url}/async/${name}/`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 202);
    ids.push(((await res.json()) as { runId: string }).runId);
  }
  return ids;
}

/** Clicks `cancel` twice: the question dismissed (nothing is sent, the run waits on), then accepted. */
async function cancelAsked(page: Page, cancel: Locator, runId: string): Promise<void> {
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); void d.dismiss(); });
  await cancel.click();
  await eventually(async () => assert.match(asked, /leaves the queue and is not run/));
  assert.equal(await stateOf(runId), 'queued');
  page.once('dialog', (d) => void d.accept());
  await cancel.click();
}

describe('the console with a queue and long lists (console round 8)', { skip }, () => {
  it('cancels a run waiting in the queue from its detail, asked first; a running one offers no Cancel', async () => {
    // One call at a time: the second waits in the queue while the first sleeps.
    const name = fnName('queue');
    const ids = await queuedBehindSleeper(name, 2, 15);
    const [running, waiting] = ids as [string, string];
    await eventually(async () => assert.equal(await stateOf(running), 'running'));
    assert.equal(await stateOf(waiting), 'queued');

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?status=queued&run=${waiting}` });
    const detail = page.getByTestId('run-detail');
    const cancel = detail.getByRole('button', { name: 'Cancel run' });
    await cancel.waitFor();
    await cancelAsked(page, cancel, waiting);
    await eventually(async () => assert.equal(await textOf(detail.locator('.row .badge').first()), 'cancelled'));
    assert.match(await textOf(detail.getByRole('list', { name: 'Timeline' })), /cancelled by request/);
    assert.equal(await stateOf(waiting), 'cancelled');
    assert.equal(await cancel.count(), 0);
    // Its Cancel gone with the run's waiting, the focus stays in the run's detail (console round 10: it fell to the page's body).
    await eventually(async () => assert.ok(await focused(detail)));
    // The queued list beside it no longer has it.
    await eventually(async () => assert.equal(await page.locator('table[aria-label="Async runs"]').count(), 0));
    // A running run cannot be taken out of the queue: no Cancel.
    await page.goto(`${c.platform.url}/console/#/functions/${name}/runs?run=${running}`);
    await eventually(async () => assert.equal(await textOf(page.getByTestId('run-detail').locator('.row .badge').first()), 'running'));
    assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('cancels a queued run from its row in the queued list, asked first; a refusal is said at that row, the row read again (console round 9, loose ends round 8)', async () => {
    // One call at a time: the next two wait in the queue while the first sleeps.
    const name = fnName('rowcancel');
    const ids = await queuedBehindSleeper(name, 3, 25);
    const [running, gone, waiting] = ids as [string, string, string];
    await eventually(async () => assert.equal(await stateOf(running), 'running'));
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?status=queued` });
    const table = page.locator('table[aria-label="Async runs"]');
    await eventually(async () => assert.equal(await table.getByTestId('cancel-row').count(), 2));
    // Cancelled elsewhere (the CLI) after the list was read: its row's Cancel is refused, said there.
    assert.equal((await c.platform.api.call('POST', `/runs/${gone}/cancel`)).status, 200);
    page.once('dialog', (d) => void d.accept());
    await table.getByRole('button', { name: `Cancel run ${gone}` }).click();
    const refusal = table.getByTestId('cancel-row-error');
    await eventually(async () => assert.match(await textOf(refusal), /RUN_NOT_CANCELLABLE/));
    assert.equal(await refusal.count(), 1);
    // The refusal is the row's own: the row before it is the refused run's, read again: it shows the
    // run's state now, with no Cancel (loose ends round 8: it still said queued and offered Cancel).
    const refusedRow = refusal.locator('xpath=preceding-sibling::tr[1]');
    assert.match(await refusedRow.locator('a').getAttribute('href') ?? '', new RegExp(`run=${gone}`));
    await eventually(async () => assert.match(await textOf(refusedRow.locator('.badge')), /^cancelled$/));
    assert.equal(await table.getByRole('button', { name: `Cancel run ${gone}` }).count(), 0);
    assert.match(await textOf(refusal), /RUN_NOT_CANCELLABLE/);
    await cancelAsked(page, table.getByRole('button', { name: `Cancel run ${waiting}` }), waiting);
    await eventually(async () => assert.equal(await stateOf(waiting), 'cancelled'));
    // The list is read again: no run waits now.
    await eventually(async () => assert.equal(await table.count(), 0));
    assert.match(await textOf(page.locator('.runs-tab')), /No queued runs\./);
    assert.equal(await stateOf(running), 'running');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('Load more pressed from the keyboard for the last page leaves the focus on the first row added (Runs, Audit)', async () => {
    const name = fnName('pages');
    await deployed(c.platform.api, name, { 'main.py': 'def handler(event, context):\n    raise ValueError("no")\n' });
    for (let i = 0; i < 53; i++) assert.equal((await fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST', body: '{}' })).status, 500);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?status=failed` });
    const rows = page.locator('table[aria-label="Runs"] tbody tr');
    await eventually(async () => assert.equal(await rows.count(), 50));
    await page.getByRole('button', { name: 'Load more' }).focus();
    await page.keyboard.press('Enter');
    await eventually(async () => assert.equal(await rows.count(), 53));
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
    await eventually(async () => assert.equal(await focused(rows.nth(50).locator('a')), true, 'the focus is on the first added run'));

    // The Audit page: 51 functions created are 51 entries of one action, past its first page of 50.
    for (let i = 0; i < 51; i++) await createFunction(c.platform.api, fnName('audited'));
    await page.goto(`${c.platform.url}/console/#/audit?action=function.create`);
    const entries = page.locator('table[aria-label="Audit log"] tbody tr');
    await eventually(async () => assert.equal(await entries.count(), 50));
    await page.getByRole('button', { name: 'Load more' }).focus();
    await page.keyboard.press('Enter');
    await eventually(async () => assert.ok((await entries.count()) > 50));
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0);
    await eventually(async () => assert.equal(await focused(entries.nth(50).locator('th')), true, 'the focus is on the first added entry'));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a code of one word (a run\'s error code, an audit action) stays on one line, on a phone and a laptop', async () => {
    const name = fnName('words');
    await deployed(c.platform.api, name, { 'main.py': 'def handler(event, context):\n    raise ValueError("no")\n' });
    assert.equal((await fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST', body: '{}' })).status, 500);
    // Line boxes of each element: 1 when it is not broken.
    const lines = (locator: Locator): Promise<number[]> => locator.evaluateAll((els: { getClientRects: () => { length: number } }[]) => els.map((el) => el.getClientRects().length));
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs`, viewport: { width: 375, height: 800 } });
    await page.getByTestId('run-code').first().waitFor();
    assert.deepEqual(await lines(page.getByTestId('run-code')), [1], 'FUNCTION_ERROR broken');
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.goto(`${c.platform.url}/console/#/audit`);
    const actions = page.locator('table[aria-label="Audit log"] tbody td:nth-of-type(4) code'); // the Action column
    await actions.first().waitFor();
    const each = await lines(actions);
    assert.ok(each.length >= 3 && each.every((n) => n === 1), `action codes over several lines: ${JSON.stringify(each)} (${JSON.stringify(await actions.allTextContents())})`);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('at 375 px the Runs and Audit tables fit the screen: no sideways scroll, a date on at most 2 lines; wide, they keep their columns (console round 9)', async () => {
    const name = fnName('narrow');
    await deployed(c.platform.api, name, { 'main.py': 'def handler(event, context):\n    raise ValueError("no")\n' });
    for (let i = 0; i < 2; i++) assert.equal((await fetch(`${c.platform.url}/fn/${name}/items/${'x'.repeat(40)}`, { method: 'POST', body: '{}' })).status, 500);
    // Whether the page or a table scrolls sideways, and the line boxes of each date (1 when it is not broken).
    const fits = (page: Page): Promise<{ page: boolean; tables: boolean[]; dates: number[] }> => page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number }; querySelectorAll: (s: string) => ArrayLike<{ scrollWidth: number; clientWidth: number; getClientRects: () => { length: number } }> } }).document;
      return {
        page: doc.documentElement.scrollWidth <= doc.documentElement.clientWidth,
        tables: Array.from(doc.querySelectorAll('.table-wrap')).map((w) => w.scrollWidth <= w.clientWidth),
        dates: Array.from(doc.querySelectorAll('table time')).map((t) => t.getClientRects().length),
      };
    });
    const narrow = async (page: Page, what: string): Promise<void> => {
      const got = await fits(page);
      assert.equal(got.page, true, `${what}: the page scrolls sideways`);
      assert.ok(got.tables.length > 0 && got.tables.every(Boolean), `${what}: a table scrolls sideways ${JSON.stringify(got.tables)}`);
      assert.ok(got.dates.length > 0 && got.dates.every((n) => n >= 1 && n <= 2), `${what}: dates over more than 2 lines ${JSON.stringify(got.dates)}`);
    };
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs`, viewport: { width: 375, height: 800 } });
    const runs = page.locator('table[aria-label="Runs"] tbody tr');
    await eventually(async () => assert.equal(await runs.count(), 2));
    await narrow(page, 'Runs');
    await screenshot(page, '32-runs-narrow');
    await page.goto(`${c.platform.url}/console/#/audit`);
    const entries = page.locator('table[aria-label="Audit log"] tbody tr');
    await entries.first().waitFor();
    await narrow(page, 'Audit');
    await screenshot(page, '33-audit-narrow');
    // Wide: a table with its header row, a row's cells side by side (not stacked).
    await page.setViewportSize({ width: 1360, height: 900 });
    assert.equal(await page.locator('table[aria-label="Audit log"] thead').isVisible(), true);
    const cells = await entries.first().locator('th, td').evaluateAll((els: { getBoundingClientRect: () => { top: number } }[]) => els.map((el) => Math.round(el.getBoundingClientRect().top)));
    assert.equal(new Set(cells).size, 1, `cells on several lines: ${JSON.stringify(cells)}`);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("the Logs tab's run picker tells runs of the same second apart by the id their lines show", async () => {
    const name = fnName('twins');
    await deployed(c.platform.api, name, { 'main.py': 'def handler(event, context):\n    print("hi")\n    return {"ok": True}\n' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'POST', path: '/', body: {} });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      ids.push(res.body.runId as string);
    }
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/logs` });
    const picker = page.getByLabel('Run', { exact: true });
    const options = picker.locator('option');
    await eventually(async () => assert.equal(await options.count(), 4));
    const texts = (await options.allTextContents()).slice(1);
    assert.equal(new Set(texts).size, 3, `the runs read the same: ${JSON.stringify(texts)}`);
    for (const id of ids) assert.ok(texts.some((t) => t.endsWith(` · ${id.slice(0, 8)}`)), `${id} in ${JSON.stringify(texts)}`);
    // The id said in the picker is the one the chosen run's lines start with.
    await picker.selectOption(ids[0]!);
    await eventually(async () => assert.match(await textOf(page.getByTestId('logs')), new RegExp(` ${ids[0]!.slice(0, 8)} stdout hi`)));

    // Console round 11: a call made while the tab is open is listed without a reload (it was read once
    // per visit), the run chosen staying chosen and its lines shown.
    const call = async (): Promise<string> => {
      const res = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'POST', path: '/', body: {} });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.runId as string;
    };
    const later = await call();
    await eventually(async () => assert.ok((await options.allTextContents()).some((t) => t.endsWith(` · ${later.slice(0, 8)}`))), 10_000);
    assert.equal(await picker.inputValue(), ids[0], 'the run chosen stays chosen');
    assert.match(await textOf(page.getByTestId('logs')), new RegExp(` ${ids[0]!.slice(0, 8)} stdout hi`));
    // With the live tail on, a run's end reads the list again (no interval then).
    await page.getByTestId('live-tail').check();
    await page.getByTestId('tail-state').getByText('live').waitFor();
    const tailed = await call();
    await eventually(async () => assert.ok((await options.allTextContents()).some((t) => t.endsWith(` · ${tailed.slice(0, 8)}`))), 4_000);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
