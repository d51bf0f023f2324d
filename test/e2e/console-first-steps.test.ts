/**
 * What a newcomer meets first in the console (developer-experience round 9): pages before there is
 * anything to show, first errors, first charts. A function
 * created through the API or `functions create` has no version and no draft; its Code tab said
 * "no file" over an empty editor, "Checking…" for ever and offered Deploy… of nothing. It now says
 * why and starts the code from the function's preset template. The sign-in page, before any
 * session, says where the admin token was kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { screenshot } from '../helpers/browser.js';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, deploy, fnName, upload } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** A function deployed and called once, its Usage tab open. */
async function usageOfOneCall(prefix: string): ReturnType<typeof c.page> {
  const name = fnName(prefix);
  await createFunction(c.platform.api, name);
  await upload(c.platform.api, name, { 'main.py': 'def handler(event, context):\n    return {"ok": True}\n' });
  await deploy(c.platform.api, name);
  assert.equal((await fetch(`${c.platform.url}/fn/${name}/`)).status, 200);
  return c.page({ hash: `#/functions/${name}/usage` });
}

describe('the console as a newcomer first meets it', { skip }, () => {
  it('a function created without code: the Code tab says so, offers its template, and the template deploys and answers', async () => {
    const name = fnName('bare');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/code` });
    const empty = page.getByTestId('code-empty');
    await empty.waitFor();
    assert.match(await textOf(empty), /No code yet/);
    assert.equal(await textOf(page.getByTestId('check-state')), 'no files yet');
    assert.equal(await page.getByRole('button', { name: 'Deploy…' }).isDisabled(), true);
    // The header says it once (the badge), not twice side by side.
    assert.equal((await textOf(page.locator('.fn-head .meta').first())).split('not deployed').length - 1, 1);

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
    // It said the token was printed even when `up --admin-token-file` had written it to a file instead (console round 15).
    assert.match(await textOf(hint), /--admin-token-file FILE \(FP_ADMIN_TOKEN_FILE\), written to that file instead/);
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

  it("a window with a single call draws its latency as a point (a line of one value drew nothing)", async () => {
    const { page, context, problems } = await usageOfOneCall('onecall');
    const canvas = page.locator('[data-chart="Latency"] canvas');
    await canvas.waitFor();
    // Pixels of the p50/p95/p99 colours (COLORS green, amber, red) in the plot: none before.
    const coloured = async (): Promise<number> => canvas.evaluate(`(() => {
      const c = document.querySelector('[data-chart="Latency"] canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const colours = [[16, 185, 129], [245, 158, 11], [239, 68, 68]];
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && colours.some(([r, g, b]) => Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 60)) n++;
      return n;
    })()`) as Promise<number>;
    await eventually(async () => assert.ok((await coloured()) > 0, 'the latency of the one call is drawn'));
    await screenshot(page, '31-usage-one-call');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a latency axis under a millisecond writes its ticks with the decimals their step needs (they read "0.1 ms" three times; console round 8)', async () => {
    const { page, context, problems } = await usageOfOneCall('submilli');
    // The ticks are drawn on the canvas: each canvas keeps the texts of its last drawing (uPlot clears it first).
    await page.addInitScript(`(() => {
      const proto = CanvasRenderingContext2D.prototype, fill = proto.fillText, clear = proto.clearRect;
      proto.clearRect = function (...a) { this.canvas.drawn = []; return clear.apply(this, a); };
      proto.fillText = function (t, ...a) { (this.canvas.drawn ??= []).push(String(t)); return fill.call(this, t, ...a); };
    })()`);
    // A function whose calls take a tenth of a millisecond (a fast handler on a fast machine).
    await page.route(/\/usage\/series/, async (route) => {
      const res = await route.fetch({ url: route.request().url().replace('//console.localhost:', '//127.0.0.1:') }); // Node does not resolve *.localhost
      const body = (await res.json()) as { points: { invocations: number; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null }[] };
      for (const p of body.points) if (p.invocations > 0) Object.assign(p, { p50Ms: 0.04, p95Ms: 0.1, p99Ms: 0.12 });
      await route.fulfill({ status: res.status(), json: body });
    });
    await page.reload();
    const labels = async (): Promise<string[]> => (await page.locator('[data-chart="Latency"] canvas').evaluate((canvas: { drawn?: string[] }) => canvas.drawn ?? [])).filter((t) => t.endsWith(' ms'));
    await eventually(async () => assert.ok((await labels()).length >= 3, JSON.stringify(await labels())));
    const ticks = await labels();
    assert.equal(new Set(ticks).size, ticks.length, `ticks that read the same: ${JSON.stringify(ticks)}`);
    assert.equal(new Set(ticks.map((t) => t.split('.')[1]?.length)).size, 1, `one number of decimals: ${JSON.stringify(ticks)}`);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('a Usage window without calls says so over its empty charts (console round 8)', async () => {
    const name = fnName('quiet');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: `#/functions/${name}/usage` });
    await page.locator('[data-chart="Latency"] canvas').waitFor();
    assert.match(await textOf(page.getByTestId('usage-none')), /^No calls in the last hour: .*; a longer window may have some\.$/);
    await page.getByRole('radio', { name: '30d' }).click();
    await eventually(async () => assert.match(await textOf(page.getByTestId('usage-none')), /^No calls in the last 30 days: [^;]*\.$/));
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('New function with a name a function has: said at the field, with a link to it, not a bare FUNCTION_EXISTS under the form', async () => {
    const name = fnName('taken');
    await createFunction(c.platform.api, name);
    const { page, context, problems } = await c.page({ hash: '#/new' });
    await page.getByLabel('Name').fill(name);
    // The preview's URLs follow each letter typed: not a live region (a screen reader read them out over the typing;
    // console round 10), but the name field's description, said when it is reached.
    assert.equal(await page.locator('[aria-live] .preview, .preview[aria-live]').count(), 0);
    assert.match(await page.getByLabel('Name').getAttribute('aria-describedby') ?? '', /\bfn-preview\b/);
    assert.match(await textOf(page.locator('#fn-preview')), new RegExp(`/fn/${name}/`));
    await page.getByRole('button', { name: 'Create function' }).click();
    const said = page.getByTestId('name-problem');
    await said.waitFor();
    assert.match(await textOf(said), new RegExp(`${name} exists already in default: pick another name, or open it`));
    assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement.id'), 'fn-name');
    assert.equal(await page.getByRole('button', { name: 'Create function' }).isDisabled(), true);
    await said.getByRole('link', { name: 'open it' }).click();
    await page.locator('.fn-head').getByRole('heading', { name }).waitFor();
    assert.deepEqual(problems.filter((p) => !/status of (409|404)/.test(p)), []);
    await context.close();
  });

  it("Settings' State card keeps Pause and Delete function apart", async () => {
    const name = fnName('apart');
    await createFunction(c.platform.api, name);
    const { page, context } = await c.page({ hash: `#/functions/${name}/settings` });
    const state = page.getByRole('region', { name: 'State' });
    const pause = await state.getByRole('button', { name: 'Pause' }).boundingBox();
    const remove = await state.getByRole('button', { name: 'Delete function' }).boundingBox();
    assert.ok(pause !== null && remove !== null);
    // They touched (0 px): one click's slip from the other.
    assert.ok(remove.x - (pause.x + pause.width) >= 6 || remove.y >= pause.y + pause.height, JSON.stringify({ pause, remove }));
    await context.close();
  });
  it("the Code tab counts one warning as \"1 warning\" (it said \"1 warnings\"; journey round 11)", async () => {
    const name = fnName('onewarn');
    await createFunction(c.platform.api, name);
    await upload(c.platform.api, name, { 'main.py': 'import yaml\n\ndef handler(event, context):\n    return yaml.safe_dump({"a": 1})\n' });
    const { page, context } = await c.page({ hash: `#/functions/${name}/code` });
    await eventually(async () => assert.match(await textOf(page.getByTestId('check-state')), /no problems/));
    const summary = page.locator('details summary').filter({ hasText: /warning/ });
    await eventually(async () => assert.equal(await textOf(summary), '1 warning'));
    await context.close();
  });
});
