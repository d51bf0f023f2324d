/**
 * The console's Audit page (console round 6): the audit log was the CLI's (`audit`) and the API's
 * alone, though the Tokens page said an owner "reads its audit log". An owner reads the workspace's
 * entries as the CLI prints them (seq, UTC time, who, from, action, target, detail), filters by
 * action in the URL, pages past 50; what others typed (a token's label) stays text; a secret's value
 * is never on the page; the admin token reads every workspace's. A role below owner is not offered
 * the page, is told why, and its console asks the API nothing it would refuse (no 403 behind the
 * note, here nor on Tokens and Workspaces).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditDetailText, auditWhenText } from '../../protocol/audit-actions.js';
import { screenshot } from '../helpers/browser.js';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { Api } from './platform-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

/** A label may hold markup (the API refuses control and bidi characters in it: protocol/visible-text.ts). */
const MARKUP_LABEL = '<img src=x onerror="window.__pwned=1">';
const SECRET_VALUE = 'sk-live-audit-value-never-shown';

describe('the console Audit page', { skip }, () => {
  it('an owner reads the workspace audit log as the CLI shows it: filters, Load more, text kept inert, no secret value', async () => {
    const ws = 'audit-team';
    assert.equal((await c.platform.api.call('POST', '/workspaces', { name: ws })).status, 201);
    const root = new Api(c.platform.url, c.platform.api.token!);
    const inWs = { 'fp-workspace': ws };
    const owner = await root.call('POST', '/tokens', { role: 'owner', label: 'owner-ada' }, inWs);
    assert.equal(owner.status, 201);
    const ownerApi = new Api(c.platform.url, owner.body.secret as string);
    assert.equal((await ownerApi.call('POST', '/functions', { name: 'svc', secrets: { API_KEY: SECRET_VALUE } })).status, 201);
    assert.equal((await ownerApi.call('PATCH', '/functions/svc', { secrets: { DB_PASSWORD: `${SECRET_VALUE}-2` } })).status, 200);
    assert.equal((await ownerApi.call('POST', '/tokens', { role: 'viewer', label: MARKUP_LABEL })).status, 201);
    for (let i = 0; i < 55; i++) assert.equal((await ownerApi.call('POST', '/tokens', { role: 'viewer', label: `bulk-${i}` })).status, 201);
    const viewer = await ownerApi.call('POST', '/tokens', { role: 'viewer', label: 'viewer-bo' });

    const { page, problems } = await c.page({ token: owner.body.secret as string });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: `Audit log of ${ws}` }).waitFor();
    const rows = page.locator('table[aria-label="Audit log"] tbody tr');
    await eventually(async () => assert.equal(await rows.count(), 50));

    // Each row says what the API (and so the CLI's table) says, in its words.
    const api = (await ownerApi.call('GET', '/audit?limit=50')).body as { items: { seq: number; at: number; actor: { tokenId: string; label: string; role: string }; address: string; action: string; target: string; detail: Record<string, unknown> }[] };
    const first = api.items[0]!;
    const cells = await rows.first().locator('th, td').allTextContents();
    assert.deepEqual(cells.map((t) => t.replace(/\s+/g, ' ').trim()), [
      String(first.seq), auditWhenText(first.at), `${first.actor.label} (${first.actor.role}, ${first.actor.tokenId})`, first.address, first.action, first.target, auditDetailText(first.detail),
    ]);
    assert.equal(first.action, 'token.create');
    assert.match(auditDetailText(first.detail), /role=viewer/);

    // Load more: the older entries, down to the function's creation and its secret's name — never its value.
    await page.getByRole('button', { name: 'Load more' }).click();
    await eventually(async () => assert.ok(await rows.count() > 50));
    await eventually(async () => assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0));
    const all = await textOf(page.locator('table[aria-label="Audit log"]'));
    assert.match(all, /secret\.set/);
    assert.match(all, /names=\["DB_PASSWORD"\]/);
    assert.match(all, /secrets=\["API_KEY"\]/);
    assert.ok(!(await page.content()).includes(SECRET_VALUE), 'the secret value is in the DOM');

    // A label with markup is shown as text: no element is made of it.
    assert.ok(all.includes(MARKUP_LABEL));
    assert.equal(await page.locator('table[aria-label="Audit log"] img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);

    // The action filter lives in the URL and narrows the rows.
    await page.getByLabel('Action').selectOption('secret.set');
    await eventually(async () => assert.equal(await rows.count(), 1));
    assert.match(page.url(), /#\/audit\?action=secret\.set/);
    await page.reload();
    await eventually(async () => assert.equal(await rows.count(), 1));
    assert.equal(await page.getByLabel('Action').inputValue(), 'secret.set');
    await page.getByLabel('Action').selectOption('workspace.delete');
    await page.getByTestId('audit-empty').waitFor();
    await screenshot(page, '60-audit');
    assert.deepEqual(problems, []);

    // A viewer: no Audit link, the page says why, and no request the API refuses (Audit, Tokens).
    const v = await c.page({ token: viewer.body.secret as string, hash: `#/audit?ws=${ws}` });
    const refused: string[] = [];
    v.page.on('response', (r) => { if (r.status() === 403) refused.push(r.url()); });
    await v.page.getByTestId('role-note').waitFor();
    assert.match(await textOf(v.page.getByTestId('role-note')), /viewer.*owner role/);
    assert.equal(await v.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).count(), 0);
    await v.page.reload();
    await v.page.getByTestId('role-note').waitFor();
    await v.page.goto(`${c.platform.url}/console/#/tokens?ws=${ws}`);
    await v.page.getByTestId('role-note').waitFor();
    await v.page.goto(`${c.platform.url}/console/#/workspaces?ws=${ws}`);
    await v.page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await v.page.goto(`${c.platform.url}/console/#/functions?ws=${ws}`);
    await v.page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    assert.deepEqual(refused, []);
    await v.context.close();

    // The admin token: every workspace's entries, with their workspace.
    const admin = await c.page({ hash: '#/audit' });
    await admin.page.getByRole('heading', { name: 'Audit log of default' }).waitFor();
    await admin.page.getByLabel('Every workspace').check();
    await admin.page.getByRole('heading', { name: 'Audit log of every workspace' }).waitFor();
    await eventually(async () => assert.match(await textOf(admin.page.locator('table[aria-label="Audit log"] thead')), /Workspace/));
    assert.match(await textOf(admin.page.locator('table[aria-label="Audit log"] tbody')), new RegExp(`${ws}`));
    assert.match(admin.page.url(), /all=1/);
    await admin.context.close();
  });
});
