/** StoreHealth (ADR 0210): what /readyz says of the production store, from its calls' outcomes and a throttled probe. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreHealth } from '../../controlplane/store/production/health.js';

describe('StoreHealth', () => {
  it('is a degraded STORE_UNAVAILABLE from the first failed call until one is answered, in plain words', () => {
    let now = 1_000_000;
    const health = new StoreHealth({ now: () => now });
    assert.equal(health.problem(), null);
    health.unreachable("the store's PostgreSQL (behind FerretDB) could not be reached; try again shortly");
    now += 4000;
    health.unreachable('the store (MongoDB) did not answer; try again shortly');
    const problem = health.problem();
    assert.equal(problem?.code, 'STORE_UNAVAILABLE');
    assert.equal(problem?.degraded, true);
    assert.match(problem!.message, /^the store \(MongoDB\) did not answer \(for 4 s\): API calls answer 503 STORE_UNAVAILABLE/);
    health.answered();
    assert.equal(health.problem(), null);
  });

  it('probes only when nothing reached the store for probeEveryMs, one probe at a time', async () => {
    let now = 0;
    let probes = 0;
    let finish: () => void = () => {};
    const health = new StoreHealth({ now: () => now, probeEveryMs: 5000 });
    health.probe = () => {
      probes++;
      return new Promise<void>((resolve) => { finish = resolve; });
    };
    health.answered();
    now = 4999;
    health.problem();
    assert.equal(probes, 0, 'a call was answered within the interval');
    now = 5000;
    health.problem();
    health.problem();
    assert.equal(probes, 1, 'one probe in flight at a time');
    finish();
    await new Promise((r) => setImmediate(r));
    health.problem();
    assert.equal(probes, 2, 'its outcome is reported by the guard; without one, the next /readyz probes again');
  });
});
