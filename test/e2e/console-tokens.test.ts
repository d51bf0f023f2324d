/**
 * The console's Tokens page (developer-experience round 9, docs/adr/0121-console-tokens.md): a
 * workspace's members are its tokens, and the console had no page for them (the CLI or curl only).
 * An owner lists them, creates one (the secret shown once) that then signs in with its role, and
 * revokes it; a bad expiry is said at its field; a role below owner is not offered the page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { screenshot } from '../helpers/browser.js';
import { consoleSkip, eventually, textOf, useConsole } from './console-harness.js';

const skip = consoleSkip();
const c = useConsole({ poolSize: 1 }, skip);

describe('the console Tokens page', { skip }, () => {
  it('an owner creates a token (secret shown once), it signs in with its role, and is revoked; a role below owner is not offered the page', async () => {
    const { page, context, problems } = await c.page({ hash: '#/tokens' });
    await page.getByRole('heading', { name: 'Tokens of default' }).waitFor();
    await page.getByTestId('tokens-empty').waitFor();

    // A bad expiry is said at its field, nothing is sent.
    await page.getByLabel('Label').fill('ada');
    await page.getByLabel('Role').selectOption('invoker');
    await page.getByLabel('Expires in (optional)').fill('soon');
    await page.getByRole('button', { name: 'Create token' }).click();
    assert.equal(await page.getByLabel('Expires in (optional)').getAttribute('aria-invalid'), 'true');
    assert.match(await textOf(page.locator('#token-expires-problem')), /30d/);
    assert.deepEqual((await c.platform.api.call('GET', '/tokens')).body, { items: [] });

    await page.getByLabel('Expires in (optional)').fill('30d');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await textOf(page.getByTestId('token-created').getByTestId('shown-once'));
    assert.match(secret, /^fpw_/);
    const row = page.locator('table[aria-label="Tokens"] tbody tr');
    await eventually(async () => assert.equal(await row.count(), 1));
    assert.match(await textOf(row), /ada.*invoker.*by admin.*never.*active/s);
    await screenshot(page, '30-tokens');

    // The secret signs in, as an invoker: no Tokens page offered, and the route says why.
    const ada = await c.page({ token: secret, hash: '#/tokens' });
    await ada.page.getByTestId('role-note').waitFor();
    assert.match(await textOf(ada.page.getByTestId('role-note')), /owner role/);
    assert.equal(await ada.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tokens' }).count(), 0);
    assert.equal(await textOf(ada.page.locator('.who')), 'ada · invoker');
    // Its use shows as its last use (read when the page loads).
    await page.reload();
    await eventually(async () => assert.match(await textOf(row), /(ago|just now)active/));

    // Revoked (asked first): it stops working, and the list says so when revoked ones are shown.
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke ada' }).click();
    await page.getByTestId('tokens-empty').waitFor();
    const who = await fetch(`${c.platform.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(who.status, 401);
    await page.getByLabel('Show revoked tokens').check();
    await eventually(async () => assert.match(await textOf(row), /ada.*revoked/s));
    assert.equal(await row.getByRole('button', { name: 'Revoke ada' }).count(), 0);
    assert.deepEqual(problems, []);
    await ada.context.close();
    await context.close();
  });
});
