/**
 * A wall clock stepped back after a function was created (chaos round 2, ADR 0219): the run sink
 * kept a record only when the run started after the function under its key was created, by the
 * wall clock, so every run of a function created within the step was dated before it and its
 * record dropped: `runs` listed 137 of 181 under faketime (GET /runs/<id> still found each one).
 * Now a record is kept while the function that served it is the one under its key (its
 * incarnation, carried from the call), and dropped once that function is deleted (red team 5,
 * test/e2e/attack-tenants.test.ts). Its live samples (`usage` 1m/15m, `/metrics`) carry the
 * incarnation the same way (they were dropped for the length of the step: chaos round 2, left open).
 * In-process embedded platform; Date.now is the stepped clock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { Api, deployed, fnName, py, sleep, TEST_SECRETS_KEY } from './platform-harness.js';

describe('run records of a function created just before the wall clock stepped back', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-clock-runs-'));
  const realNow = Date.now;
  let platform: StartedPlatform | undefined;
  after(async () => {
    Date.now = realNow;
    await platform?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('lists every run of it, counts them in its usage, and none of it once it is deleted and created again', { timeout: 60_000 }, async () => {
    platform = await startPlatform({ port: 0, poolSize: 1, stateDir, secretsKey: TEST_SECRETS_KEY, log: () => {} });
    const api = new Api(platform.url, platform.takeAdminToken() ?? null);
    const name = fnName('stepped');
    await deployed(api, name, { 'main.py': py('def handler(event, context):', '    return {"ok": True}') });
    // NTP steps the clock back 10 minutes: every run from now on starts "before" the function.
    Date.now = () => realNow() - 10 * 60_000;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${platform.url}/fn/${name}/`);
      assert.equal(res.status, 200);
      ids.push(res.headers.get('x-run-id') ?? '');
    }
    const calledAt = realNow();
    // The live samples too (chaos round 2, left open): `usage` counted none of these calls (their
    // minute ends before the function's createdAt). 15m: the live metrics took the real Date.now at
    // their start here, so their window is the real clock's, which holds the stepped minutes.
    const usage = async (window: string): Promise<number> => {
      const res = await api.call('GET', `/functions/${name}/usage?window=${window}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.invocations as number;
    };
    let counted = await usage('15m');
    while (counted < 3 && realNow() < calledAt + 10_000) {
      await sleep(100);
      counted = await usage('15m');
    }
    assert.equal(counted, 3);
    const listed = async (): Promise<string[]> => {
      const res = await api.call('GET', `/runs?function=${name}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body.items as { runId: string }[]).map((r) => r.runId);
    };
    const deadline = realNow() + 10_000;
    let runs = await listed();
    while (runs.length < 3 && realNow() < deadline) {
      await sleep(200);
      runs = await listed();
    }
    // Before: [] (each record dropped as a deleted function's when its batch was written).
    assert.equal(runs.length, 3, `listed ${JSON.stringify(runs)}; ran ${JSON.stringify(ids)}`);
    // And each is found by id (ADR 0235): GET /runs/<id> decided by time too, so a run served by
    // the function now under its key, dated before its createdAt, was RUN_NOT_FOUND.
    for (const id of ids) {
      const one = await api.call('GET', `/runs/${id}`);
      assert.equal(one.status, 200, JSON.stringify(one.body));
    }


    // Red team 5 still holds: a run of it buffered when it is deleted is not shown to a function
    // created again under its key, whose createdAt (a step back) is just after the deleted one's.
    assert.equal((await fetch(`${platform.url}/fn/${name}/`)).status, 200);
    assert.equal((await api.call('DELETE', `/functions/${name}`)).status, 204);
    await deployed(api, name, { 'main.py': py('def handler(event, context):', '    return 2') });
    await sleep(1500);
    assert.deepEqual(await listed(), []);
    assert.equal(await usage('15m'), 0, 'the deleted function\'s samples are not the new one\'s');
  });
});
