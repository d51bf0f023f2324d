/**
 * A team's week in the console (console round 5), in a real Chromium against a real platform:
 * links shared between tabs and teammates across workspaces (docs/adr/0138-console-links-name-their-workspace.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { deploy, fnName, py, upload } from './platform-harness.js';
import { Caller, deployAs, echoFunction, makeTenant, type Platform } from './tenants-harness.js';

const skip = consoleSkip();
// Two successful warm HTTP calls a minute keep a record, no sample after them (docs/stores.md, "Retention").
const c = useConsole({ poolSize: 1, runKeepPerMinute: 2, runSampleOneIn: 0 }, skip);

describe('the console, a team\'s week', { skip }, () => {
  it('a run link copied in one workspace opens that run in a fresh tab, in its workspace; Back returns to the other', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const root = new Caller(p, p.rootToken);
    const t = await makeTenant(p);
    // The same name in two workspaces: a link that lost its workspace opens the other one's function.
    const name = fnName('shared');
    await deployAs(new Caller(p, p.rootToken, t.name), name, echoFunction('team'));
    await deployAs(root, name, echoFunction('default'));
    const run = (await t.invoker.expect(200, 'POST', `/functions/${name}/invoke`, { method: 'POST', path: '/', body: '{}' })).body.runId as string;
    assert.ok(run);

    // The admin picks the team's workspace and opens the run from the list: the link names the workspace.
    const admin = await c.page();
    await admin.page.getByTestId('workspace').selectOption(t.name);
    await admin.page.goto(admin.page.url().replace(/#.*$/, `#/functions/${name}/runs`));
    await admin.page.getByRole('table', { name: 'Runs' }).getByRole('link').first().click();
    await admin.page.getByText(run).first().waitFor();
    const link = admin.page.url();
    assert.match(link, new RegExp(`[?&]ws=${t.name}(&|$)`));
    assert.match(link, new RegExp(`run=${run}`));

    // A teammate's fresh tab (no session yet): signs in and sees that run, in that workspace.
    const mate = await c.browser.newContext({ viewport: { width: 1360, height: 900 } });
    const tab = await mate.newPage();
    await tab.goto(link);
    await tab.getByLabel('Token', { exact: true }).fill(p.rootToken);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByText(run).first().waitFor();
    assert.equal(await tab.getByTestId('workspace').inputValue(), t.name);
    assert.equal(await tab.getByRole('alert').count(), 0);

    // An admin tab acting in default opens the link: it moves to the link's workspace; Back to default.
    await tab.goto(link.replace(/#.*$/, '#/functions'));
    await tab.getByTestId('workspace').selectOption('default');
    await tab.locator(`tr[data-function="${name}"]`).waitFor();
    await tab.goto(link);
    await tab.getByText(run).first().waitFor();
    assert.equal(await tab.getByTestId('workspace').inputValue(), t.name);
    await tab.goBack();
    await eventually(async () => assert.equal(await tab.getByTestId('workspace').inputValue(), 'default'));
    await tab.locator(`tr[data-function="${name}"]`).waitFor();
    await mate.close();

    // A workspace token of another workspace: told the link is not its workspace's (not a bare "not found").
    const other = await makeTenant(p);
    const stranger = await c.page({ token: (await other.owner.expect(201, 'POST', '/tokens', { role: 'viewer' })).body.secret as string });
    await stranger.page.goto(link);
    const note = stranger.page.getByTestId('link-elsewhere');
    await note.waitFor();
    assert.match(await textOf(note), new RegExp(`workspace "${t.name}"; your token acts in "${other.name}" only`));

    // The team's own viewer opens it: the run, no note.
    const viewer = await c.page({ token: (await t.owner.expect(201, 'POST', '/tokens', { role: 'viewer' })).body.secret as string });
    await viewer.page.goto(link);
    await viewer.page.getByText(run).first().waitFor();
    assert.equal(await viewer.page.getByTestId('link-elsewhere').count(), 0);

    // A crafted workspace value is no workspace: the admin stays where it is, nothing breaks.
    await admin.page.goto(link.replace(`ws=${t.name}`, `ws=${encodeURIComponent('a\r\nx: 1')}`));
    await admin.page.getByText(run).first().waitFor();
    assert.equal(await admin.page.getByTestId('workspace').inputValue(), t.name);
    for (const x of [admin, stranger, viewer]) {
      assert.deepEqual(x.problems, []);
      await x.context.close();
    }
  });

  it('says why a busy function lists fewer runs than calls, and why a counted call\'s run id is not found', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const name = fnName('busy');
    await deployAs(new Caller(p, p.rootToken), name, echoFunction('busy'));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      ids.push(res.headers.get('x-run-id')!);
    }
    const counted = ids[ids.length - 1]!;
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/runs` });
    await page.getByRole('table', { name: 'Runs' }).waitFor();
    assert.match(await textOf(page.getByTestId('runs-sampled')), /successful warm HTTP calls, only the first ones of each minute and then a sample/);
    assert.equal(await page.locator(`a[href*="run=${counted}"]`).count(), 0);
    // A failed-runs filter lists every failure: no such note there.
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No failed runs.').waitFor();
    assert.equal(await page.getByTestId('runs-sampled').count(), 0);
    // The run id a counted call answered with (X-Run-Id), as a teammate would paste it: not found, and why.
    await page.goto(`${c.platform.url}/console/#/functions/${name}/runs?run=${counted}`);
    await page.getByRole('alert').filter({ hasText: 'RUN_NOT_FOUND' }).waitFor();
    await page.locator('section.card').getByTestId('runs-sampled').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('notices a deploy, a rollback and a pause made from the CLI while the function\'s page is open, with no reload', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const name = fnName('cli');
    await deployAs(new Caller(p, p.rootToken), name, { 'main.py': py('def handler(event, context):', '    return "one"') });
    // The page polls every 5 s (fn/detail.tsx): the clock runs each poll forward instead of waiting it out.
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code`, clock: true });
    // At most three polls' worth (the 15 s it waited before), each given a few seconds to show.
    const polled = async (seen: Locator): Promise<void> => {
      for (let poll = 1; ; poll++) {
        await page.clock.fastForward(5000);
        try {
          return await seen.waitFor({ timeout: poll < 3 ? 3000 : 10_000 });
        } catch (err) {
          if (poll === 3) throw err;
        }
      }
    };
    const history = page.getByRole('list', { name: 'Version history' });
    await history.getByText('v1 · active').waitFor();
    const head = page.locator('.fn-head');
    // The CLI deploys v2: the header, the version history and the editor follow.
    const v2 = await upload(c.platform.api, name, { 'main.py': py('def handler(event, context):', '    return "two"') });
    await deploy(c.platform.api, name, v2);
    await polled(history.getByText(`v${v2} · active`));
    await eventually(async () => assert.match(await textOf(head), new RegExp(`version ${v2}`)));
    await eventually(async () => assert.match(await page.locator('.cm-content').innerText(), /"two"/));
    // A rollback from the CLI: v1 serves again, and "Deploy v1" is no longer offered on it.
    await c.platform.api.call('POST', `/functions/${name}/rollback`, { version: 1 });
    await polled(history.getByText('v1 · active'));
    assert.equal(await history.getByRole('button', { name: 'Deploy v1' }).count(), 0);
    // Paused from the CLI: the header says so and offers Resume.
    await c.platform.api.call('POST', `/functions/${name}/pause`, {});
    await polled(page.getByTestId('pause-toggle').filter({ hasText: 'Resume' }));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the live tail of a chatty function follows its newest line, and pauses where it was scrolled up to', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const name = fnName('chatty');
    await deployAs(new Caller(p, p.rootToken), name, { 'main.py': py('def handler(event, context):', '    n = event.json()["n"]', '    for i in range(300):', '        print(f"call {n} line {i}")', '    return "ok"') });
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/logs` });
    await page.getByTestId('live-tail').check();
    await page.getByTestId('tail-state').filter({ hasText: 'live' }).waitFor();
    const call = async (n: number): Promise<void> => {
      const res = await fetch(`${c.platform.url}/fn/${name}/`, { method: 'POST', body: JSON.stringify({ n }) });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    };
    const logs = page.getByTestId('logs');
    const view = (): Promise<{ top: number; end: number; first: string }> => logs.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const first = [...el.children].find((s) => s.getBoundingClientRect().bottom > box.top + 1);
      return { top: el.scrollTop, end: el.scrollHeight - el.clientHeight, first: first?.textContent ?? '' };
    });
    await call(1);
    await logs.getByText('call 1 line 299').waitFor();
    // Following: the newest line is in view (the box showed its oldest line, the newest below the fold).
    await eventually(async () => { const v = await view(); assert.ok(v.end > 0 && v.top >= v.end - 2, JSON.stringify(v)); });
    // Scrolled up to read: paused there; new lines are counted, the lines read stay put.
    await logs.evaluate((el) => { el.scrollTop = 200; });
    const note = page.getByTestId('tail-paused');
    await note.waitFor();
    const before = await view();
    await call(2);
    await eventually(async () => assert.match(await textOf(note), /30[0-9] new lines have arrived since/));
    assert.equal(await logs.getByText('call 2 line 299').count(), 0);
    assert.deepEqual(await view(), before);
    // Resume: the newest line, followed again.
    await page.getByRole('button', { name: 'Resume tail', exact: true }).click();
    await logs.getByText('call 2 line 299').waitFor();
    await eventually(async () => { const v = await view(); assert.ok(v.top >= v.end - 2, JSON.stringify(v)); });
    assert.equal(await note.count(), 0);
    // Pause by hand: the same.
    await page.getByRole('button', { name: 'Pause tail', exact: true }).click();
    await call(3);
    await eventually(async () => assert.match(await textOf(note), /new lines have arrived since/));
    assert.equal(await logs.getByText('call 3 line 0', { exact: false }).count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('compares a version with the active one (code, platform.yaml, files added), for a viewer too, before a rollback', async () => {
    const p: Platform = { urls: [c.platform.url], rootToken: c.platform.api.token! };
    const t = await makeTenant(p);
    const name = fnName('cmp');
    const yaml = (timeout: string): string => `kind: function\nname: ${name}\nlimits: {timeout: ${timeout}}\n`;
    await deployAs(t.deployer, name, { 'main.py': py('def handler(event, context):', '    return "one"'), 'platform.yaml': yaml('5s') });
    await t.deployer.expect(201, 'POST', `/functions/${name}/versions`, { files: [
      { path: 'main.py', contentBase64: Buffer.from(py('def handler(event, context):', '    return "two"')).toString('base64') },
      { path: 'platform.yaml', contentBase64: Buffer.from(yaml('9s')).toString('base64') },
      { path: 'notes.txt', contentBase64: Buffer.from('<img src=x onerror=alert(1)>\n').toString('base64') },
    ] });
    await t.deployer.expect(200, 'POST', `/functions/${name}/deploy`, { version: 2 });
    const viewer = (await t.owner.expect(201, 'POST', '/tokens', { role: 'viewer' })).body.secret as string;
    const { page, context, problems } = await c.page({ token: viewer, hash: `#/functions/${name}/code` });
    const history = page.getByRole('list', { name: 'Version history' });
    await history.getByText('v2 · active').waitFor();
    await history.getByRole('button', { name: 'Compare version 1 with the active version 2' }).click();
    const compare = page.getByTestId('compare');
    await compare.waitFor();
    assert.match(await textOf(compare), /From version 1 to version 2: 1 added, 2 modified, 0 removed\./);
    const diff = await compare.getByTestId('diff').innerText();
    assert.match(diff, /\+ {5}return "two"\n+- {5}return "one"/);
    assert.match(diff, /\+ limits: \{timeout: 9s\}\n+- limits: \{timeout: 5s\}/);
    assert.match(diff, /\+ notes\.txt[\s\S]*\+ <img src=x onerror=alert\(1\)>/);
    assert.equal(await page.locator('dialog img').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
