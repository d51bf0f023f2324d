/**
 * The console under tenants (docs/adr/0011-tenants.md, docs/console.md "Sign in"), in a real
 * Chromium against a real platform: a workspace token signs in, the header names its workspace
 * and the list holds only that workspace's functions (another's is not found, even by its URL);
 * below the deployer role the Code tab runs no checks; the admin token starts in `default` and
 * switches workspace (the API gets FP-Workspace).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Route } from 'playwright-core';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, fnName } from './platform-harness.js';
import { Caller, deployAs, echoFunction, makeTenant, workspaceName, type Platform } from './tenants-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

describe('the console with workspaces', { skip }, () => {
  it('a workspace token sees only its workspace; the admin token switches between them', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const t = await makeTenant(p);
    const mine = fnName('mine');
    const outside = fnName('outside');
    await deployAs(t.deployer, mine, echoFunction('mine'));
    await deployAs(new Caller(p, p.rootToken), outside, echoFunction('default'));
    const viewer = (await t.owner.expect(201, 'POST', '/tokens', { role: 'viewer', label: 'console viewer' })).body.secret as string;

    // The workspace's viewer: its workspace in the header, its function only.
    const { page, context, problems } = await c.page({ token: viewer });
    const rows = page.getByRole('table', { name: 'Functions' }).locator('tbody tr');
    await page.locator(`tr[data-function="${mine}"]`).waitFor();
    assert.equal(await textOf(page.getByTestId('workspace')), `workspace ${t.name}`);
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-function'))), [mine]);
    assert.match(await textOf(page.locator('.who')), /console viewer · viewer/);
    // Another workspace's function, even by its URL: not found.
    await page.goto(`${c.platform.url}/console/#/functions/${outside}`);
    await page.getByRole('alert').filter({ hasText: 'FUNCTION_NOT_FOUND' }).waitFor();
    // Its own function's code is shown read-only: no check runs for a viewer.
    await page.goto(`${c.platform.url}/console/#/functions/${mine}/code`);
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /read-only/));
    assert.deepEqual(problems, []);
    await context.close();

    // The admin token starts in default, then picks the workspace.
    const admin = await c.page();
    await admin.page.locator(`tr[data-function="${outside}"]`).waitFor();
    assert.equal(await admin.page.locator(`tr[data-function="${mine}"]`).count(), 0);
    await admin.page.getByTestId('workspace').selectOption(t.name);
    await admin.page.locator(`tr[data-function="${mine}"]`).waitFor();
    assert.equal(await admin.page.locator(`tr[data-function="${outside}"]`).count(), 0);
    assert.deepEqual(admin.problems, []);
    await admin.context.close();
  });

  it('the picker lists workspaces made and deleted elsewhere; the one in use deleted elsewhere moves the console to default', async () => {
    const root = new Caller({ urls: [c.platform.url], rootToken: c.platform.api.token! }, c.platform.api.token!);
    const { page, context, problems } = await c.page();
    const picker = page.getByTestId('workspace');
    const options = async (): Promise<string[]> => picker.locator('option').evaluateAll((os) => os.map((o) => o.textContent ?? ''));
    await eventually(async () => assert.ok((await options()).includes('default')));

    // Made by the CLI after the page loaded: listed once the picker is opened (no reload).
    const made = workspaceName('made');
    await root.expect(201, 'POST', '/workspaces', { name: made });
    await picker.focus();
    await eventually(async () => assert.ok((await options()).includes(made), JSON.stringify(await options())));
    await picker.selectOption(made);
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    await page.getByText('No functions yet.').waitFor();

    // Deleted by the CLI while the console acts in it: the next call moves the console to default, and says so.
    await root.expect(204, 'DELETE', `/workspaces/${made}`);
    await page.getByRole('link', { name: 'Cold starts' }).click();
    const notice = page.getByTestId('session-notice');
    await notice.waitFor();
    assert.match(await textOf(notice), new RegExp(`"${made}" was deleted.*now acts in "default"`));
    await eventually(async () => assert.equal(await picker.inputValue(), 'default'));
    // The picker reads the list again once it acts in default (one request after the move: CI
    // found the old list there for that moment).
    await eventually(async () => assert.ok(!(await options()).includes(made), JSON.stringify(await options())));
    // The functions list of default, without an error left on the page.
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    await eventually(async () => assert.equal(await page.getByRole('alert').count(), 0));
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await notice.count(), 0);

    // Deleted elsewhere while the tab is away: opening the picker finds it gone and moves too.
    const other = workspaceName('gone');
    await root.expect(201, 'POST', '/workspaces', { name: other });
    await picker.focus();
    await eventually(async () => assert.ok((await options()).includes(other)));
    await picker.selectOption(other);
    await page.getByText('No functions yet.').waitFor();
    await root.expect(204, 'DELETE', `/workspaces/${other}`);
    await page.getByRole('link', { name: 'Functions' }).first().focus();
    await picker.focus();
    await eventually(async () => assert.equal(await picker.inputValue(), 'default'));
    await eventually(async () => assert.ok(!(await options()).includes(other)));
    assert.match(await textOf(page.getByTestId('session-notice')), new RegExp(`"${other}" was deleted`));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a workspace token whose workspace is deleted is signed out with the reason', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const t = await makeTenant(p);
    const owner = (await t.root.expect(201, 'POST', '/tokens', { role: 'owner', label: 'console owner' })).body.secret as string;
    const { page, context, problems } = await c.page({ token: owner });
    await page.getByText('No functions yet.').waitFor();
    await new Caller(p, p.rootToken).expect(204, 'DELETE', `/workspaces/${t.name}`);
    await page.getByRole('link', { name: 'Cold starts' }).click();
    await page.getByLabel('Token', { exact: true }).waitFor();
    assert.match(await textOf(page.getByTestId('signed-out')), /^Signed out: .+\[[A-Z_]+\]$/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the admin creates, switches to and deletes workspaces on the Workspaces page', async () => {
    const root = new Caller({ urls: [c.platform.url], rootToken: c.platform.api.token! }, c.platform.api.token!);
    const { page, context, problems } = await c.page();
    await page.getByRole('link', { name: 'Workspaces' }).click();
    await page.getByRole('heading', { name: 'Workspaces', exact: true }).waitFor();
    const form = page.getByRole('form', { name: 'New workspace' });
    const field = form.getByLabel('Name');
    await field.fill('bad_name');
    assert.match(await textOf(form.locator('#ws-name-problem')), /Lower-case letters, digits and hyphens only/);
    const name = workspaceName('page');
    await field.fill(name);
    assert.equal(await form.locator('#ws-name-problem').count(), 0);
    await field.press('Enter');
    await form.getByText(`Workspace ${name} created.`).waitFor();
    assert.equal((await root.call('GET', `/workspaces/${name}`)).status, 200);
    // Listed here and in the picker at once.
    await page.locator(`tr[data-workspace="${name}"]`).waitFor();
    const picker = page.getByTestId('workspace');
    await eventually(async () => assert.ok((await picker.locator('option').allTextContents()).includes(name)));
    // The same name again: the API's refusal, in the form.
    await field.fill(name);
    await field.press('Enter');
    await eventually(async () => assert.match(await textOf(form.getByRole('alert')), /WORKSPACE_EXISTS/));

    // A workspace with a function cannot be deleted: said at its row.
    await new Caller({ urls: [c.platform.url], rootToken: c.platform.api.token! }, c.platform.api.token!, name).expect(201, 'POST', '/functions', { name: 'held' });
    page.on('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: `Delete ${name}` }).click();
    const row = page.locator(`tr[data-workspace="${name}"]`);
    await eventually(async () => assert.match(await textOf(row.getByRole('alert')), /WORKSPACE_NOT_EMPTY/));
    await row.getByRole('button', { name: `Switch to ${name}` }).click();
    await page.locator('tr[data-function="held"]').waitFor();
    assert.equal(await picker.inputValue(), name);
    await root.expect(204, 'DELETE', `/functions/held`, undefined, { 'fp-workspace': name });

    // Deleting the one it acts in moves the console to default.
    await page.getByRole('link', { name: 'Workspaces' }).click();
    await page.getByRole('button', { name: `Delete ${name}` }).click();
    await eventually(async () => assert.equal(await page.locator(`tr[data-workspace="${name}"]`).count(), 0));
    assert.equal(await picker.inputValue(), 'default');
    assert.equal(await page.getByRole('button', { name: 'Delete default' }).count(), 0);
    assert.equal((await root.call('GET', `/workspaces/${name}`)).status, 404);
    assert.deepEqual(problems, []);
    await context.close();

    // A workspace token has no Workspaces link.
    const t = await makeTenant({ urls: [c.platform.url], rootToken: c.platform.api.token! });
    const viewer = (await t.owner.expect(201, 'POST', '/tokens', { role: 'viewer', label: 'no workspaces page' })).body.secret as string;
    const other = await c.page({ token: viewer });
    assert.equal(await other.page.getByRole('link', { name: 'Workspaces' }).count(), 0);
    await other.context.close();
  });

  it('offers only what the role allows: a viewer reads, an invoker also calls, an owner also deletes', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const t = await makeTenant(p);
    const fn = fnName('roles');
    await deployAs(t.deployer, fn, echoFunction('roles'));
    const token = async (role: string): Promise<string> => (await t.owner.expect(201, 'POST', '/tokens', { role, label: `console ${role}` })).body.secret as string;

    const viewer = await c.page({ token: await token('viewer') });
    const v = viewer.page;
    await v.locator(`tr[data-function="${fn}"]`).waitFor();
    assert.equal(await v.getByRole('link', { name: 'New function' }).count(), 0);
    await v.goto(`${c.platform.url}/console/#/functions/${fn}/invoke`);
    await v.getByTestId('role-note').waitFor();
    assert.match(await textOf(v.getByTestId('role-note')), /role \(viewer\) can read this function but not call it/);
    assert.equal(await v.getByRole('button', { name: 'Invoke', exact: true }).count(), 0);
    assert.equal(await v.getByLabel('Test case name').count(), 0);
    assert.equal(await v.getByTestId('pause-toggle').count(), 0);
    await v.getByRole('tab', { name: 'Settings' }).click();
    await v.getByTestId('role-note').filter({ hasText: 'can read these settings, not change them' }).waitFor();
    assert.equal(await v.getByRole('button', { name: 'Save limits' }).isDisabled(), true);
    assert.equal(await v.getByLabel('Timeout').isDisabled(), true);
    assert.equal(await v.getByRole('button', { name: 'Delete function' }).count(), 0);
    await v.goto(`${c.platform.url}/console/#/new`);
    assert.match(await textOf(v.getByTestId('role-note')), /cannot create functions/);
    assert.deepEqual(viewer.problems, []);
    await viewer.context.close();

    const invoker = await c.page({ token: await token('invoker'), hash: `#/functions/${fn}/invoke` });
    await invoker.page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await invoker.page.getByTestId('invoke-result').getByText('HTTP 200').waitFor();
    await invoker.page.getByRole('tab', { name: 'Settings' }).click();
    assert.equal(await invoker.page.getByRole('button', { name: 'Save limits' }).isDisabled(), true);
    assert.deepEqual(invoker.problems, []);
    await invoker.context.close();

    const owner = await c.page({ token: await token('owner'), hash: `#/functions/${fn}/settings` });
    await owner.page.getByRole('button', { name: 'Delete function' }).waitFor();
    assert.equal(await owner.page.getByRole('button', { name: 'Save limits' }).isDisabled(), false);
    assert.equal(await owner.page.getByTestId('role-note').count(), 0);
    assert.deepEqual(owner.problems, []);
    await owner.context.close();
  });

  it('the picker switches on Enter with the keyboard, not at each arrow key', async () => {
    const root = new Caller({ urls: [c.platform.url], rootToken: c.platform.api.token! }, c.platform.api.token!);
    const names = [workspaceName('kb'), workspaceName('kb')];
    for (const n of names) await root.expect(201, 'POST', '/workspaces', { name: n });
    const { page, context, problems } = await c.page();
    const picker = page.getByTestId('workspace');
    await picker.focus();
    await eventually(async () => assert.ok((await picker.locator('option').allTextContents()).includes(names[1]!)));
    const options = await picker.locator('option').allTextContents();
    const at = options.indexOf('default');
    assert.ok(at >= 0 && at < options.length - 1, JSON.stringify(options));
    const seen: string[] = [];
    page.on('request', (r) => { const w = r.headers()['fp-workspace']; if (w !== undefined) seen.push(w); });
    await page.keyboard.press('ArrowDown');
    const chosen = options[at + 1]!;
    await eventually(async () => assert.equal(await picker.inputValue(), chosen));
    // Chosen, not switched: the console still acts in default.
    assert.equal(await page.evaluate('JSON.parse(sessionStorage.getItem("fp.console.session")).workspace'), 'default');
    await page.keyboard.press('Enter');
    await eventually(async () => assert.equal(await page.evaluate('JSON.parse(sessionStorage.getItem("fp.console.session")).workspace'), chosen));
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    await eventually(async () => assert.ok(seen.includes(chosen)));
    for (const n of names) await root.expect(204, 'DELETE', `/workspaces/${n}`);
    assert.deepEqual(problems, []);
    await context.close();
  });
  it('a workspace chosen while the functions list loads: the rest of the list\'s calls are not sent under the new workspace', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const t = await makeTenant(p);
    for (let i = 0; i < 10; i++) await createFunction(c.platform.api, fnName(`many${i}`));
    const { page, context, problems } = await c.page({ hash: '#/coldstarts' });
    // The list's usage calls of `default` are held until the switch is made.
    const held: Route[] = [];
    const sent: { workspace: string | undefined; url: string }[] = [];
    let release = false;
    await page.route(/\/api\/v1\/functions\/[^/]+\/usage/, async (route) => {
      const workspace = route.request().headers()['fp-workspace'];
      sent.push({ workspace, url: route.request().url() });
      if (workspace === 'default' && !release) held.push(route);
      else await route.continue();
    });
    await page.goto(page.url().replace(/#.*$/, '#/functions'));
    await eventually(async () => assert.ok(held.length >= 6, `${held.length} held`));
    await page.getByTestId('workspace').selectOption(t.name);
    await page.getByText('No functions yet.').waitFor();
    release = true;
    for (const route of held) await route.continue();
    // Generous: the old list's next calls went out as soon as its held ones answered.
    await new Promise((r) => setTimeout(r, 2000));
    // The new workspace has no function: every usage call under its name was the old list's (404s).
    assert.deepEqual(sent.filter((s) => s.workspace === t.name), []);
    assert.deepEqual(problems.filter((m) => !/404/.test(m)), []);
    await context.close();
  });
});
