/**
 * The console through a demanding user's day (console round 4): what the earlier rounds' tests did
 * not reach. An answer too large for a test call, the Settings actions that cannot be undone, the
 * charts' data tables read by a screen reader, an async run followed to its end, a FastAPI app's
 * routes, a cron trigger's runs and where it is edited.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, deploy, deployed, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

describe('the console through a demanding day (console round 4)', { skip }, () => {
  it("says a test call's answer over 6 MiB was not shown, with its size, instead of an empty body", async () => {
    const name = fnName('big');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "x" * (7 * 1024 * 1024)}') });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    // It showed an empty box: read as an empty answer from a function that sent 7 MiB.
    assert.match(await textOf(page.getByTestId('response-body')), /^\(body not shown: 7168 KiB, over the 6144 KiB a test call shows; .*call its URL/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('says while a call is on its way that a streamed answer comes whole at its end, and by when the call ends', async () => {
    const name = fnName('forever');
    const app = py(
      'import asyncio',
      'async def app(scope, receive, send):',
      '    if scope["type"] != "http":',
      '        return',
      '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})',
      '    while True:',
      '        await send({"type": "http.response.body", "body": b"data: tick\\n\\n", "more_body": True})',
      '        await asyncio.sleep(0.2)',
    );
    await createFunction(c.platform.api, name, { limits: { timeout: '3s' } });
    await upload(c.platform.api, name, { 'main.py': app }, { entrypoint: 'main:app' });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    // It said "Sending…" alone for the whole timeout.
    assert.match(await textOf(page.getByTestId('sending-note')), /shown once the function has sent all of it \(a streamed answer too;.*ends by the function's timeout, 3s\.$/);
    await page.getByTestId('invoke-result').getByText('HTTP 504').waitFor();
    assert.equal(await page.getByTestId('sending-note').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('asks before removing a secret or rotating the invoke token; dismissed, nothing changes', async () => {
    const name = fnName('asks');
    const created = await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"') }, { auth: 'token', secrets: { API_KEY: 's3cret' } });
    const invoke = (token: string) => fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    assert.equal(await invoke(created.invokeToken as string), 200);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings` });
    const asked: string[] = [];
    let answer = false;
    page.on('dialog', (d) => {
      asked.push(d.message());
      void (answer ? d.accept() : d.dismiss());
    });
    // Both took effect at the click: a secret's value is never shown again, and every caller of the old token was refused at once.
    await page.getByRole('button', { name: 'Remove secret API_KEY' }).click();
    await page.getByRole('button', { name: 'Rotate invoke token' }).click();
    await eventually(async () => assert.equal(asked.length, 2));
    assert.match(asked[0]!, /^Remove the secret API_KEY\? Its value is never shown/);
    assert.match(asked[1]!, /^Rotate the invoke token\? The current token stops working at once/);
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.secrets, ['API_KEY']);
    assert.equal(await invoke(created.invokeToken as string), 200);
    // Accepted, each is done.
    answer = true;
    await page.getByRole('button', { name: 'Remove secret API_KEY' }).click();
    await page.getByText('Secret API_KEY removed.').waitFor();
    await page.getByRole('button', { name: 'Rotate invoke token' }).click();
    await page.getByText('Invoke token', { exact: false }).first().waitFor();
    await eventually(async () => assert.equal(await invoke(created.invokeToken as string), 401));
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.secrets, []);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("names every chart's data table for a screen reader (Usage, Cold starts)", async () => {
    const name = fnName('charts');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"') });
    assert.equal((await c.platform.api.call('POST', `/functions/${name}/invoke`, {})).status, 200);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/usage` });
    for (const [hash, charts] of [[`#/functions/${name}/usage`, ['Invocations and errors', 'Latency', 'Cold starts']], ['#/coldstarts', []]] as const) {
      await page.goto(`${c.platform.url}/console/${hash}`);
      await page.locator('[data-rendered="true"]').first().waitFor();
      for (const summary of await page.locator('figure.chart summary').all()) await summary.click();
      const tables = page.locator('figure.chart details table'); // not uPlot's legend, inside the chart's role=img
      assert.ok(await tables.count() >= Math.max(1, charts.length));
      // Each table's name, as the accessibility tree gives it: they had none ("table" alone).
      for (const table of await tables.all()) assert.match((await table.getAttribute('aria-label')) ?? '', /^.+: data$/);
      for (const title of charts) await page.getByRole('table', { name: `${title}: data` }).waitFor();
      // No table without a name in what a screen reader is given (uPlot's legend is one: hidden, the Data table says it).
      const tree = await page.locator('body').ariaSnapshot();
      assert.doesNotMatch(tree, /- table(:|$)/m, tree);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a failed call whose message is one long word keeps the Invoke tab and the run as wide as a phone (360 px)', async () => {
    const name = fnName('longword');
    await deployed(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    raise ValueError("deep failure " + "y" * 2000)') });
    const { page, context, problems } = await c.page({ viewport: { width: 360, height: 740 }, hash: `#/functions/${name}/invoke` });
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    const result = page.getByTestId('invoke-result');
    await result.getByText('HTTP 500').waitFor();
    const width = () => page.evaluate('[document.documentElement.scrollWidth, innerWidth]') as Promise<[number, number]>;
    // It was 4,400 px wide: the message overflowed its paragraph.
    assert.deepEqual(await width(), [360, 360], 'the Invoke tab');
    await result.getByRole('link', { name: 'run', exact: true }).click();
    await page.getByTestId('error-message').waitFor();
    assert.deepEqual(await width(), [360, 360], 'the run');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('follows an async run to its end while its timeline is open, with no Refresh clicked', async () => {
    const name = fnName('slowasync');
    await deployed(c.platform.api, name, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(4)', '    return "done"') });
    const queued = await c.platform.api.call('POST', `/functions/${name}/invoke/async`, {});
    assert.equal(queued.status, 202);
    const runId = (queued.body as { runId: string }).runId;
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${runId}` });
    const badge = page.getByTestId('run-detail').locator('.badge').first();
    await badge.waitFor();
    assert.match(await textOf(badge), /^(queued|running)$/);
    // It stayed at "running" until Refresh was clicked.
    await eventually(async () => assert.equal(await textOf(badge), 'succeeded'), 20_000);
    // The list beside it is read again once it ended: its row appears, as after a Refresh.
    await page.getByRole('table', { name: 'Runs' }).getByRole('row').filter({ hasText: 'async' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("lists a FastAPI app's routes from its /openapi.json, and a route chosen fills the request", async () => {
    const name = fnName('routes');
    const app = py(
      'from fastapi import FastAPI',
      'app = FastAPI()',
      '@app.get("/items/{item_id}", summary="Read one item")',
      'def item(item_id: int):',
      '    return {"id": item_id}',
      '@app.post("/greet")',
      'def greet():',
      '    return {"hi": True}',
    );
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'app.py': app }, { entrypoint: 'app:app' });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    const routes = page.getByTestId('app-routes');
    await routes.getByRole('button', { name: 'Read /openapi.json' }).click();
    await routes.getByRole('button', { name: 'GET /items/{item_id}' }).waitFor();
    assert.match(await textOf(routes), /GET \/items\/\{item_id\}\s*Read one item/);
    await routes.getByRole('button', { name: 'POST /greet' }).waitFor();
    await routes.getByRole('button', { name: 'GET /items/{item_id}' }).click();
    assert.equal(await page.getByLabel('Method').inputValue(), 'GET');
    assert.equal(await page.getByLabel('Path').inputValue(), '/items/{item_id}');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'inv-path');
    await page.getByLabel('Path').fill('/items/7');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    assert.match(await textOf(page.getByTestId('response-body')), /"id": 7/);
    // Deployed again elsewhere (the CLI) with another route: the routes read are said to be the old
    // version's (they stayed listed with nothing said; console round 10), and read again give the new one.
    assert.equal(await routes.getByTestId('routes-stale').count(), 0);
    await upload(c.platform.api, name, { 'app.py': app.replace('"/greet"', '"/welcome"') }, { entrypoint: 'app:app' });
    await deploy(c.platform.api, name);
    assert.match(await textOf(routes.getByTestId('routes-stale')), /^Read from version 1; version 2 serves now, and its routes may differ: read \/openapi\.json again\.$/);
    await routes.getByRole('button', { name: 'Read /openapi.json' }).click();
    await routes.getByRole('button', { name: 'POST /welcome' }).waitFor();
    assert.equal(await routes.getByTestId('routes-stale').count(), 0);
    // A function that serves none says so.
    const plain = fnName('noroutes');
    await deployed(c.platform.api, plain, { 'main.py': py('def handler(event, context):', '    return {"statusCode": 404, "body": "no"}') });
    await page.goto(`${c.platform.url}/console/#/functions/${plain}/invoke`);
    await page.getByRole('button', { name: 'Read /openapi.json' }).click();
    assert.match(await textOf(page.getByTestId('routes-none')), /answered HTTP 404: the app serves no OpenAPI document there/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("links a cron trigger to the runs it started and to platform.yaml, where it is changed", async () => {
    const name = fnName('crons');
    const manifest = { kind: 'function', name, triggers: [{ type: 'cron', id: 'nightly', schedule: '0 0 3 * * *' }] };
    await createFunction(c.platform.api, name, { invocation: 'both' });
    // platform.yaml as a file too, as `deploy` uploads it: the Code tab shows the files.
    const yaml = `kind: function\nname: ${name}\ntriggers:\n  - {type: cron, id: nightly, schedule: "0 0 3 * * *"}\n`;
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "ok"'), 'platform.yaml': yaml }, { manifest });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/triggers` });
    await page.getByRole('link', { name: 'Runs started by cron' }).click();
    await eventually(async () => assert.match(page.url(), new RegExp(`#/functions/${name}/runs\\?trigger=cron&ws=default$`)));
    assert.equal(await page.getByLabel('Trigger', { exact: true }).inputValue(), 'cron');
    await page.goBack();
    await page.getByTestId('cron-links').getByRole('link', { name: 'Edit in platform.yaml' }).click();
    await page.getByRole('option', { name: /platform\.yaml/, selected: true }).waitFor();
    // A function without webhooks is told where one is declared, with the file a click away.
    await page.goBack();
    await page.getByTestId('webhook-links').getByRole('link', { name: 'Open platform.yaml' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Runs started by webhooks' }).count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
