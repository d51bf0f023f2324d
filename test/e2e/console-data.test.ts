/**
 * The console's Data tab (docs/console.md, docs/data-binding.md) in a real Chromium against an
 * embedded platform with its own FerretDB and real Python runtimes: a bound function's binding
 * (its name in the workspace and on the server), the other function sharing its database, what its
 * runs wrote (linked to the run's detail); a viewer is not offered the rotation, a deployer
 * rotates and sees the answer; the database server unavailable is said with its code; a function
 * without a binding shows how to declare one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { screenshot } from '../helpers/browser.js';
import { ferretdbPid, stopProcess } from '../helpers/processes.js';
import { serverSkip } from '../helpers/servers.js';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';
import { createFunction, deploy, fnName, py, runsWritten, upload } from './platform-harness.js';
import { Caller } from './tenants-harness.js';

const skip = consoleSkip() || serverSkip('ferretdb');
const c = useConsole({ poolSize: 1, ...(process.env.FP_TEST_PYTHON ? { pythonPath: process.env.FP_TEST_PYTHON } : {}) }, skip);

const SHOP = py(
  'def handler(event, context):',
  '    orders = context.db.orders',
  '    orders.insert_one({"item": "pen"})',
  '    orders.update_many({"item": "pen"}, {"$set": {"seen": True}})',
  '    return {"db": context.db.name}',
);
const PLAIN = py('def handler(event, context):', '    return {"ok": True}');

describe('the console Data tab', { skip, timeout: 180_000 }, () => {
  it('shows the binding, the functions sharing it, the writes of runs; rotation offered to deployers only; the how-to without a binding', async () => {
    const api = c.platform.api;
    const database = `s${randomBytes(4).toString('hex')}`;
    const [shop, sibling, plain] = [fnName('shop'), fnName('sibling'), fnName('plain')];
    for (const name of [shop, sibling]) {
      await createFunction(api, name);
      await upload(api, name, { 'main.py': SHOP }, { manifest: { kind: 'function', name, data: { mongo: { database } } } });
      await deploy(api, name);
    }
    await createFunction(api, plain);
    await upload(api, plain, { 'main.py': PLAIN });
    await deploy(api, plain);

    // A run that writes: one insert and one update in `orders`.
    const res = await fetch(`${c.platform.url}/fn/${shop}/`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { db: `default_${database}` });
    const runId = res.headers.get('x-run-id')!;
    await runsWritten(c.platform.url);

    // The admin (root) token: the binding, the sibling, the writes, the rotation.
    const admin = await c.page({ hash: `#/functions/${shop}/data` });
    const page = admin.page;
    await page.getByTestId('binding').waitFor();
    assert.match(await textOf(page.getByTestId('binding-database')), new RegExp(`${database} of workspace default`));
    assert.match(await textOf(page.getByTestId('binding-physical')), new RegExp(`default_${database}`));
    assert.match(await textOf(page.getByTestId('binding-create')), /^yes/);
    assert.match(await textOf(page.getByTestId('credentials-note')), /never shown.*FP_MONGO_URI/);
    await page.getByTestId('sharing-functions').waitFor();
    assert.deepEqual(await page.getByTestId('sharing-functions').locator('li').allTextContents(), [sibling]);
    const row = page.locator(`[data-testid="recent-writes"] tr[data-run="${runId}"]`);
    await row.waitFor();
    assert.deepEqual((await row.locator('td').allTextContents()), [`default_${database}`, 'orders', '1', '1', '0', '0']);
    await screenshot(page, 'data-tab');
    // Each run links to its detail in the Runs tab, which has the same writes.
    await row.getByRole('link').click();
    await page.getByTestId('run-detail').waitFor();
    await eventually(async () => assert.match(await textOf(page.getByTestId('writes')), new RegExp(`default_${database}\\s*orders\\s*1\\s*1\\s*0\\s*0`)));
    assert.deepEqual(admin.problems, []);
    await admin.context.close();

    // A viewer reads the binding but is not offered the rotation; a deployer rotates.
    const root = new Caller({ urls: [c.platform.url], rootToken: api.token! }, api.token!, 'default');
    const viewer = (await root.expect(201, 'POST', '/tokens', { role: 'viewer', label: 'data viewer' })).body.secret as string;
    const deployer = (await root.expect(201, 'POST', '/tokens', { role: 'deployer', label: 'data deployer' })).body.secret as string;
    const asViewer = await c.page({ token: viewer, hash: `#/functions/${shop}/data` });
    await asViewer.page.getByTestId('binding').waitFor();
    await asViewer.page.getByTestId('rotate-role-note').waitFor();
    assert.equal(await asViewer.page.getByTestId('rotate').count(), 0);
    assert.match(await textOf(asViewer.page.getByTestId('rotate-role-note')), /deployer.*viewer/);
    // The database server cannot be asked (this platform's own FerretDB, stopped: it does not
    // answer, and is not restarted as a dead one would be): the card says so with the code, the
    // binding stays shown.
    const ferret = ferretdbPid(c.platform.stateDir);
    await stopProcess(ferret);
    try {
      await asViewer.page.reload();
      await asViewer.page.getByTestId('data-error').waitFor({ timeout: 20_000 });
      assert.match(await textOf(asViewer.page.getByTestId('data-error')), /DATA_BACKEND_UNAVAILABLE/);
      await asViewer.page.getByTestId('binding').waitFor();
    } finally {
      process.kill(ferret, 'SIGCONT');
    }
    assert.deepEqual(asViewer.problems, []);
    await asViewer.context.close();

    const asDeployer = await c.page({ token: deployer, hash: `#/functions/${shop}/data` });
    const d = asDeployer.page;
    await d.getByTestId('rotate').click();
    // Nothing is rotated before the confirmation.
    await d.getByTestId('rotate-confirm').waitFor();
    await d.getByLabel('Old credentials keep working for').fill('0s');
    await d.getByRole('button', { name: 'Rotate now' }).click();
    await eventually(async () => assert.match(await textOf(d.getByTestId('rotate-outcome')), /Rotated.*no longer work/));
    assert.equal(await d.getByTestId('rotate-confirm').count(), 0);
    // The function keeps working with its new credentials.
    const afterRotate = await fetch(`${c.platform.url}/fn/${shop}/`, { method: 'POST', body: '{}' });
    assert.equal(afterRotate.status, 200, await afterRotate.clone().text());
    const audit = await api.call('GET', '/audit?action=data-credentials.rotate');
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    assert.ok(JSON.stringify(audit.body).includes(shop), JSON.stringify(audit.body));

    // A function without a binding: how to declare one, no rotation, no writes.
    await d.goto(`${c.platform.url}/console/#/functions/${plain}/data`);
    await d.getByTestId('data-howto').waitFor();
    await screenshot(d, 'data-tab-unbound');
    assert.match(await textOf(d.getByTestId('data-howto')), /data:\s*mongo:\s*database:/);
    assert.equal(await d.getByTestId('rotate').count(), 0);
    assert.equal(await d.getByTestId('recent-writes').count(), 0);
    assert.deepEqual(asDeployer.problems, []);
    await asDeployer.context.close();
  });
});
