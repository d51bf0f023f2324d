/** The gateway's bound on response bytes held for slow clients (gateway/held-responses.ts, uws-adapter rule 10). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeldResponses, MIN_CLIENT_BYTES_PER_S, SLOW_CLIENT_WINDOW_MS, type Holder } from '../../gateway/held-responses.js';

function holder(): Holder & { cuts: number } {
  return { cuts: 0, cut() { this.cuts++; } };
}

describe('held responses', () => {
  it('refuses what would pass the budget, and counts bytes as clients take them', () => {
    const held = new HeldResponses(100, () => 0);
    const a = holder();
    assert.equal(held.hold(a, 60), true);
    assert.equal(held.hold(holder(), 50), false);
    held.progress(a, 20);
    assert.equal(held.held, 20);
    assert.equal(held.hold(holder(), 50), true);
    held.release(a);
    assert.equal(held.held, 50);
    assert.equal(held.cutCount, 1);
    held.stop();
  });

  it('cuts clients slower than the minimum rate only while more than half the budget is held', () => {
    let now = 0;
    const window = (MIN_CLIENT_BYTES_PER_S * SLOW_CLIENT_WINDOW_MS) / 1000;
    const held = new HeldResponses(8 * window, () => now);
    const slow = holder();
    const fast = holder();
    held.hold(slow, 3 * window);
    held.hold(fast, 3 * window);
    now = SLOW_CLIENT_WINDOW_MS;
    held.progress(fast, 2 * window); // took one window's worth: fast enough
    held.sweep();
    assert.equal(slow.cuts, 1);
    assert.equal(fast.cuts, 0);
    assert.equal(held.held, 2 * window);
    // Under half the budget: a slow client may take its time.
    now += SLOW_CLIENT_WINDOW_MS;
    held.sweep();
    assert.equal(fast.cuts, 0);
    held.stop();
  });
});
