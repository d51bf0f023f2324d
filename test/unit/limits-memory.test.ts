/** The embedded admission limiter: the conformance suite, and its refill and minute windows on a fake clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLimiter } from '../../controlplane/limits/index.js';
import { limiterConformance } from '../conformance/limiter-suite.js';

// The memory limiter reads the clock it is given: a minute that never ends here.
limiterConformance('memory', async () => ({ limiters: [new MemoryLimiter(() => 1_700_000_010_000)], close: async () => {} }), { beforeMinuteEnds: async () => {} });

describe('memory limiter on a fake clock', () => {
  it('refills a bucket continuously up to its burst', () => {
    let now = 1_000_000;
    const limiter = new MemoryLimiter(() => now);
    const bucket = { fn: 'f', requests: 10, periodMs: 1000, burst: 2 };
    assert.equal(limiter.admit('ws', bucket, null).ok, true);
    assert.equal(limiter.admit('ws', bucket, null).ok, true);
    const refused = limiter.admit('ws', bucket, null);
    assert.deepEqual(refused, { ok: false, reason: 'rate', retryAfterMs: 100, used: 0 });
    now += 100;
    assert.equal(limiter.admit('ws', bucket, null).ok, true);
    now += 60_000;
    // Never more than the burst, however long it waited.
    assert.equal([1, 2, 3].map(() => limiter.admit('ws', bucket, null).ok).filter(Boolean).length, 2);
  });

  it('refills a drained bucket after the wall clock steps back, not once it is back (chaos round 9)', () => {
    let now = 1_000_000;
    const limiter = new MemoryLimiter(() => now);
    const bucket = { fn: 'f', requests: 10, periodMs: 1000, burst: 1 };
    assert.equal(limiter.admit('ws', bucket, null).ok, true);
    assert.equal(limiter.admit('ws', bucket, null).ok, false);
    now -= 10 * 60_000; // NTP steps the clock back 10 minutes
    assert.equal(limiter.admit('ws', bucket, null).ok, false, 'no refill for the step itself');
    now += 100;
    // Before: refused for the 10 minutes until the clock was back ("retry after 100 ms" each time).
    assert.equal(limiter.admit('ws', bucket, null).ok, true);
  });

  it('counts calls per calendar minute and says how long until the next', async () => {
    let now = 1_700_000_080_000; // 40 s into a minute (1_700_000_040_000 is a minute boundary)
    const limiter = new MemoryLimiter(() => now);
    assert.equal(limiter.admit('ws', null, 1).ok, true);
    assert.deepEqual(limiter.admit('ws', null, 1), { ok: false, reason: 'quota', retryAfterMs: 20_000, used: 1 });
    assert.equal(await limiter.minuteCount('ws'), 1);
    now += 20_000;
    assert.equal(await limiter.minuteCount('ws'), 0);
    assert.equal(limiter.admit('ws', null, 1).ok, true);
  });
});
