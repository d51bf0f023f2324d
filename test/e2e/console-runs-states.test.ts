/**
 * The console's Runs tab lists async runs by state (ADR 0068): with one dispatcher slot held by a
 * slow run, a second run is queued and cancelled; once the slow run is listed, "cancelled (async)"
 * lists the cancelled one, linked to its detail, and "queued (async)" says there are none. A stream
 * the caller abandoned is said as such, in the list and the run's detail, as the CLI says it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, deploy, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1, dispatchConcurrency: 1 }, skip);

describe('the console lists async runs by state', { skip }, () => {
  it('the Runs tab status filter selects cancelled (async) runs', async () => {
    const name = fnName('states');
    await createFunction(c.platform.api, name, { invocation: 'both' });
    await upload(c.platform.api, name, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(2)', '    return 1') });
    await deploy(c.platform.api, name);
    const busy = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, {});
    const waiting = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, {});
    assert.equal(waiting.status, 202);
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs/${busy.body.runId}`)).body.run.state, 'running'));
    assert.equal((await c.platform.api.call('POST', `/runs/${waiting.body.runId}/cancel`)).status, 200);
    // The slow run finished and listed first: the tab opens on a list of runs (of the sync shape)
    // and the switch to an async state must not render them as async runs (it threw on their
    // missing `state` when the page loaded after the slow run ended: about 1 in 10 under load).
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs?function=${name}`)).body.items.length, 1));

    const { page, problems } = await c.page({ hash: `#/functions/${name}/runs` });
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await page.getByLabel('Status').waitFor();
    await page.getByLabel('Status').selectOption('cancelled');
    const table = page.getByRole('table', { name: 'Async runs' });
    await table.waitFor();
    assert.match(await textOf(table), /cancelled/);
    await table.getByRole('link').first().click();
    await page.getByTestId('run-detail').getByText(waiting.body.runId as string).waitFor();
    await page.getByLabel('Status').selectOption('queued');
    await page.getByText('No queued runs.').waitFor();
    assert.deepEqual(problems, []);
  });

  it('says "client went away" for a stream the caller abandoned (as `runs` does; apps round 15)', async () => {
    const name = fnName('left');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py(
      'import asyncio',
      'async def app(scope, receive, send):',
      '    if scope["type"] != "http":',
      '        return',
      '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})',
      '    while True:',
      '        await send({"type": "http.response.body", "body": b"tick\\n", "more_body": True})',
      '        await asyncio.sleep(0.05)',
    ) }, { entrypoint: 'main:app' });
    await deploy(c.platform.api, name);
    const left = new AbortController();
    const res = await fetch(`${c.platform.url}/fn/${name}/`, { signal: left.signal });
    await res.body!.getReader().read();
    left.abort();
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs?function=${name}`)).body.items[0]?.clientAborted, true));

    const { page, problems } = await c.page({ hash: `#/functions/${name}/runs` });
    const table = page.getByRole('table', { name: 'Runs' });
    await table.waitFor();
    assert.match(await textOf(table), /200 · client went away/);
    await table.getByRole('link').first().click();
    await page.getByTestId('run-detail').getByTestId('client-left').waitFor();
    assert.deepEqual(problems, []);
  });

  it('keeps the Runs tab filters in the URL: a reload, a run opened and Back keep them (console round 3)', async () => {
    const name = fnName('filters');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    if event["query"].get("fail"):', '        raise RuntimeError("no")', '    return 1') });
    await deploy(c.platform.api, name);
    for (const query of [{}, { fail: '1' }, {}]) await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET', query });
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/runs?function=${name}`)).body.items.length, 3));

    const { page, problems } = await c.page({ hash: `#/functions/${name}/runs` });
    const rows = page.getByRole('table', { name: 'Runs' }).locator('tbody tr');
    await eventually(async () => assert.equal(await rows.count(), 3));
    await page.getByLabel('Status').selectOption('failed');
    await eventually(async () => assert.equal(await rows.count(), 1));
    assert.match(page.url(), /status=failed/);
    // A reload: the page read the filter from nothing and listed all three under "any".
    await page.reload();
    await eventually(async () => assert.equal(await rows.count(), 1));
    assert.equal(await page.getByLabel('Status').inputValue(), 'failed');
    // The run opened from the filtered list keeps the filter, and Back returns to it.
    await rows.first().getByRole('link').click();
    await page.getByTestId('run-detail').waitFor();
    assert.match(page.url(), /status=failed.*run=|run=.*status=failed/);
    await page.getByLabel('Status').selectOption('');
    await eventually(async () => assert.equal(await rows.count(), 3));
    await page.goBack();
    await eventually(async () => assert.equal(await page.getByLabel('Status').inputValue(), 'failed'));
    await eventually(async () => assert.equal(await rows.count(), 1));
    assert.deepEqual(problems, []);
  });
});
