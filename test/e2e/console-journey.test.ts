/**
 * The product brief's journey in the web console, in a real Chromium against a real platform with
 * real Python runtimes (docs/console.md): sign in; create; edit with an inline error shown at its
 * line; fix; deploy with the diff; invoke sync and async; save a test case; see the run, its
 * timeline and logs; a failed async run opened at its error line, fixed and replayed; rollback;
 * pause and resume; settings; usage charts with data; the cold-start dashboard with data (a scale
 * to zero included); the list on a phone. Screenshots of each page go to test-results/console/.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cspViolations, screenshot } from '../helpers/browser.js';
import { consoleSkip, eventually, setEditorText, textOf, useConsole } from './console-harness.js';
import { fnName, py } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1, idleTimeoutMs: 1000, warmReportIntervalMs: 200 }, skip);

const BROKEN = py('def handler(event, context):', '    print("journey says hi")', '    x = (1,', '    return {"ok": True}');
const WORKING = py(
  'def handler(event, context):',
  '    body = event.json() if event["body"] else {}',
  '    print("journey says hi", body)',
  '    if body.get("fail"):',
  '        raise ValueError("asked to fail")',
  '    return {"ok": True, "got": body}',
);
const FIXED = py('def handler(event, context):', '    body = event.json() if event["body"] else {}', '    print("fixed version", body)',
  '    for i in range(body.get("many", 0)):', '        print("line", i)', '    return {"ok": True, "fixed": True}');

describe('the console journey', { skip }, () => {
  it('sign in, create, edit, deploy, invoke, runs, replay, rollback, pause, usage, cold starts', async () => {
    const name = fnName('journey');
    const base = c.platform.url;

    // Sign in: a wrong token is refused, the right one kept for the tab (never in the URL).
    const context = await c.browser.newContext({ viewport: { width: 1360, height: 900 }, reducedMotion: 'reduce' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/console/`);
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Token', { exact: true }).fill('fpa_not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'ADMIN_TOKEN_INVALID' }).waitFor();
    await page.getByLabel('Token', { exact: true }).fill(c.platform.api.token!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    assert.equal(page.url().includes(c.platform.api.token!), false);
    assert.equal(await page.evaluate('Object.keys(sessionStorage).length'), 1);
    await screenshot(page, '02-functions-empty');

    // New → Function: URLs at once, then the contract card, and a scaffold draft.
    await page.getByRole('link', { name: 'New function' }).first().click();
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('both').check();
    await page.locator('.preview').getByText(new RegExp(`/async/${name}/$`)).waitFor(); // as the API's asyncUrl: with the trailing slash, like invokeUrl
    await screenshot(page, '03-new-function');
    // The limits shown are the template's, which the function gets at once (they were the
    // platform's defaults, 30s and 256 MiB, and the first deploy of the draft changed them).
    assert.match(await textOf(page.getByTestId('new-limits')), /timeout 10s · memory 128 MiB · 1 call per instance · up to 10 instances/);
    await page.getByRole('button', { name: 'Create function' }).click();
    await page.getByRole('region', { name: 'Contract' }).getByText('Run and log retention').waitFor();
    const contract = await textOf(page.getByRole('region', { name: 'Contract' }));
    assert.match(contract, /Timeout\s*10 ?s/);
    assert.match(contract, /Memory\s*128 MiB/);
    await screenshot(page, '04-created');
    await page.getByRole('link', { name: 'Open the editor' }).click();

    // Code: an inline error at its line, then fixed.
    await page.locator('.cm-content').waitFor();
    await eventually(async () => assert.equal(await textOf(page.getByTestId('check-state')), '✓ no problems'));
    await setEditorText(page, BROKEN);
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /\d+ problems?/));
    await page.getByRole('region', { name: 'Problems' }).getByRole('button', { name: 'main.py:3' }).waitFor();
    // The editor marks the line itself: a lint marker in the gutter of line 3, and the error under the text.
    await page.locator('.cm-lint-marker-error').first().waitFor();
    const markerLine = await page.locator('.cm-gutter-lint .cm-gutterElement').filter({ has: page.locator('.cm-lint-marker-error') }).first().boundingBox();
    const line3 = await page.locator('.cm-line').nth(2).boundingBox();
    assert.ok(markerLine && line3 && Math.abs(markerLine.y - line3.y) < 4, 'the marker sits on line 3');
    await screenshot(page, '05-code-inline-error');
    await setEditorText(page, WORKING);
    await eventually(async () => assert.equal(await textOf(page.getByTestId('check-state')), '✓ no problems'));
    await eventually(async () => assert.match(await textOf(page.getByTestId('draft-state')), /draft saved/));

    // The draft is on the server: a reload keeps the edit.
    await page.reload();
    await page.locator('.cm-content').getByText('asked to fail').waitFor();

    // Deploy with the diff first.
    await page.getByRole('button', { name: 'Deploy…' }).click();
    const diff = page.getByTestId('diff');
    await diff.getByText('+ raise ValueError("asked to fail")', { exact: false }).waitFor();
    await screenshot(page, '06-deploy-diff');
    await page.getByTestId('confirm-deploy').click();
    await page.locator('.fn-head').getByText('version 1').waitFor();

    // Invoke, sync: status, body, the cold marker; a saved test case; a curl line.
    await page.getByRole('tab', { name: 'Invoke' }).click();
    await page.getByLabel('JSON payload').fill('{"name": "Ada"}');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    const result = page.getByTestId('invoke-result');
    await result.getByText('HTTP 200').waitFor();
    await result.getByText('cold start').waitFor();
    assert.match(await textOf(page.getByTestId('response-body')), /"name": "Ada"/);
    assert.match(await textOf(page.locator('#inv-curl')), new RegExp(`curl -sS -X POST ${base.replace(/[.]/g, '\\.')}/fn/${name}/`));
    await page.getByLabel('Test case name').fill('happy path');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // The saved case answers with a run of its own: a new run link (warm, or cold again when the
    // machine is so loaded that the 1 s idle timeout passed between the two calls).
    const firstRun = await result.getByRole('link', { name: 'run', exact: true }).getAttribute('href');
    assert.ok(firstRun, 'the first call links its run');
    await page.getByRole('button', { name: 'Run happy path' }).click();
    await page.waitForFunction(`(() => {
      const now = document.querySelector('[data-testid="invoke-result"] a')?.getAttribute('href');
      return typeof now === 'string' && now !== ${JSON.stringify(firstRun)};
    })()`);
    assert.match(await textOf(result.locator('.badge')), /^(warm|cold start)$/);
    assert.match(await textOf(page.getByTestId('response-body')), /"name": "Ada"/);
    await screenshot(page, '07-invoke');

    // Retries down to one attempt (Settings), so a failing async run fails at once.
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Attempts').fill('1');
    await page.getByRole('button', { name: 'Save retries' }).click();
    await page.getByText('Retries saved').waitFor();
    // A secret: written, its name listed, its value never shown again (not in the page, not in the API).
    const secrets = page.getByRole('form', { name: 'Secrets' });
    await secrets.getByLabel('Secret name').fill('JOURNEY_KEY');
    await secrets.getByLabel('Secret value').fill('s3cret-value-never-shown');
    await secrets.getByLabel('Secret value').press('Enter');
    await secrets.locator('code', { hasText: 'JOURNEY_KEY' }).waitFor();
    assert.equal(await secrets.getByLabel('Secret value').inputValue(), '');
    assert.ok(!(await page.content()).includes('s3cret-value-never-shown'));
    assert.ok(!JSON.stringify((await c.platform.api.call('GET', `/functions/${name}`)).body).includes('s3cret-value-never-shown'));
    await screenshot(page, '08-settings');

    // Invoke, async, failing: the run id links to its timeline, with the error and its stack.
    await page.getByRole('tab', { name: 'Invoke' }).click();
    await page.getByLabel('async').check();
    await page.getByLabel('JSON payload').fill('{"fail": true}');
    await page.getByRole('button', { name: 'Queue async run' }).click();
    await page.getByTestId('async-run').getByRole('link', { name: 'open its timeline' }).click();
    const run = page.getByTestId('run-detail');
    await eventually(async () => {
      await run.getByRole('button', { name: 'Refresh' }).click();
      await run.getByTestId('run-error').waitFor({ timeout: 500 });
    });
    assert.equal(await textOf(run.getByTestId('error-message')), 'asked to fail');
    assert.equal(await textOf(run.getByTestId('run-request')), 'POST /', 'the run says what was called');
    await run.getByText('Stack trace').waitFor();
    await run.getByTestId('logs').getByText("journey says hi {'fail': True}").waitFor();
    await screenshot(page, '09-run-failed');
    const failedUrl = page.url();

    // Open at the error line: the Code tab, main.py, line 5 marked.
    await run.getByTestId('open-at-line').click();
    await page.locator('[data-marked-line="5"]').waitFor();
    await screenshot(page, '10-open-at-error-line');

    // Fix, deploy version 2, replay the failed run: the replay succeeds on the fixed code.
    await setEditorText(page, FIXED);
    await eventually(async () => assert.equal(await textOf(page.getByTestId('check-state')), '✓ no problems'));
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.locator('.fn-head').getByText('version 2').waitFor();
    await page.goto(failedUrl);
    await page.getByTestId('replay').click();
    await eventually(async () => {
      await page.getByTestId('run-detail').getByRole('button', { name: 'Refresh' }).click();
      await page.getByTestId('run-detail').getByText('replay of').waitFor({ timeout: 500 });
      await page.getByTestId('run-detail').locator('.badge-succeeded').first().waitFor({ timeout: 500 });
    });
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await screenshot(page, '11-runs-replayed');

    // Logs: one run's logs, and the live tail picking up a new call.
    await page.getByRole('tab', { name: 'Logs' }).click();
    await page.getByTestId('live-tail').check();
    // The platform publishes a function's lines while it is tailed: invoke once the stream is open.
    await page.getByTestId('tail-state').getByText('live', { exact: true }).waitFor();
    await c.platform.api.call('POST', `/functions/${name}/invoke`, { body: { tail: 'me' } });
    await page.getByTestId('logs').getByText("fixed version {'tail': 'me'}").waitFor();
    await page.getByTestId('logs').getByText(/ended succeeded 200/).waitFor();
    await screenshot(page, '12-logs-live');
    // Past the tail's 2,000 lines, the older ones go, and it says so (they went silently).
    assert.equal(await page.getByTestId('tail-dropped').count(), 0);
    await c.platform.api.call('POST', `/functions/${name}/invoke`, { body: { many: 2100 } });
    await page.getByTestId('logs').getByText('line 2099', { exact: false }).waitFor();
    await page.getByTestId('tail-dropped').getByText(/shows its last 2,000 lines: \d[\d,]* older ones are not kept here/).waitFor();

    // Triggers: the HTTP and async URLs.
    await page.getByRole('tab', { name: 'Triggers' }).click();
    await page.getByRole('region', { name: 'HTTP trigger' }).getByText(`/async/${name}`).waitFor();
    await screenshot(page, '13-triggers');

    // Rollback: back to version 1.
    await page.getByRole('tab', { name: 'Code' }).click();
    // Asked first (it changes what serves the URL at once): dismissed, nothing changes.
    const asked: string[] = [];
    page.once('dialog', (d) => { asked.push(d.message()); void d.dismiss(); });
    await page.getByTestId('rollback').click();
    await eventually(async () => assert.match(asked[0] ?? '', /^Serve version 1 instead of version 2\?/));
    assert.equal((await c.platform.api.call('GET', `/functions/${name}`)).body.function.activeVersion, 2);
    page.once('dialog', (d) => void d.accept());
    await page.getByTestId('rollback').click();
    await page.locator('.fn-head').getByText('version 1').waitFor();

    // Pause and resume: a paused function's invoke is refused with its code.
    await page.getByTestId('pause-toggle').click();
    await page.locator('.fn-head .badge-paused').waitFor();
    await page.getByRole('tab', { name: 'Invoke' }).click();
    await page.getByRole('radio', { name: 'sync', exact: true }).check();
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'FUNCTION_PAUSED' }).waitFor();
    await page.getByTestId('pause-toggle').click();
    await page.locator('.fn-head .badge-paused').waitFor({ state: 'detached' });
    // One call of the active version, whose instance then idles out (idleTimeoutMs 1 s): the
    // scale to zero the dashboard shows below. (The rollback drained the earlier version's
    // instances: a drain is not a scale to zero.)
    assert.equal((await c.platform.api.call('POST', `/functions/${name}/invoke`, { body: {} })).status, 200);

    // Usage: numbers and three charts drawn from the calls above.
    await page.getByRole('tab', { name: 'Usage' }).click();
    await eventually(async () => assert.notEqual(await textOf(page.getByTestId('usage-stats').locator('.stat-value').first()), '0'));
    await eventually(async () => assert.equal(await page.locator('.chart-box[data-rendered="true"]').count(), 3));
    assert.ok((await page.locator('.chart-box canvas').count()) >= 3);
    await screenshot(page, '14-usage');

    // The cold-start dashboard: this function's cold start, its cost, and (idle for 1 s) a scale to zero.
    await page.getByRole('link', { name: 'Cold starts' }).click();
    const row = page.getByTestId('cold-table').locator(`tr[data-function="${name}"]`);
    await row.waitFor();
    assert.notEqual(await textOf(row.locator('td').nth(3)), '0', 'cold starts counted');
    await eventually(async () => {
      await page.reload();
      await row.waitFor();
      assert.notEqual(await textOf(row.locator('td').nth(9)), '0', 'a scale-to-zero event');
    }, 30_000);
    await eventually(async () => assert.equal(await page.locator('.chart-box[data-rendered="true"]').count(), 4));
    await screenshot(page, '15-cold-starts');

    // The list: this function with its numbers and sparkline; search.
    await page.getByRole('link', { name: 'Functions' }).click();
    const listRow = page.locator(`tr[data-function="${name}"]`);
    await listRow.locator('svg.sparkline').waitFor();
    await page.getByLabel('Search functions').fill('no-such-function');
    await listRow.waitFor({ state: 'detached' });
    await page.getByLabel('Search functions').fill('');
    await screenshot(page, '16-functions');

    assert.deepEqual(problems, []);
    assert.deepEqual(await cspViolations(page), []);
    await context.close();
  });

  it('works on a phone: the list and a function page fit the screen', async () => {
    const { page, context, problems } = await c.page({ viewport: { width: 390, height: 844 } });
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(width <= 390 + 1, `no sideways scrolling of the page (${width}px)`);
    await screenshot(page, '17-phone-functions');
    const first = page.locator('table.list tbody tr th a').first();
    if ((await first.count()) > 0) {
      await first.click();
      await page.getByRole('tab', { name: 'Code' }).waitFor();
      await screenshot(page, '18-phone-function');
    }
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('loads the functions list with under 200 KB of JavaScript (gzipped), the editor and charts on demand', async () => {
    const { page, context } = await c.page();
    await page.reload();
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    const scripts = (await page.evaluate(`performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js')).map((e) => ({ name: e.name, bytes: e.encodedBodySize }))`)) as { name: string; bytes: number }[];
    const total = scripts.reduce((n, s) => n + s.bytes, 0);
    // A report printout, not a timed assertion (docs/console.md, "Size").
    console.log(`console: the functions list loaded ${scripts.length} script(s), ${(total / 1024).toFixed(1)} KiB gzipped over the wire`);
    assert.ok(scripts.length > 0 && total < 200 * 1024, `${total} bytes`);
    assert.ok(scripts.every((s) => !/codemirror|uplot/i.test(s.name)));
    await context.close();
  });
});
