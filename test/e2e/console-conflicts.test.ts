/**
 * The console where two sources of one thing meet (developer-experience round 9,
 * docs/adr/0120-two-tabs-and-public-url.md):
 * - two tabs editing one function: the later save is refused (DRAFT_CONFLICT) and said, never laid
 *   over the other tab's edits; the user loads the saved draft or saves theirs over it, on purpose;
 * - New function's preview shows the URL the API gives once the function exists (FP_PUBLIC_URL), not
 *   the console's own host;
 * - a deploy from the Code tab sets the env and limits to platform.yaml's: the Deploy dialog names
 *   the env values saved in Settings that it drops, and the limits it changes, before it is confirmed;
 * - a session that ends mid-edit (the token revoked or expired): the edits not saved yet are kept in
 *   the tab and saved once signed in again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSkip, eventually, textOf, typeAtEnd, useConsole } from './console-harness.js';
import { createFunction, deploy, errorOf, fnName, py, upload } from './platform-harness.js';

const skip = consoleSkip();
const PUBLIC_URL = 'http://functions.example.test:8443';
const c = useConsole({ poolSize: 1, publicUrl: PUBLIC_URL }, skip);

const ECHO = py(
  'def handler(event, context):',
  '    return {"ok": True}',
);

async function draftMain(name: string): Promise<string | undefined> {
  const res = await c.platform.api.call('GET', `/functions/${name}/draft`);
  return (res.body as { draft?: { files: { path: string; content: string }[] } }).draft?.files.find((f) => f.path === 'main.py')?.content;
}

describe('the console where two sources of one thing meet', { skip }, () => {
  it('two tabs editing one function: the later save is refused and said, the first edits kept; load theirs or save mine over it', async () => {
    const name = fnName('tabs');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);
    const a = await c.page({ hash: `#/functions/${name}/code` });
    const b = await c.page({ hash: `#/functions/${name}/code` });
    await a.page.locator('.cm-content').waitFor();
    await b.page.locator('.cm-content').waitFor();

    // Tab A edits and saves; tab B, opened before that save, edits too.
    await typeAtEnd(a.page, '\n# EDIT OF TAB A\n');
    await eventually(async () => assert.match(await textOf(a.page.getByTestId('draft-state')), /draft saved/));
    await typeAtEnd(b.page, '\n# EDIT OF TAB B\n');

    // B is told, with what to do; A's edit is what the server keeps (it was B's before).
    const said = b.page.getByTestId('draft-conflict');
    await said.waitFor();
    assert.match(await textOf(said), /not saved.*saved elsewhere.*DRAFT_CONFLICT/s);
    assert.equal(await said.getAttribute('role'), 'alert');
    assert.match(await textOf(b.page.getByTestId('draft-state')), /not saved/);
    const kept = await draftMain(name);
    assert.ok(kept?.includes('EDIT OF TAB A') && !kept.includes('EDIT OF TAB B'), kept ?? '(no draft)');
    // More typing in B saves nothing while the choice is open.
    await b.page.keyboard.insertText('# more of B\n');
    await eventually(async () => assert.match(await textOf(b.page.getByTestId('draft-state')), /unsaved changes/));
    assert.equal(await draftMain(name), kept);

    // "Load the saved draft": B shows A's edit, and B's next edit saves over it as it should.
    await said.getByRole('button', { name: 'Load the saved draft' }).click();
    await b.page.locator('.cm-content').getByText('# EDIT OF TAB A').waitFor();
    assert.equal(await said.count(), 0);
    await typeAtEnd(b.page, '# B after loading\n');
    await eventually(async () => assert.match(await textOf(b.page.getByTestId('draft-state')), /draft saved/));
    assert.match((await draftMain(name)) ?? '', /EDIT OF TAB A[\s\S]*B after loading/);

    // Now A is the stale one: its edit is refused in turn, and "Save mine over it" replaces B's on purpose.
    await typeAtEnd(a.page, '# A again\n');
    const saidToA = a.page.getByTestId('draft-conflict');
    await saidToA.waitFor();
    await saidToA.getByRole('button', { name: 'Save mine over it' }).click();
    await eventually(async () => assert.match(await textOf(a.page.getByTestId('draft-state')), /draft saved/));
    const mine = (await draftMain(name)) ?? '';
    assert.ok(mine.includes('# A again') && !mine.includes('B after loading'), mine);
    assert.equal(await saidToA.count(), 0);

    // Over the API: a save over a revision read before is 409 with the one stored now.
    const now = (await c.platform.api.call('GET', `/functions/${name}/draft`)).body as { draft: { revision: number; baseVersion: number } };
    const stale = await c.platform.api.call('PUT', `/functions/${name}/draft`, { baseVersion: now.draft.baseVersion, files: [], removed: [], ifRevision: now.draft.revision - 1 });
    assert.equal(stale.status, 409);
    assert.equal(errorOf(stale).code, 'DRAFT_CONFLICT');
    assert.equal((stale.body as { error: { revision: number } }).error.revision, now.draft.revision);
    assert.deepEqual([...a.problems, ...b.problems].filter((p) => !/status of 409/.test(p)), []);
    await a.context.close();
    await b.context.close();
  });

  it('two tabs saving the environment: the later save is refused and said, never undoing the other; it loads the current values and saves over them (console round ui1)', async () => {
    const name = fnName('envtabs');
    await createFunction(c.platform.api, name, { env: { A: '1' } });
    const tabs = [await c.page({ hash: `#/functions/${name}/settings` }), await c.page({ hash: `#/functions/${name}/settings` })];
    const [first, second] = tabs.map(({ page }) => page.getByRole('form', { name: 'Environment' }));
    for (const { page } of tabs) await page.locator('#env-k-0').waitFor();
    // The second tab adds FOO and saves; the first, opened before, then adds BAR and saves.
    await second!.getByRole('button', { name: 'Add variable' }).click();
    await tabs[1]!.page.locator('#env-k-1').fill('FOO');
    await tabs[1]!.page.locator('#env-v-1').fill('x');
    await second!.getByRole('button', { name: 'Save environment' }).click();
    await tabs[1]!.page.getByTestId('status-env').getByText('Environment saved.').waitFor();
    await first!.getByRole('button', { name: 'Add variable' }).click();
    await tabs[0]!.page.locator('#env-k-1').fill('BAR');
    await tabs[0]!.page.locator('#env-v-1').fill('y');
    await first!.getByRole('button', { name: 'Save environment' }).click();
    const status = tabs[0]!.page.getByTestId('status-env');
    await status.getByRole('alert').getByText('The environment was changed since this page read it', { exact: false }).waitFor();
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env, { A: '1', FOO: 'x' });
    // The current values, with this tab's change kept over them (it was lost there and had to be
    // typed again; console round 3), then saved: both kept.
    await status.getByRole('button', { name: 'Load the current values' }).click();
    assert.equal(await tabs[0]!.page.locator('#env-k-1').inputValue(), 'FOO');
    assert.equal(await tabs[0]!.page.locator('#env-k-2').inputValue(), 'BAR');
    assert.equal(await tabs[0]!.page.locator('#env-v-2').inputValue(), 'y');
    await status.getByText('with the changes you made here kept over them', { exact: false }).waitFor();
    await first!.getByRole('button', { name: 'Save environment' }).click();
    await status.getByText('Environment saved.').waitFor();
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env, { A: '1', FOO: 'x', BAR: 'y' });
    // A save after its own save is not refused (what it read is what it saved).
    await tabs[0]!.page.locator('#env-v-2').fill('z');
    await first!.getByRole('button', { name: 'Save environment' }).click();
    await eventually(async () => assert.equal((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env.BAR, 'z'));
    for (const { context, problems } of tabs) {
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  it('two tabs saving the limits: after the refusal, Load the current values keeps the field this tab changed and takes the other tab\'s (console round 3)', async () => {
    const name = fnName('limtabs');
    await createFunction(c.platform.api, name);
    const tabs = [await c.page({ hash: `#/functions/${name}/settings` }), await c.page({ hash: `#/functions/${name}/settings` })];
    for (const { page } of tabs) await page.locator('#lim-timeout').waitFor();
    // The second tab raises the memory and saves; the first, opened before, then changes the timeout.
    await tabs[1]!.page.locator('#lim-memory').fill('512Mi');
    await tabs[1]!.page.getByRole('button', { name: 'Save limits' }).click();
    await tabs[1]!.page.getByTestId('status-limits').getByText('Limits saved.').waitFor();
    const page = tabs[0]!.page;
    await page.locator('#lim-timeout').fill('45s');
    await page.getByRole('button', { name: 'Save limits' }).click();
    const status = page.getByTestId('status-limits');
    await status.getByRole('alert').getByText('The limits were changed since this page read them', { exact: false }).waitFor();
    await status.getByRole('button', { name: 'Load the current values' }).click();
    // It put 30s back in the timeout field: the change typed here was gone.
    assert.equal(await page.locator('#lim-timeout').inputValue(), '45s');
    assert.equal(await page.locator('#lim-memory').inputValue(), '512Mi');
    await page.getByRole('button', { name: 'Save limits' }).click();
    await status.getByText('Limits saved.').waitFor();
    const limits = (await c.platform.api.call('GET', `/functions/${name}`)).body.function.limits;
    assert.equal(limits.timeoutMs, 45_000);
    assert.equal(limits.memoryBytes, 512 * 1024 * 1024);
    for (const { context, problems } of tabs) {
      assert.deepEqual(problems.filter((p) => !/status of 409/.test(p)), []);
      await context.close();
    }
  });

  it('a change landing between the Settings save and its write is not undone: the save is one guarded call (ADR 0159)', async () => {
    const name = fnName('envrace');
    await createFunction(c.platform.api, name, { env: { A: '1' } });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings` });
    await page.locator('#env-k-0').waitFor();
    // The CLI sets FOO while the tab's save is on its way: after anything the page read, before its PATCH lands.
    await page.route(`**/api/v1/functions/${name}`, async (route) => {
      if (route.request().method() === 'PATCH') assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { envChanges: { FOO: 'x' } })).status, 200);
      await route.continue();
    });
    const form = page.getByRole('form', { name: 'Environment' });
    await form.getByRole('button', { name: 'Add variable' }).click();
    await page.locator('#env-k-1').fill('BAR');
    await page.locator('#env-v-1').fill('y');
    await form.getByRole('button', { name: 'Save environment' }).click();
    const status = page.getByTestId('status-env');
    await status.getByRole('alert').getByText('The environment was changed since this page read it', { exact: false }).waitFor();
    assert.deepEqual((await c.platform.api.call('GET', `/functions/${name}`)).body.function.env, { A: '1', FOO: 'x' });
    await page.unroute(`**/api/v1/functions/${name}`);
    await status.getByRole('button', { name: 'Load the current values' }).click();
    assert.equal(await page.locator('#env-k-1').inputValue(), 'FOO');
    assert.deepEqual(problems.filter((p) => !/409/.test(p)), []);
    await context.close();
  });

  it("a deploy refused after it changed the settings puts back its own changes, not another client's made meanwhile (ADR 0159)", async () => {
    const name = fnName('putback');
    await createFunction(c.platform.api, name, { env: { KEEP: 'k' } });
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+Home');
    await page.keyboard.insertText('import no_such_module_here\n');
    await page.getByRole('button', { name: 'New file' }).click();
    await page.getByRole('dialog', { name: 'New file' }).getByLabel('Path').fill('platform.yaml');
    await page.getByRole('dialog', { name: 'New file' }).getByLabel('Path').press('Enter');
    await page.locator('.cm-content').click();
    await page.keyboard.insertText(`kind: function\nname: ${name}\nenv:\n  KEEP: "k"\n  NEW_VAR: "x"\nlimits:\n  timeout: 21s\n`);
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /no problems/));
    // Between the deploy's settings change and its put-back, the CLI sets OTHER and another tab the timeout.
    let patches = 0;
    await page.route(`**/api/v1/functions/${name}`, async (route) => {
      if (route.request().method() === 'PATCH' && ++patches === 2) {
        assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { envChanges: { OTHER: 'x' } })).status, 200);
        assert.equal((await c.platform.api.call('PATCH', `/functions/${name}`, { limits: { timeout: '40s' } })).status, 200);
      }
      await route.continue();
    });
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByTestId('confirm-deploy').click();
    await page.getByTestId('start-failure').waitFor();
    await eventually(async () => {
      const fn = (await c.platform.api.call('GET', `/functions/${name}`)).body.function as { activeVersion: number; env: Record<string, string>; limits: { timeoutMs: number } };
      assert.equal(fn.activeVersion, 1);
      assert.deepEqual(fn.env, { KEEP: 'k', OTHER: 'x' }, "the deploy's NEW_VAR undone by name, the CLI's OTHER kept");
      assert.equal(fn.limits.timeoutMs, 40_000, "the other tab's timeout kept");
    });
    assert.deepEqual(problems.filter((p) => !/409/.test(p)), []);
    await context.close();
  });

  it("New function's preview shows the URL the API then gives (the public URL), not the console's own host", async () => {
    const name = fnName('preview');
    const { page, context, problems } = await c.page({ hash: '#/new' });
    await page.getByLabel('Name').fill(name);
    const preview = page.locator('form .preview, form').getByText(`/fn/${name}/`);
    await eventually(async () => assert.equal(await textOf(preview), `${PUBLIC_URL}/fn/${name}/`));
    assert.equal(await textOf(page.locator('form').getByText(`/async/${name}/`)), `${PUBLIC_URL}/async/${name}/`);
    await page.getByRole('button', { name: 'Create function' }).click();
    await page.getByTestId('created').waitFor();
    const answer = await c.platform.api.call('GET', `/functions/${name}`);
    assert.equal((answer.body as { invokeUrl: string }).invokeUrl, `${PUBLIC_URL}/fn/${name}/`);
    const who = await c.platform.api.call('GET', '/whoami');
    assert.equal((who.body as { publicUrl: string }).publicUrl, PUBLIC_URL);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the Deploy dialog names the env values saved in Settings that the deploy drops, and the limits it changes', async () => {
    const name = fnName('envdrop');
    await createFunction(c.platform.api, name);
    const manifest = `kind: function\nname: ${name}\nentrypoint: main:handler\nlimits:\n  timeout: 10s\nenv:\n  KEPT: "1"\n`;
    await upload(c.platform.api, name, { 'main.py': ECHO, 'platform.yaml': manifest });
    await deploy(c.platform.api, name);
    // What Settings saves: a plain env value and a longer timeout.
    const saved = await c.platform.api.call('PATCH', `/functions/${name}`, { env: { KEPT: '1', GREETING: 'hällo' }, limits: { timeout: '20s' } });
    assert.equal(saved.status, 200);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/settings` });
    await page.getByTestId('env-deploy-note').waitFor();
    assert.match(await textOf(page.getByTestId('env-deploy-note')), /removed with its value/);
    await page.goto(`${c.platform.url}/console/#/functions/${name}/code`);
    await page.locator('.cm-content').waitFor();
    await typeAtEnd(page, '\n# a code change\n');
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /no problems/));
    await page.getByRole('button', { name: 'Deploy…' }).click();
    const said = page.getByTestId('deploy-settings');
    await said.waitFor();
    const text = await textOf(said);
    assert.match(text, /removes env GREETING with its value/);
    assert.doesNotMatch(text, /KEPT/);
    assert.match(text, /limits\.timeout 20s → 10s/);
    // Confirmed anyway: it does what it said.
    await page.getByTestId('confirm-deploy').click();
    await page.locator('.fn-head').getByText('version 2').waitFor();
    const fn = (await c.platform.api.call('GET', `/functions/${name}`)).body as { function: { env: Record<string, string>; limits: { timeoutMs: number } } };
    assert.deepEqual([fn.function.env, fn.function.limits.timeoutMs], [{ KEPT: '1' }, 10_000]);
    assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
    await context.close();
  });

  it('edits not saved when the token is revoked are kept in the tab and saved after signing in again', async () => {
    const name = fnName('revoked');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': ECHO });
    await deploy(c.platform.api, name);
    const issue = async (label: string): Promise<{ id: string; secret: string }> => {
      const res = await c.platform.api.call('POST', '/tokens', { role: 'deployer', label });
      return { id: (res.body as { token: { id: string } }).token.id, secret: (res.body as { secret: string }).secret };
    };
    const first = await issue('ada');
    const { page, context, problems } = await c.page({ token: first.secret, hash: `#/functions/${name}/code` });
    await page.locator('.cm-content').waitFor();
    // Edits held unsaved (no race with the autosave): another client saved the draft meanwhile.
    const saved = await c.platform.api.call('PUT', `/functions/${name}/draft`, { baseVersion: 1, files: [{ path: 'main.py', content: `${ECHO}# saved by another client\n` }], removed: [] });
    assert.equal(saved.status, 200);
    await typeAtEnd(page, '# typed in this tab\n');
    await page.getByTestId('draft-conflict').waitFor();
    // The token is revoked: the page's next call (its 5 s poll) signs the tab out, with the reason.
    assert.equal((await c.platform.api.call('DELETE', `/tokens/${first.id}`)).status, 200);
    await page.getByLabel('Token', { exact: true }).waitFor();
    assert.doesNotMatch((await draftMain(name)) ?? '', /typed in this tab/);

    const second = await issue('ada again');
    await page.getByLabel('Token', { exact: true }).fill(second.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signing in keeps the route: the Code tab opens again, with the edits laid over the saved draft.
    await page.getByTestId('edits-restored').waitFor();
    await page.locator('.cm-content').getByText('# typed in this tab').waitFor();
    await eventually(async () => assert.match((await draftMain(name)) ?? '', /typed in this tab/));
    assert.deepEqual(problems.filter((p) => !/status of (401|404|409)/.test(p)), []);
    await context.close();
  });
});
