/**
 * Red team, round 5 of 2026-12-05 (red8): a tenant's `deployer` token against the platform's code
 * check (`POST /api/v1/validate`, docs/api.md "Validation"), which every workspace shares: two
 * checks run at once per process and eight wait. One tenant sending checks of 1 MiB of code (each
 * a Python process for seconds) held all ten places, and every other workspace's check was
 * refused 429 VALIDATION_BUSY for as long as it went on, the console's Deploy (which checks the
 * code first) included. Now a workspace holds at most four places and never both slots.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newTenant, usePlatform, type ApiAnswer } from './platform-harness.js';

const h = usePlatform();

describe('attack: one workspace\'s code checks against every other workspace\'s', () => {
  it('a tenant flooding POST /validate with slow checks is refused its own; another workspace\'s check is answered', { timeout: 180_000 }, async () => {
    const attacker = await newTenant(h);
    const victim = await newTenant(h);
    // ~48 KiB of statements: about 2 s of the check's CPU each (4-5 s at a load of 14), while the
    // victim's check is sent a round trip after the first refusal. The attack's 1 MiB ran into the
    // check's 10 s limit: the four the tenant gets, one after another, took 40 of the test's 41 s.
    const slow = { files: [{ path: 'main.py', content: 'x=1\n'.repeat(12_000) }] };
    const answers: ApiAnswer[] = [];
    const flood = Array.from({ length: 12 }, () => attacker.api.call('POST', '/validate', slow).then((a) => answers.push(a)));
    // Once one of them is refused, the rest are in hand (running or waiting) until they answer.
    while (answers.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const refused = answers[0]!;
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'VALIDATION_BUSY');
    // Before the fix: 429 VALIDATION_BUSY, as for every workspace while the flood went on.
    const check = await victim.api.call('POST', '/validate', { files: [{ path: 'main.py', content: 'def handler(event, context):\n    return 1\n' }] });
    assert.equal(check.status, 200, JSON.stringify(check.body));
    assert.equal(check.body.ok, true);
    await Promise.all(flood);
    // The tenant got its share: at most four of its checks were taken, the others refused at once.
    const taken = answers.filter((a) => a.status !== 429);
    assert.ok(taken.length <= 4, `the tenant had ${taken.length} checks taken: ${answers.map((a) => a.status).join(' ')}`);
    assert.ok(answers.filter((a) => a.status === 429).every((a) => a.body.error.code === 'VALIDATION_BUSY'));
  });
});
