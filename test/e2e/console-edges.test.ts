/**
 * The console with inputs and situations the journey does not use: a Path typed with a query
 * string (`/items?q=1&q=2`) is sent as the request's path and query, as the CLI's `invoke` and the
 * curl line do (the API refuses a `?` in `path`); a run of a function with a data binding shows what
 * it wrote (`runs <id> --writes`, docs/data-binding.md); New function declares a binding and shows
 * an invoke URL that answers (not on the console's own host); a token revoked mid-session ends it
 * with the reason on the sign-in page.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, it } from 'node:test';
import { serverSkip } from '../helpers/servers.js';
import { request } from './gateway-harness.js';
import { consoleSkip, eventually, textOf, typeAtEnd, useConsole } from './console-harness.js';
import { createFunction, deploy, deployed, errorOf, filesOf, fnName, py, runsWritten, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

const ECHO = py(
  'def handler(event, context):',
  '    return {"path": event["path"], "query": event["query"], "method": event["method"]}',
);

const SHOP = py(
  'def handler(event, context):',
  '    orders = context.db.orders',
  '    orders.insert_one({"item": "pen"})',
  '    orders.update_many({"item": "pen"}, {"$set": {"seen": True}})',
  '    return {"count": orders.count_documents({})}',
);

let echo = '';

/** A function deployed with ECHO and called `calls` times (its first call cold): its name. */
async function echoCalled(prefix: string, calls: number): Promise<string> {
  const name = fnName(prefix);
  await deployed(c.platform.api, name, { 'main.py': ECHO });
  for (let i = 0; i < calls; i++) assert.equal((await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' })).status, 200);
  return name;
}

/** A function deployed with ECHO, its Code tab open with the editor focused. */
async function editingEcho(prefix: string): Promise<{ name: string } & Awaited<ReturnType<typeof c.page>>> {
  const name = fnName(prefix);
  await createFunction(c.platform.api, name);
  await upload(c.platform.api, name, { 'main.py': ECHO });
  await deploy(c.platform.api, name);
  const opened = await c.page({ hash: `#/functions/${name}/code` });
  await opened.page.locator('.cm-content').waitFor();
  await opened.page.locator('.cm-content').click();
  return { name, ...opened };
}

describe('the console with odd inputs', { skip }, () => {
  it('sends a Path typed with a query string as path and query, as its curl line does', async () => {
    const name = fnName('echo');
    echo = name;
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);
    // Over the API, a `?` in `path` is refused: the handler would get it as part of its path.
    const refused = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET', path: '/items?q=1' });
    assert.equal(refused.status, 400);
    assert.equal(errorOf(refused).code, 'INVALID_FIELD');
    assert.equal(errorOf(refused).field, 'path');

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.getByLabel('Method').selectOption('GET');
    await page.getByLabel('Path').fill('/items?q=1&q=2&z=a%20b');
    assert.match(await textOf(page.locator('#inv-curl')), new RegExp(`/fn/${name}/items\\?q=1&q=2&z=a\\+b'`));
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    const body = JSON.parse(await textOf(page.getByTestId('response-body'))) as unknown;
    // The gateway gives a handler the last of repeated keys (as for a real request).
    assert.deepEqual(body, { path: '/items', query: { q: '2', z: 'a b' }, method: 'GET' });

    // Saved as a test case, it comes back into the Path field whole.
    await page.getByLabel('Test case name').fill('with query');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const saved = await eventually(async () => {
      const res = await c.platform.api.call('GET', `/functions/${name}/test-cases`);
      const item = (res.body as { items: { name: string; request: unknown }[] }).items.find((i) => i.name === 'with query');
      assert.ok(item);
      return item;
    });
    assert.deepEqual(saved.request, { method: 'GET', path: '/items', query: { q: ['1', '2'], z: 'a b' } });
    await page.getByLabel('Path').fill('/');
    await page.getByRole('button', { name: 'with query', exact: true }).click();
    assert.equal(await page.getByLabel('Path').inputValue(), '/items?q=1&q=2&z=a+b');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('keeps the Invoke tab\'s request and answer when its run is followed and Back comes back; a sign-out forgets them (console round 3)', async () => {
    const name = fnName('kept');
    await deployed(c.platform.api, name, { 'main.py': ECHO });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.getByLabel('Path').fill('/orders/7?full=1');
    await page.getByLabel(/^Headers/).fill('x-trace: abc');
    await page.getByLabel('JSON payload').fill('{"qty": 3}');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    // The answer's run, then Back: the tab is mounted anew; it came back as POST / with the sample payload and no answer.
    await page.getByTestId('invoke-result').getByRole('link', { name: 'run' }).click();
    await page.getByTestId('run-detail').waitFor();
    await page.goBack();
    await page.getByLabel('Path').waitFor();
    assert.equal(await page.getByLabel('Path').inputValue(), '/orders/7?full=1');
    assert.equal(await page.getByLabel(/^Headers/).inputValue(), 'x-trace: abc');
    assert.equal(await page.getByLabel('JSON payload').inputValue(), '{"qty": 3}');
    assert.match(await textOf(page.getByTestId('response-body')), /"path": "\/orders\/7"/);
    // Signed out and in again (another token could be) in the same tab: the defaults again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token', { exact: true }).fill(c.platform.api.token!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.goto(`${c.platform.url}/console/#/functions/${name}/invoke`);
    await page.getByLabel('Path').waitFor();
    assert.equal(await page.getByLabel('Path').inputValue(), '/');
    assert.equal(await page.getByTestId('invoke-result').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('keeps the answer of an invoke still running when the Invoke tab is left, and shows it when the tab is back (dx round 4)', async () => {
    // Before: the answer arrived to an unmounted tab and was dropped; back on Invoke, no answer.
    const name = fnName('slowans');
    await deployed(c.platform.api, name, { 'main.py': py(
      'import json, time',
      'def handler(event, context):',
      '    wait = json.loads(event["body"])["wait"]',
      '    time.sleep(wait)',
      '    return {"waited": wait}',
    ) });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.getByLabel('JSON payload').fill('{"wait": 2}');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByRole('button', { name: 'Sending…' }).waitFor();
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Path').waitFor({ state: 'detached' });
    // The call ends while another tab is shown (its run is recorded), then Invoke again.
    await eventually(async () => {
      await runsWritten(c.platform.url);
      const runs = (await c.platform.api.call('GET', `/runs?function=${name}`)).body as { items: { status: string }[] };
      assert.equal(runs.items.filter((r) => r.status === 'succeeded').length, 1, JSON.stringify(runs.items));
    }, 30_000);
    await page.getByRole('tab', { name: 'Invoke' }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    assert.deepEqual(JSON.parse(await textOf(page.getByTestId('response-body'))), { waited: 2 });
    // Left and back while it still runs: the tab says it is sending, then shows the answer.
    await page.getByLabel('JSON payload').fill('{"wait": 3}');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Path').waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: 'Invoke' }).click();
    await page.getByRole('button', { name: 'Sending…' }).waitFor();
    await eventually(async () => assert.deepEqual(JSON.parse(await textOf(page.getByTestId('response-body'))), { waited: 3 }), 30_000);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('shows what a run of a bound function wrote, per collection', { skip: serverSkip('ferretdb') }, async () => {
    const name = fnName('shop');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': SHOP }, { manifest: { kind: 'function', name, data: { mongo: { database: 'consoleshop' } } } });
    await deploy(c.platform.api, name);
    const res = await fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST' });
    assert.equal(res.status, 200, await res.clone().text());
    const runId = res.headers.get('x-run-id')!;
    await runsWritten(c.platform.url);

    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${runId}` });
    const writes = page.getByTestId('run-detail').getByRole('table', { name: 'Writes' });
    await writes.waitFor();
    const cells = await writes.locator('tbody td').allTextContents();
    assert.deepEqual(cells, ['default_consoleshop', 'orders', '1', '1', '0', '0']);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('shows a collection a run wrote with its controls escaped on one line, in the run and the Data tab (console round 3)', { skip: serverSkip('ferretdb') }, async () => {
    // The function names its collections: a bidi override and a line break went to the page as they were.
    const name = fnName('shopctl');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    context.db["a\\u202egnp\\tb"].insert_one({"x": 1})', '    return {}') },
      { manifest: { kind: 'function', name, data: { mongo: { database: 'consolectl' } } } });
    await deploy(c.platform.api, name);
    const res = await fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST' });
    assert.equal(res.status, 200, await res.clone().text());
    const runId = res.headers.get('x-run-id')!;
    await runsWritten(c.platform.url);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${runId}` });
    const writes = page.getByTestId('run-detail').getByRole('table', { name: 'Writes' });
    await writes.waitFor();
    assert.deepEqual(await writes.locator('tbody td').allTextContents(), ['default_consolectl', 'a\\u202egnp\\tb', '1', '0', '0', '0']);
    await page.goto(`${c.platform.url}/console/#/functions/${name}/data`);
    const recent = page.getByTestId('recent-writes');
    await recent.waitFor();
    assert.ok((await recent.locator('tbody td').allTextContents()).includes('a\\u202egnp\\tb'));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('creates a function with a data binding, showing an invoke URL that answers', async () => {
    const { page, context, problems } = await c.page({ hash: '#/new' });
    assert.match(page.url(), /\/\/console\.localhost:/);
    // The preview of an existing function's name is a URL that reaches it (never the console's host).
    await page.getByLabel('Name').fill(echo);
    const preview = (await textOf(page.locator('.preview code').first())).trim();
    assert.doesNotMatch(preview, /\/\/console\./);
    const target = new URL(preview);
    const reached = await request(`${c.platform.url}${target.pathname}`, { method: 'POST', headers: { host: target.host } });
    assert.equal(reached.status, 200, `${preview}: ${reached.body.toString()}`);

    const name = fnName('newshop');
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Data binding').selectOption('mongo');
    await page.getByLabel('Database', { exact: true }).fill('Not-a-name');
    assert.equal(await page.getByRole('button', { name: 'Create function' }).isDisabled(), true);
    await page.getByLabel('Database', { exact: true }).fill('edgeshop');
    await page.getByRole('button', { name: 'Create function' }).click();
    await page.getByRole('heading', { name: `Created ${name}` }).waitFor();
    const draft = (await c.platform.api.call('GET', `/functions/${name}/draft`)).body as { draft: { files: { path: string; content: string }[] } };
    const yaml = draft.draft.files.find((f) => f.path === 'platform.yaml')!.content;
    assert.match(yaml, /\ndata:\n {2}mongo:\n {4}database: edgeshop\n/);
    // The draft is a valid function as it is: its binding deploys.
    const checked = await c.platform.api.call('POST', '/validate', { files: draft.draft.files });
    assert.equal((checked.body as { ok: boolean }).ok, true, JSON.stringify(checked.body));

    // In another workspace, the URLs name the function's key there: `<name>.<workspace>`.
    assert.equal((await c.platform.api.call('POST', '/workspaces', { name: 'edgews' })).status, 201);
    await page.goto(page.url().replace(/#.*$/, '#/functions'));
    await page.reload(); // the header lists the workspaces it found when it was drawn
    await page.getByTestId('workspace').selectOption('edgews');
    await page.goto(page.url().replace(/#.*$/, '#/new'));
    await page.getByLabel('Name').fill('there');
    const [invokeUrl] = (await page.locator('.preview code').allTextContents()).map((t) => t.trim());
    // Async only: its /fn/ URL answers 409 INVOCATION_MODE_NOT_ALLOWED, so only the async URL is shown.
    await page.getByLabel('async', { exact: true }).check();
    const shown = (await page.locator('.preview code').allTextContents()).map((t) => t.trim());
    assert.equal(shown.length, 1, shown.join(' '));
    const asyncUrl = shown[0];
    await page.getByRole('button', { name: 'Create function' }).click();
    await page.getByRole('heading', { name: 'Created there' }).waitFor();
    const answer = (await c.platform.api.call('GET', '/functions/there', undefined, { 'fp-workspace': 'edgews' })).body as { invokeUrl: string; asyncUrl: string };
    assert.equal(new URL(invokeUrl!).pathname, new URL(answer.invokeUrl).pathname);
    assert.equal(new URL(asyncUrl!).pathname, new URL(answer.asyncUrl).pathname);
    const card = await textOf(page.locator('dl.contract'));
    assert.doesNotMatch(card, /Invoke URL/, card);
    assert.match(card, /Async URL\s*http:\/\/[^\s]+\/async\/there\.edgews/, card);
    assert.match(card, /Invocation\s*async only: POST to the async URL/, card);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('creates a FastAPI app from the init template: app.py on the http preset, a draft that validates', async (t) => {
    const { page, context, problems } = await c.page({ hash: '#/new' });
    const name = fnName('newapi');
    await page.getByLabel('Name').fill(name);
    await page.getByLabel(/FastAPI app/).check();
    await page.getByRole('button', { name: 'Create function' }).click();
    await page.getByRole('heading', { name: `Created ${name}` }).waitFor();
    const fn = (await c.platform.api.call('GET', `/functions/${name}`)).body as { function: { preset: string; invocation: string } };
    assert.deepEqual([fn.function.preset, fn.function.invocation], ['http', 'both']);
    const draft = (await c.platform.api.call('GET', `/functions/${name}/draft`)).body as { draft: { files: { path: string; content: string }[] } };
    assert.deepEqual(draft.draft.files.map((f) => f.path).sort(), ['app.py', 'payload.json', 'platform.yaml']);
    assert.match(draft.draft.files.find((f) => f.path === 'platform.yaml')!.content, /^entrypoint: app:app/m);
    assert.match(draft.draft.files.find((f) => f.path === 'app.py')!.content, new RegExp(`FastAPI\\(title="${name}"\\)`));
    const checked = await c.platform.api.call('POST', '/validate', { files: draft.draft.files });
    assert.equal((checked.body as { ok: boolean }).ok, true, JSON.stringify(checked.body));
    // A first call that works (POST / is not one of its routes): the template's greet, as a test case.
    assert.match(await textOf(page.locator('main')), /A test case greet \(POST \/greet\) is saved/);
    const cases = (await c.platform.api.call('GET', `/functions/${name}/test-cases`)).body as { items: { name: string; request: unknown }[] };
    assert.deepEqual(cases.items.map((t) => [t.name, t.request]), [['greet', { method: 'POST', path: '/greet', body: { name: 'Ada' } }]]);
    await page.getByRole('link', { name: 'Open the editor' }).click();
    await page.getByRole('button', { name: 'Deploy…' }).click();
    // Enter submits only while Deploy is enabled (the check passed): a CI run pressed it while the
    // first check was still failing or pending and nothing was sent (the dialog stayed open).
    await eventually(async () => assert.equal(await page.getByTestId('confirm-deploy').isEnabled(), true), 30_000);
    // Intermittent in CI (about one run in five, never by hand): Enter left the dialog open and
    // nothing deployed within 60 s. Pressed again as a user would, up to three times, and what the
    // dialog showed each time is reported (a diagnostic when a later press deployed, the error if none did).
    const seen: string[] = [];
    const deployed = async (): Promise<boolean> => (await c.platform.api.call('GET', `/functions/${name}`)).body.function.activeVersion === 1;
    for (let press = 1; press <= 3 && !(await deployed()); press++) {
      // A press that took closed the dialog and its deploy is under way (slow on a loaded CI
      // machine: past the 20 s below): wait for that deploy instead of looking for the field again.
      if (press > 1 && (await page.locator('dialog[open]').count()) === 0) {
        await eventually(async () => assert.equal(await deployed(), true), 60_000).catch(() => undefined);
        seen.push(`press ${press}: no dialog open (the deploy of an earlier press was under way)`);
        break;
      }
      await page.getByLabel('Note (optional)').press('Enter');
      const ok = await eventually(async () => assert.equal(await deployed(), true), 20_000).then(() => true, () => false);
      if (ok) break;
      const dialog = page.locator('dialog[open]');
      const confirm = page.getByTestId('confirm-deploy');
      const versions = (await c.platform.api.call('GET', `/functions/${name}/versions`)).body as { items?: unknown[] };
      seen.push(`press ${press}: ${await dialog.count()} dialog(s) open; button "${await confirm.textContent().catch(() => '?')}" enabled ${await confirm.isEnabled().catch(() => '?')}; `
        + `error box "${await dialog.locator('.error-box').allTextContents().catch(() => [])}"; alerts "${await dialog.getByRole('alert').allTextContents().catch(() => [])}"; `
        + `step "${await page.getByTestId('deploy-step').allTextContents()}"; versions ${versions.items?.length ?? '?'}; problems ${JSON.stringify(problems)}`);
    }
    if (seen.length > 0) t.diagnostic(`deploy by Enter needed more than one press: ${seen.join(' | ')}`);
    assert.equal(await deployed(), true, `not deployed after three presses of Enter: ${seen.join(' | ')}`);
    await page.getByRole('tab', { name: 'Invoke' }).click();
    await page.getByRole('button', { name: 'Run greet' }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor({ timeout: 60_000 });
    assert.deepEqual(JSON.parse(await textOf(page.getByTestId('response-body'))), { message: 'hello, Ada' });
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('says why the session ended when the API refuses the token mid-session', async () => {
    const created = await c.platform.api.call('POST', '/tokens', { role: 'viewer', label: 'short-lived' });
    assert.equal(created.status, 201);
    const { token, secret } = created.body as { token: { id: string }; secret: string };
    const { page, context, problems } = await c.page({ token: secret });
    assert.equal((await c.platform.api.call('DELETE', `/tokens/${token.id}`)).status, 200);
    // The next call the page makes (whichever it is) is refused.
    await page.goto(page.url().replace(/#.*$/, '#/coldstarts'));
    await page.getByLabel('Token', { exact: true }).waitFor();
    assert.match(await textOf(page.getByTestId('signed-out')), /^Signed out: .+\[[A-Z_]+\]$/);
    // Signing out by hand says nothing.
    await page.getByLabel('Token', { exact: true }).fill(c.platform.api.token!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token', { exact: true }).waitFor();
    assert.equal(await page.getByTestId('signed-out').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('refuses two environment variables with the same name (and bad names) inline, before saving', async () => {
    const name = fnName('envdup');
    await createFunction(c.platform.api, name, { env: { FOO: 'a' } });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings` });
    const form = page.getByRole('form', { name: 'Environment' });
    await form.getByRole('button', { name: 'Add variable' }).click();
    await page.locator('#env-k-1').fill('FOO');
    await page.locator('#env-v-1').fill('b');
    // Enter in a field submits the form, as the button does.
    await page.locator('#env-v-1').press('Enter');
    const problem = form.getByTestId('env-problem');
    await problem.waitFor();
    assert.match(await textOf(problem), /FOO is already set in row 1/);
    assert.equal(await page.locator('#env-k-1').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#env-k-1').getAttribute('aria-describedby'), 'env-k-1-problem');
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'env-k-1');
    // Nothing was sent: the first FOO is as it was.
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env, { FOO: 'a' });
    // A name the platform refuses, and a value without a name: said at their row too.
    await page.locator('#env-k-1').fill('1BAR');
    await eventually(async () => assert.match(await textOf(problem), /1BAR is not a valid name/));
    await form.getByRole('button', { name: 'Add variable' }).click();
    await page.locator('#env-v-2').fill('orphan');
    await form.getByRole('button', { name: 'Save environment' }).click();
    await eventually(async () => assert.equal(await form.getByTestId('env-problem').count(), 2));
    assert.match(await textOf(form.getByTestId('env-problem').nth(1)), /Give this value a name/);
    await form.getByRole('button', { name: 'Remove', exact: false }).nth(2).click();
    // Fixed, it saves, and says so in the form.
    await page.locator('#env-k-1').fill('BAR');
    assert.equal(await problem.count(), 0);
    await form.getByRole('button', { name: 'Save environment' }).click();
    await form.getByText('Environment saved.').waitFor();
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env, { FOO: 'a', BAR: 'b' });

    // Secrets: Enter sets one; a bad name is refused in the Secrets form, with its value kept.
    const secrets = page.getByRole('form', { name: 'Secrets' });
    await secrets.getByLabel('Secret name').fill('BAD NAME');
    await secrets.getByLabel('Secret value').fill('v');
    await secrets.getByLabel('Secret value').press('Enter');
    await eventually(async () => assert.match(await textOf(secrets.getByRole('alert')), /BAD NAME is not a valid name/));
    assert.equal(await secrets.getByLabel('Secret value').inputValue(), 'v');
    await secrets.getByLabel('Secret name').fill('API_KEY');
    await secrets.getByLabel('Secret value').press('Enter');
    await secrets.getByText('Secret API_KEY set.').waitFor();
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.secrets, ['API_KEY']);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('says at the field what is wrong with a request or a name, and submits forms with Enter', async () => {
    const name = fnName('fields');
    await createFunction(c.platform.api, name);
    // Not deployed yet: the answer says where to deploy it.
    const early = await c.page({ hash: `#/functions/${name}/invoke` });
    await early.page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await early.page.getByRole('alert').filter({ hasText: 'FUNCTION_NOT_DEPLOYED' }).waitFor();
    await early.page.getByTestId('not-deployed').getByRole('link', { name: 'open the Code tab and deploy' }).click();
    await early.page.getByRole('tab', { name: 'Code', selected: true }).waitFor();
    await early.context.close();
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    const payload = page.getByLabel('JSON payload');
    await payload.fill('{"name": ');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    const payloadProblem = page.locator('#inv-payload-problem');
    await payloadProblem.waitFor();
    assert.match(await textOf(payloadProblem), /^The payload is not JSON: .+Leave it empty to send no body\.$/);
    assert.equal(await payload.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'inv-payload');
    assert.equal(await page.getByTestId('invoke-result').count(), 0);
    assert.equal(await page.getByRole('alert').count(), 0);
    // Nothing was sent.
    assert.deepEqual((await c.platform.api.call('GET', `/runs?function=${name}`)).body.items, []);
    await payload.fill('{"name": "Ada"}');
    assert.equal(await payloadProblem.count(), 0);
    await page.getByLabel('Headers (one').fill('no colon here');
    await page.locator('#inv-headers-problem').waitFor();
    assert.match(await textOf(page.locator('#inv-headers-problem')), /Name: value/);
    await page.getByLabel('Headers (one').fill('X-Test: 1');
    // Enter in the Path field sends; Enter in the test case name saves.
    await page.getByLabel('Path').press('Enter');
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    await page.getByLabel('Test case name').fill('by keyboard');
    await page.getByLabel('Test case name').press('Enter');
    await page.getByRole('button', { name: 'Run by keyboard' }).waitFor();

    // New function: a name it cannot take says why, at the field.
    await page.goto(`${c.platform.url}/console/#/new`);
    await page.getByLabel('Name').fill('my_func');
    assert.match(await textOf(page.getByTestId('name-problem')), /Not allowed in a name: "_"/);
    assert.equal(await page.getByLabel('Name').getAttribute('aria-describedby'), 'fn-name-problem fn-name-hint fn-preview');
    await page.getByLabel('Name').fill('-edge');
    assert.match(await textOf(page.getByTestId('name-problem')), /starts and ends with a letter or a digit/);
    const created = fnName('kbd');
    await page.getByLabel('Name').fill(created);
    assert.equal(await page.getByTestId('name-problem').count(), 0);
    // Enter creates; the focus goes to the result's heading (the form it was in is gone).
    await page.getByLabel('Name').press('Enter');
    await page.getByTestId('created').waitFor();
    await eventually(async () => assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'created-title'));
    // The nav's "New function" on this page (the same URL) gives an empty form again: it kept showing "Created".
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New function' }).click();
    await page.getByLabel('Name').waitFor();
    assert.equal(await page.getByLabel('Name').inputValue(), '');
    assert.equal(await page.getByTestId('created').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('adds a file through a dialog that says why a path is refused, and deploys with Enter', async () => {
    const name = fnName('newfile');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    await page.getByRole('button', { name: 'New file' }).click();
    const dialog = page.getByRole('dialog', { name: 'New file' });
    const path = dialog.getByLabel('Path');
    await path.waitFor();
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'new-file-path');
    // An existing file was silently ignored before: now said.
    await path.fill('main.py');
    await path.press('Enter');
    assert.match(await textOf(dialog.locator('#new-file-problem')), /main\.py exists/);
    assert.equal(await path.getAttribute('aria-invalid'), 'true');
    await path.fill('../up.py');
    assert.match(await textOf(dialog.locator('#new-file-problem')), /cannot contain \.\./);
    await path.fill('./lib//util.py');
    await path.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    const util = page.getByRole('option', { name: /lib\/util\.py/ });
    await util.waitFor();
    assert.equal(await util.getAttribute('aria-selected'), 'true');
    // The file list is one tab stop; the arrow keys move through it and open the file.
    const options = page.getByRole('listbox', { name: 'Files' }).getByRole('option');
    assert.deepEqual(await options.evaluateAll((os) => os.map((o) => [o.textContent, o.getAttribute('tabindex')])), [['main.py', '-1'], ['lib/util.pyA', '0']]);
    await util.focus();
    await page.keyboard.press('ArrowUp');
    const main = page.getByRole('option', { name: /^main\.py/ });
    await eventually(async () => assert.equal(await main.getAttribute('aria-selected'), 'true'));
    await eventually(async () => assert.match(await page.evaluate('document.activeElement && document.activeElement.textContent') as string, /^main\.py/));
    await page.keyboard.press('End');
    await eventually(async () => assert.equal(await util.getAttribute('aria-selected'), 'true'));
    // Deploy: Enter in the note deploys.
    await page.getByRole('button', { name: 'Deploy…' }).click();
    const note = page.getByLabel('Note (optional)');
    await note.fill('by keyboard');
    await note.press('Enter');
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/functions/${name}`)).body.function.activeVersion, 2));
    const v2 = (await c.platform.api.call('GET', `/functions/${name}/versions/2`)).body.version as { note: string; files: { path: string }[] };
    assert.equal(v2.note, 'by keyboard');
    assert.ok(v2.files.some((f) => f.path === 'lib/util.py'), JSON.stringify(v2.files));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('says a webhook needs its secret rotated once, and rotates it with Enter to a secret that signs', async () => {
    const name = fnName('hook');
    await createFunction(c.platform.api, name, { invocation: 'async' });
    const up = await c.platform.api.call('POST', `/functions/${name}/versions`, { files: filesOf({ 'main.py': ECHO }), manifest: { kind: 'function', name, triggers: [{ type: 'webhook', id: 'github', style: 'github', path: '/webhooks/github' }] } });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/triggers` });
    const hint = page.getByTestId('hook-secret-hint');
    await hint.waitFor();
    assert.equal(await textOf(page.getByTestId('hook-path')), 'POST /webhooks/github'); // where a delivery calls the app
    // An async-only function: the URL shown is the one that takes its calls (/fn/ answers 409).
    const shownUrl = await textOf(page.locator('.fn-head .url code'));
    assert.match(shownUrl, new RegExp(`/async/${name}/$`), shownUrl);
    assert.doesNotMatch(await textOf(page.getByRole('region', { name: 'HTTP trigger' })), new RegExp(`/fn/${name}/`));
    assert.match(await textOf(hint), /never shows it: rotate to get one/);
    const grace = page.getByLabel('Grace for the old secret');
    await grace.fill('0s');
    await grace.press('Enter');
    const shown = page.getByTestId('shown-once');
    await shown.waitFor();
    const secret = await textOf(shown);
    assert.equal(await hint.count(), 0);
    const body = JSON.stringify({ ref: 'refs/heads/main', commits: [] });
    const signed = await fetch(`${c.platform.url}/hooks/${name}/github`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
    });
    assert.equal(signed.status, 202, await signed.text());
    // Refused deliveries make no run; the tab says how many and what the last one was (ADR 0208).
    assert.equal(await page.getByTestId('hook-refused').count(), 0);
    for (const signature of [`sha256=${createHmac('sha256', 'not-it').update(body).digest('hex')}`, 'sha1=00']) {
      const refused = await fetch(`${c.platform.url}/hooks/${name}/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature } });
      assert.equal(refused.status, 401);
    }
    await page.reload();
    const refusedLine = page.getByTestId('hook-refused');
    await refusedLine.waitFor();
    assert.match(await textOf(refusedLine), /^2 deliveries refused at the signature since the platform started \(no run is made for them\); the last just now: a signature header of the wrong shape \(WEBHOOK_SIGNATURE_INVALID\)\.$/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('an invoke token obtained with an expiring token says when it stops working (ADR 0074)', async () => {
    const name = fnName('tokfn');
    await createFunction(c.platform.api, name);
    const made = await c.platform.api.call('POST', '/tokens', { role: 'deployer', label: 'for a day', expiresIn: '1d' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings`, token: made.body.secret as string });
    await page.getByRole('heading', { name }).waitFor();
    await page.getByRole('radio', { name: 'invoke token' }).check();
    await page.getByRole('button', { name: 'Save auth' }).click();
    await page.getByTestId('shown-once').waitFor();
    const ends = (await c.platform.api.call('GET', `/functions/${name}`)).body;
    assert.equal(ends.function.auth, 'token');
    assert.match(await textOf(page.getByTestId('shown-once-expires')), /stops working on .*when the token you signed in with does/);
    // Rotated (asked first, console round 4): the new one ends too; the admin token (no expiry) gets one that does not.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Rotate invoke token' }).click();
    await eventually(async () => assert.equal(await page.getByTestId('shown-once-expires').count(), 1));
    assert.deepEqual(problems, []);
    await context.close();
    const admin = await c.page({ hash: `#/functions/${name}/settings` });
    admin.page.once('dialog', (d) => void d.accept());
    await admin.page.getByRole('button', { name: 'Rotate invoke token' }).click();
    await admin.page.getByTestId('shown-once').waitFor();
    assert.equal(await admin.page.getByTestId('shown-once-expires').count(), 0);
    assert.deepEqual(admin.problems, []);
    await admin.context.close();
  });

  it('a function deleted elsewhere says so; another function\'s page never shows the previous one', async () => {
    const [gone, next] = [fnName('gone'), fnName('next')];
    await createFunction(c.platform.api, gone);
    await createFunction(c.platform.api, next);
    const { page, context, problems } = await c.page({ hash: `#/functions/${gone}/settings` });
    await page.getByRole('heading', { name: gone }).waitFor();
    assert.equal((await c.platform.api.call('DELETE', `/functions/${gone}`)).status, 204);
    await page.getByLabel('Timeout').fill('5s');
    await page.getByRole('button', { name: 'Save limits' }).click();
    const goneBox = page.getByTestId('function-gone');
    await goneBox.waitFor();
    assert.match(await textOf(goneBox), /FUNCTION_NOT_FOUND.*deleted \(in another tab or by the CLI\) while this page was open/s);
    // A function that does not exist, reached from another one's page: its own name, no stale header.
    await page.goto(`${c.platform.url}/console/#/functions/${next}/code`);
    await page.getByRole('heading', { name: next }).waitFor();
    await page.goto(`${c.platform.url}/console/#/functions/nosuch-${next}/code`);
    await goneBox.waitFor();
    assert.equal(await textOf(page.getByRole('heading', { level: 1 })), `nosuch-${next}`);
    assert.match(await textOf(goneBox), /There is no function of this name in this workspace/);
    assert.equal(await page.getByRole('heading', { name: next, exact: true }).count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a run that cannot be loaded, opened from another run, shows its error and never the other run', async () => {
    const name = fnName('runs');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);
    const called = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET', path: '/' });
    assert.equal(called.status, 200, JSON.stringify(called.body));
    const runId = (called.body as { runId: string }).runId;
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs?run=${runId}` });
    await page.getByTestId('run-detail').waitFor();
    const missing = '00000000-0000-4000-8000-000000000000';
    // In the page (a link followed, not a reload): the tab stays mounted and gets the new run id.
    await page.evaluate(`location.hash = '#/functions/${name}/runs?run=${missing}'`);
    await page.getByRole('alert').filter({ hasText: 'RUN_NOT_FOUND' }).waitFor();
    assert.equal(await page.getByTestId('run-detail').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('sends and shows a JSON integer past 2^53 with its digits (JSON.parse made 9007199254740993 ...992)', async () => {
    const name = fnName('bigint');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return {"got": event.json(), "big": 2**70}') });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/invoke` });
    await page.locator('#inv-payload').fill('{"id": 9007199254740993}');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    const body = await textOf(page.getByTestId('response-body'));
    assert.match(body, /"got": ?\{"id": ?9007199254740993\}/, body);
    assert.match(body, /"big": ?1180591620717411303424/, body);
    assert.match(await textOf(page.locator('#inv-curl')), /9007199254740993/);
    // Saved as a test case (its bytes), it comes back into the payload field as typed.
    await page.getByLabel('Test case name').fill('big id');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await eventually(async () => {
      const res = await c.platform.api.call('GET', `/functions/${name}/test-cases`);
      assert.ok((res.body as { items: { name: string }[] }).items.some((i) => i.name === 'big id'));
    });
    await page.locator('#inv-payload').fill('');
    await page.getByRole('button', { name: 'big id', exact: true }).click();
    assert.equal(await page.locator('#inv-payload').inputValue(), '{"id": 9007199254740993}');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('says when the search matches no function, and clears it', async () => {
    const name = fnName('findme');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page();
    await page.locator(`tr[data-function="${name}"]`).waitFor();
    await page.getByLabel('Search functions').fill('no-such-function-zz');
    const none = page.getByTestId('no-match');
    await none.waitFor();
    assert.match(await textOf(none), /No function name contains “no-such-function-zz”/);
    assert.equal(await page.getByRole('table', { name: 'Functions' }).count(), 0);
    await none.getByRole('button', { name: 'Clear the search' }).click();
    await page.locator(`tr[data-function="${name}"]`).waitFor();
    assert.equal(await page.getByLabel('Search functions').inputValue(), '');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('says an unknown page is not found, with a link to the functions list', async () => {
    const { page, context, problems } = await c.page({ hash: '#/nonsense' });
    const heading = page.getByTestId('not-found');
    await heading.waitFor();
    assert.equal(await textOf(heading), 'Page not found');
    assert.equal(await page.title(), 'Not found · fastapi-platform');
    await page.getByRole('link', { name: 'Go to the functions list' }).click();
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('marks the Settings field the API refused and moves the focus to it', async () => {
    const name = fnName('limits');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings` });
    assert.match(await textOf(page.getByTestId('env-empty')), /No variables\..*use a secret/);
    const form = page.getByRole('form', { name: 'Limits' });
    const timeout = form.getByLabel('Timeout');
    await timeout.fill('abc');
    await timeout.press('Enter');
    await eventually(async () => assert.match(await textOf(form.getByRole('alert')), /INVALID_FIELD.*limits\.timeout/));
    assert.equal(await timeout.getAttribute('aria-invalid'), 'true');
    assert.equal(await timeout.getAttribute('aria-describedby'), 'lim-timeout-hint limits-outcome');
    await eventually(async () => assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'lim-timeout'));
    await timeout.fill('10s');
    await form.getByLabel('Min warm').fill('50');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await eventually(async () => assert.equal(await form.getByLabel('Min warm').getAttribute('aria-invalid'), 'true'));
    assert.equal(await timeout.getAttribute('aria-invalid'), null);
    await form.getByLabel('Min warm').fill('0');
    // A count that is no number is refused at its field, in its words (it went as null: "expected number, received null").
    const concurrency = form.getByLabel('Concurrency per instance');
    const was = await concurrency.inputValue();
    await concurrency.fill('two');
    await concurrency.press('Enter');
    await eventually(async () => assert.match(await textOf(form.getByRole('alert')), /Concurrency per instance must be a whole number, got "two"/));
    assert.equal(await concurrency.getAttribute('aria-invalid'), 'true');
    await concurrency.fill(was);
    await form.getByLabel('Min warm').press('Enter');
    await form.getByText('Limits saved.').waitFor();
    assert.equal(await form.getByLabel('Min warm').getAttribute('aria-invalid'), null);
    assert.equal((await c.platform.api.call('GET', `/functions/${name}`)).body.function.limits.timeoutMs, 10_000);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the Logs tab shows a run older than the 20 it lists as the chosen one', async () => {
    const name = fnName('manyruns');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    print("line of", event["path"])', '    return {}') });
    await deploy(c.platform.api, name);
    const ids: string[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET', path: `/call-${i}` });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      ids.push((res.body as { runId: string }).runId);
    }
    await runsWritten(c.platform.url);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/logs?run=${ids[0]}` });
    await eventually(async () => assert.match(await textOf(page.getByTestId('logs')), /line of \/call-0$/m));
    await eventually(async () => assert.equal(await page.getByLabel('Run', { exact: true }).inputValue(), ids[0]));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the Logs tab keeps its stream and level filters in the URL: a reload keeps them (console round 3)', async () => {
    const name = fnName('logfilters');
    await deployed(c.platform.api, name, { 'main.py': py('import logging', 'def handler(event, context):', '    print("plain line")', '    logging.getLogger("app").warning("warned line")', '    return {}') });
    const run = await c.platform.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    await runsWritten(c.platform.url);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/logs?run=${run.body.runId}` });
    const logs = page.getByTestId('logs');
    await eventually(async () => assert.match(await textOf(logs), /plain line/));
    await page.getByLabel('Level').selectOption('warning');
    await eventually(async () => assert.doesNotMatch(await textOf(logs), /plain line/));
    assert.match(page.url(), /level=warning/);
    // A reload kept the run (in the URL) and showed every line under "any" level.
    await page.reload();
    await eventually(async () => assert.match(await textOf(logs), /warned line/));
    assert.equal(await page.getByLabel('Level').inputValue(), 'warning');
    assert.doesNotMatch(await textOf(logs), /plain line/);
    await page.getByLabel('Stream').selectOption('stdout');
    await page.getByText('No lines (or none match the filters).').waitFor();
    await page.goBack();
    await eventually(async () => assert.equal(await page.getByLabel('Stream').inputValue(), ''));
    await eventually(async () => assert.match(await textOf(logs), /warned line/));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('keeps an edit made just before leaving the Code tab (saved on leaving, not dropped)', async () => {
    const { name, page, context, problems } = await editingEcho('quickedit');
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\n# typed just before leaving\n');
    // At once, well within the autosave's delay.
    await page.getByRole('tab', { name: 'Invoke' }).click();
    await eventually(async () => {
      const draft = await c.platform.api.call('GET', `/functions/${name}/draft`);
      assert.equal(draft.status, 200, JSON.stringify(draft.body));
      assert.match((draft.body as { draft: { files: { content: string }[] } }).draft.files[0]!.content, /# typed just before leaving/);
    });
    await page.getByRole('tab', { name: 'Code' }).click();
    await eventually(async () => assert.match(await page.locator('.cm-content').innerText(), /typed just before leaving/));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a function with no version says "not deployed", a deploy clears "draft saved", a refused case name is said at its field', async () => {
    const name = fnName('states');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: '#/functions' });
    // Not deployed: it has no instance to be cold (the badge said "cold" before).
    await eventually(async () => assert.equal(await textOf(page.locator(`tr[data-function="${name}"] .badge`)), 'not deployed'));
    await page.goto(`${c.platform.url}/console/#/functions/${name}`);
    await page.locator('.badge-not-deployed').waitFor();
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);

    await page.goto(`${c.platform.url}/console/#/functions/${name}/code`);
    await page.locator('.cm-content').waitFor();
    await typeAtEnd(page, '\n# an edit\n');
    await eventually(async () => assert.match(await textOf(page.getByTestId('draft-state')), /draft saved/));
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/functions/${name}`)).body.function.activeVersion, 2));
    // The draft went with the deploy: its "saved at" stayed on the toolbar before.
    await eventually(async () => assert.equal(await textOf(page.getByTestId('draft-state')), 'editing over version 2'));

    await page.getByRole('tab', { name: 'Invoke' }).click();
    const caseName = page.getByLabel('Test case name');
    await caseName.fill('!bad name');
    await caseName.press('Enter');
    const said = page.getByTestId('case-error').getByRole('alert');
    await said.waitFor();
    assert.match(await textOf(said), /INVALID/);
    assert.equal(await caseName.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('invoke-result').count(), 0);
    await caseName.fill('fine name');
    assert.equal(await page.getByTestId('case-error').getByRole('alert').count(), 0);
    await caseName.press('Enter');
    await page.getByRole('button', { name: 'Run fine name' }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a deploy from the Code tab whose code does not load is refused in the dialog, with what it printed and its traceback; the active version keeps serving', async () => {
    const { name, page, context, problems } = await editingEcho('startfail');
    await page.keyboard.press('Control+Home');
    await page.keyboard.insertText('print("loading <b>the</b> config")\nimport no_such_module_here\n');
    // And a platform.yaml whose env and timeout the refused deploy must not leave behind.
    await page.getByRole('button', { name: 'New file' }).click();
    await page.getByRole('dialog', { name: 'New file' }).getByLabel('Path').fill('platform.yaml');
    await page.getByRole('dialog', { name: 'New file' }).getByLabel('Path').press('Enter');
    await page.locator('.cm-content').click();
    await page.keyboard.insertText(`kind: function\nname: ${name}\nenv:\n  NEW_VAR: "x"\nlimits:\n  timeout: 21s\n`);
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /no problems/));
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    const failure = page.getByTestId('start-failure');
    await failure.waitFor();
    assert.match(await textOf(page.getByRole('dialog').getByRole('alert')), /DEPLOY_START_FAILED.*ModuleNotFoundError: No module named 'no_such_module_here' \(main\.py:2\); version 1 keeps serving/);
    // The function's own text is shown as text (no markup made of it).
    assert.match(await textOf(failure), /loading <b>the<\/b> config/);
    assert.match(await textOf(failure), /Traceback \(most recent call last\)/);
    assert.equal(await failure.locator('b').count(), 0);
    const fn = (await c.platform.api.call('GET', `/functions/${name}`)).body.function as { activeVersion: number; env: Record<string, string>; limits: { timeoutMs: number } };
    assert.equal(fn.activeVersion, 1);
    // The settings the deploy changed before it was refused are put back.
    assert.deepEqual(fn.env, {});
    assert.equal(fn.limits.timeoutMs, 30_000);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the time window picker is one tab stop that the arrow keys move, and its window stays in the URL (console round 3)', async () => {
    const name = fnName('window');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/usage` });
    const group = page.getByRole('radiogroup', { name: 'Time window' });
    await group.waitFor();
    const checked = async (): Promise<string> => textOf(group.getByRole('radio', { checked: true }));
    const start = await checked();
    assert.deepEqual(await group.getByRole('radio').evaluateAll((rs) => rs.filter((r) => r.getAttribute('tabindex') === '0').length), 1);
    await group.getByRole('radio', { checked: true }).focus();
    await page.keyboard.press('ArrowRight');
    await eventually(async () => assert.notEqual(await checked(), start));
    const moved = await checked();
    await eventually(async () => assert.equal(await page.evaluate('document.activeElement && document.activeElement.textContent'), moved));
    await page.keyboard.press('ArrowLeft');
    await eventually(async () => assert.equal(await checked(), start));
    // The window chosen is in the URL: a reload keeps it (it showed 1h again; console round 3), and
    // the steps through the windows are no entries of Back (each replaced the last).
    const entries = await page.evaluate('history.length');
    await group.getByRole('radio', { name: '7d' }).click();
    await eventually(async () => assert.equal(await checked(), '7d'));
    assert.match(page.url(), /window=7d/);
    assert.equal(await page.evaluate('history.length'), entries);
    await page.reload();
    await group.waitFor();
    assert.equal(await checked(), '7d');
    await page.goto(`${c.platform.url}/console/#/coldstarts?window=30d`);
    await eventually(async () => assert.equal(await checked(), '30d'));
    assert.deepEqual(problems, []);
    await context.close();
  });
  it('Invoke of a function that takes one kind of call: no /fn/ curl line for an async-only one (it answers 409), no async radio for a sync-only one', async () => {
    const asyncOnly = fnName('asynconly');
    const syncOnly = fnName('synconly');
    for (const [name, invocation] of [[asyncOnly, 'async'], [syncOnly, 'sync']] as const) {
      await createFunction(c.platform.api, name, { invocation });
      await upload(c.platform.api, name, { 'main.py': ECHO });
      await deploy(c.platform.api, name);
    }
    // What a caller of the URL the curl line showed got:
    const refused = await request(`${c.platform.url}/fn/${asyncOnly}/`, { method: 'POST', body: Buffer.from('{}') });
    assert.equal(refused.status, 409);
    const { page, context, problems } = await c.page({ hash: `#/functions/${asyncOnly}/invoke` });
    await page.getByRole('radio', { name: 'async', exact: true }).waitFor();
    assert.match(await textOf(page.locator('#inv-curl')), new RegExp(`/async/${asyncOnly}/`), 'async: the URL that takes its calls');
    await page.getByRole('radio', { name: 'sync', exact: true }).check();
    // The sync call is the API's test invoke, which runs it; its /fn/ URL is not offered as a curl line.
    await page.getByTestId('no-curl').waitFor();
    assert.equal(await page.locator('#inv-curl').count(), 0);
    assert.match(await textOf(page.getByTestId('mode-note')), /async calls only.*test call through the API.*409 INVOCATION_MODE_NOT_ALLOWED/s);
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();

    await page.goto(page.url().replace(/#.*$/, `#/functions/${syncOnly}/invoke`));
    await page.getByRole('radio', { name: 'sync', exact: true }).waitFor();
    assert.equal(await page.getByRole('radio', { name: 'async', exact: true }).isDisabled(), true);
    assert.match(await textOf(page.getByTestId('mode-note')), /sync calls only/);
    assert.match(await textOf(page.locator('#inv-curl')), new RegExp(`/fn/${syncOnly}/`));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the platform out of reach mid-session: the header says so (not `cold`), Load more says its failure, the list shows no endless Loading; all back once it answers (console round ui1)', async () => {
    const name = await echoCalled('reach', 51);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs` });
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    await page.locator('.fn-head .badge', { hasText: 'warm' }).waitFor();
    // The browser loses the platform (as when it stops: every fetch fails).
    await context.setOffline(true);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByRole('alert').filter({ hasText: 'NETWORK' }).waitFor();
    await page.getByTestId('platform-unreachable').waitFor();
    assert.equal(await textOf(page.locator('.fn-head .badge')), 'unknown');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Functions' }).click();
    // The Runs page's alert may still be there for a moment after the click: wait for the list's
    // own answer (its heading), then it says its failure and shows no Loading.
    await page.getByRole('heading', { name: 'Functions', exact: true, level: 1 }).waitFor();
    await eventually(async () => {
      assert.equal(await page.getByText('Loading functions…').count(), 0);
      assert.ok((await page.getByRole('alert').filter({ hasText: 'NETWORK' }).count()) > 0);
    });
    await context.setOffline(false);
    await page.goBack();
    await page.getByRole('button', { name: 'Load more' }).click();
    await eventually(async () => assert.equal(await page.locator('table[aria-label="Runs"] tbody tr').count(), 51));
    await page.getByTestId('platform-unreachable').waitFor({ state: 'detached' });
    await page.locator('.fn-head .badge', { hasText: 'warm' }).waitFor();
    assert.deepEqual(problems.filter((p) => !p.includes('ERR_INTERNET_DISCONNECTED')), []);
    await context.close();
  });

  it('the focus ring, the state badges and the code\'s colours can be seen: 3:1 and 4.5:1 against what is under them, light and dark (console round ui1)', async () => {
    const name = await echoCalled('contrast', 2);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs` });
    // [text or outline colour, the first opaque background under it] of the element, as rgb triples.
    // `root`: where to look (the editor lives in a shadow root, which document.querySelectorAll does not enter).
    const colours = (selector: string, outline: boolean, root = 'document'): Promise<[number[], number[]][]> => page.evaluate(`[...${root}.querySelectorAll(${JSON.stringify(selector)})].map((el) => {
      const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
      let under = el.parentElement, bg = [255, 255, 255];
      for (; under; under = under.parentElement) { const c = rgb(getComputedStyle(under).backgroundColor); if (c.length === 3 || c[3] === 1) { bg = c.slice(0, 3); break; } }
      return [rgb(${outline ? 'getComputedStyle(el).outlineColor' : 'getComputedStyle(el).color'}).slice(0, 3), bg];
    })`);
    const ratio = ([fg, bg]: [number[], number[]]): number => {
      const lum = (c: number[]): number => { const [r, g, b] = c.map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!; };
      const [x, y] = [lum(fg), lum(bg)];
      return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
    };
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.locator('table[aria-label="Runs"] .badge-cold').first().waitFor();
      await page.locator('table[aria-label="Runs"] .badge-warm').first().waitFor();
      for (const pair of await colours('.badge', false)) assert.ok(ratio(pair) >= 4.5, `${scheme}: a badge at ${ratio(pair).toFixed(2)}:1 (${JSON.stringify(pair)})`);
      await page.getByRole('button', { name: 'Refresh' }).focus();
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Tab');
      const ring = await colours(':focus-visible', true);
      assert.equal(ring.length, 1);
      assert.ok(ratio(ring[0]!) >= 3, `${scheme}: the focus ring at ${ratio(ring[0]!).toFixed(2)}:1`);
    }
    // A run's timeline bar: white words on coloured segments (init and handler were 3.7:1; console round 8).
    await page.locator('table[aria-label="Runs"] tbody tr', { has: page.locator('.badge-cold') }).getByRole('link').click();
    await page.locator('.timeline-bar .seg-init').waitFor();
    // Typed by hand: this file is compiled without the DOM's types.
    type Styled = { ownerDocument: { defaultView: { getComputedStyle: (el: unknown) => { color: string; backgroundColor: string } } } };
    const segments = (await page.locator('.timeline-bar .seg').evaluateAll((els: Styled[]) => els.map((el) => { const st = el.ownerDocument.defaultView.getComputedStyle(el); return [st.color, st.backgroundColor]; })))
      .map((pair) => pair.map((css) => (css.match(/[\d.]+/g) ?? []).map(Number).slice(0, 3)) as [number[], number[]]);
    assert.ok(segments.length >= 2, `${segments.length} segments`);
    for (const pair of segments) assert.ok(ratio(pair) >= 4.5, `a timeline segment at ${ratio(pair).toFixed(2)}:1 (${JSON.stringify(pair)})`);
    // The Code tab's syntax colours (keywords, strings, a function's name, escapes) against the editor.
    await page.goto(`${c.platform.url}/console/#/functions/${name}/code`);
    await page.locator('.cm-content').waitFor();
    const editor = "document.querySelector('[data-testid=editor]').shadowRoot";
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const tokens = await colours('.cm-content .cm-line span', false, editor);
      assert.ok(tokens.length >= 5, `${tokens.length} coloured tokens`);
      for (const pair of tokens) assert.ok(ratio(pair) >= 4.5, `${scheme}: code at ${ratio(pair).toFixed(2)}:1 (${JSON.stringify(pair)})`);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a cron trigger\'s next fire times say their time zone, the schedule\'s, and the browser\'s when it is another (console round ui1)', async () => {
    const name = fnName('zone');
    const manifest = { kind: 'function', name, triggers: [{ type: 'cron', id: 'nine', schedule: '0 0 9 * * *', timezone: 'Europe/Berlin', method: 'GET', path: '/api/cron' }] };
    await createFunction(c.platform.api, name, { invocation: 'both' });
    await upload(c.platform.api, name, { 'main.py': ECHO }, { manifest });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/triggers`, timezoneId: 'Asia/Tokyo' });
    const fires = page.getByTestId('next-fires').getByRole('listitem');
    await fires.first().waitFor();
    // 09:00 in Berlin (GMT+1 in winter, GMT+2 in summer) is 17:00 or 16:00 in Tokyo: both said, each with its zone.
    assert.match(await textOf(fires.first()), /, 9:00:00 AM GMT\+[12] · .*, [45]:00:00 PM GMT\+9 here$/);
    assert.equal(await textOf(page.getByTestId('cron-call')), 'GET /api/cron'); // where each tick calls the app (ADR 0175)
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a cron trigger\'s missed ticks: the last one and how many since the last fired tick, with a link to Runs (loose ends round 12, ADR 0238)', async () => {
    const name = fnName('missed');
    const manifest = { kind: 'function', name, triggers: [{ type: 'cron', id: 'nine', schedule: '0 0 9 * * *' }] };
    await createFunction(c.platform.api, name, { invocation: 'both' });
    await upload(c.platform.api, name, { 'main.py': ECHO }, { manifest });
    await deploy(c.platform.api, name);
    // The tick lock's note as a start leaves it after an outage of 2 ticks (the platform reads it live).
    const lastAt = Date.UTC(2026, 0, 2, 9);
    const db = new Database(join(c.platform.stateDir, 'cron-ticks.db'));
    db.prepare('INSERT INTO notes (function, trigger_id, last_tick_ms, last_missed_ms, missed) VALUES (?, ?, ?, ?, 2)').run(name, 'nine', lastAt, lastAt);
    db.close();
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/triggers`, timezoneId: 'UTC' });
    const missed = page.getByTestId('cron-missed');
    await missed.waitFor();
    // Before: the tab said nothing of missed ticks.
    assert.match(await textOf(missed), /^Missed ticks: the last at .*Jan.*2, 2026.*9:00:00 AM.* \(.*ago\); 2 since the last tick that fired\..*Runs lists them as CRON_TICK_MISSED\.$/);
    assert.match(await missed.getByRole('link', { name: 'Runs' }).getAttribute('href') ?? '', /runs\?trigger=cron/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('headings go down one level at a time on every page (h1, then h2 for its cards: they skipped to h3; console round ui1)', async () => {
    const name = await echoCalled('headings', 1);
    const runId = (await c.platform.api.call('GET', `/runs?function=${name}&limit=1`)).body.items[0].runId as string;
    const { page, context, problems } = await c.page({ hash: '#/functions' });
    const pages = ['#/functions', '#/new', '#/coldstarts', '#/workspaces', '#/tokens',
      ...['code', 'invoke', 'triggers', 'logs', 'settings', 'data', 'usage'].map((tab) => `#/functions/${name}/${tab}`), `#/functions/${name}/runs?run=${runId}`];
    for (const hash of pages) {
      await page.goto(`${c.platform.url}/console/${hash}`);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle'); // its cards loaded
      const levels: number[] = await page.evaluate("[...document.querySelectorAll('main h1, main h2, main h3, main h4, main h5, main h6')].map((h) => Number(h.tagName[1]))");
      levels.forEach((level, i) => assert.ok(level <= (levels[i - 1] ?? 1) + 1, `${hash}: h${level} after h${levels[i - 1]} (${levels.join(' ')})`));
    }
    assert.deepEqual(problems, []);
    await context.close();
  });
});
