/**
 * The console's pages before there is anything to show (developer-experience round 9): a function
 * created through the API or `functions create` has no version and no draft; its Code tab said
 * "no file" over an empty editor, "Checking…" for ever and offered Deploy… of nothing. It now says
 * why and starts the code from the function's preset template. The sign-in page, before any
 * session, says where the admin token was kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, fnName } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

describe('the console with nothing to show yet', { skip }, () => {
  it('a function created without code: the Code tab says so, offers its template, and the template deploys and answers', async () => {
    const name = fnName('bare');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    const empty = page.getByTestId('code-empty');
    await empty.waitFor();
    assert.match(await textOf(empty), /No code yet/);
    assert.equal(await textOf(page.getByTestId('check-state')), 'no files yet');
    assert.equal(await page.getByRole('button', { name: 'Deploy…' }).isDisabled(), true);

    await empty.getByRole('button', { name: 'Start from the http template' }).click();
    await page.locator('.cm-content').getByText('def handler(event, context):').waitFor();
    assert.equal(await empty.count(), 0);
    await eventually(async () => assert.match(await textOf(page.getByTestId('draft-state')), /draft saved/));
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /no problems/));
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.locator('.fn-head').getByText('version 1').waitFor();
    const answer = await fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "Ada"}' });
    assert.equal(answer.status, 200);
    assert.match(await answer.text(), /hello, Ada/);
    assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
    await context.close();
  });

  it('the sign-in page says where the admin token was kept before offering to revoke it', async () => {
    const context = await c.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${c.platform.url}/console/`);
    const hint = page.locator('p.muted').filter({ hasText: 'Sign in with' });
    // It offered only --rotate-admin-token, which revokes the token the CLI had kept in credentials.json.
    assert.match(await textOf(hint), /credentials\.json.*--rotate-admin-token/s);
    assert.match(await textOf(hint), /Tokens page/);
    await context.close();
  });

  it('New function with a database binding starts from code that uses it (context.db), as init --template mongo does', async () => {
    const { page, context, problems } = await c.page({ hash: '#/new' });
    const name = fnName('withdb');
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Data binding').selectOption('mongo');
    await page.getByLabel('Database', { exact: true }).fill('orders9');
    await page.getByRole('button', { name: 'Create function' }).click();
    await page.getByTestId('created').waitFor();
    const draft = (await c.platform.api.call('GET', `/functions/${name}/draft`)).body as { draft: { files: { path: string; content: string }[] } };
    const file = (path: string): string => draft.draft.files.find((f) => f.path === path)?.content ?? '';
    // The http template's code ignored the binding the user had just chosen.
    assert.match(file('main.py'), /context\.db\.orders/);
    assert.ok(file('main.py').startsWith(`"""${name}:`), file('main.py').slice(0, 80));
    assert.match(file('platform.yaml'), /\ndata:\n {2}mongo:\n {4}database: orders9\n/);
    assert.deepEqual(JSON.parse(file('payload.json')), { item: 'pen', qty: 2 });
    const checked = await c.platform.api.call('POST', '/validate', { files: draft.draft.files });
    assert.equal((checked.body as { ok: boolean }).ok, true, JSON.stringify(checked.body));
    assert.deepEqual(problems, []);
    await context.close();
  });
});
