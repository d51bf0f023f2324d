/** The gateway's bounds on bytes kept for clients (gateway/byte-budget.ts, uws-adapter rules 7 and 10). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget, MIN_CLIENT_BYTES_PER_S, SLOW_CLIENT_WINDOW_MS, type Holder } from '../../gateway/byte-budget.js';

function holder(): Holder & { cuts: number } {
  return { cuts: 0, cut() { this.cuts++; } };
}

describe('byte budget', () => {
  it('refuses what would pass the budget, and counts bytes as clients take them', () => {
    const held = new ByteBudget(100, () => 0);
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

  it('takes one holder alone whatever its size, and lets it grow while it is alone', () => {
    const budget = new ByteBudget(100, () => 0);
    const big = holder();
    assert.equal(budget.hold(big, 150), true);
    assert.equal(budget.hold(big, 50), true, 'the only holder grows past the budget');
    assert.equal(budget.hold(holder(), 1), false, 'anyone else waits');
    budget.release(big);
    assert.equal(budget.held, 0);
    assert.equal(budget.hold(holder(), 100), true);
    budget.stop();
  });

  it('cuts clients slower than the minimum rate only while more than half the budget is held', () => {
    let now = 0;
    const window = (MIN_CLIENT_BYTES_PER_S * SLOW_CLIENT_WINDOW_MS) / 1000;
    const held = new ByteBudget(8 * window, () => now);
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

  it('cuts every client slow through a window in which more than half was held, when their windows end a sweep apart (CI)', () => {
    let now = 0;
    const window = (MIN_CLIENT_BYTES_PER_S * SLOW_CLIENT_WINDOW_MS) / 1000;
    const budget = new ByteBudget(8 * window, () => now);
    const first = holder();
    const second = holder();
    budget.hold(first, 3 * window);
    now = 5; // its head arrived 5 ms later: a sweep can fall between the two windows' ends
    budget.hold(second, 3 * window);
    for (now = 1000; now < SLOW_CLIENT_WINDOW_MS; now += 1000) budget.sweep(); // the gateway sweeps every second
    now = SLOW_CLIENT_WINDOW_MS + 2; // the first's window ended, the second's not
    budget.sweep();
    assert.equal(first.cuts, 1);
    assert.equal(second.cuts, 0, 'its window has not ended');
    assert.equal(budget.held, 3 * window, 'under half now');
    now += 1000;
    budget.sweep();
    assert.equal(second.cuts, 1, 'as slow, through the same pressure');
    assert.equal(budget.held, 0);
    budget.stop();
  });

  it('counts what a sending client moved (a request body) for the minimum rate, not what it holds', () => {
    let now = 0;
    const window = (MIN_CLIENT_BYTES_PER_S * SLOW_CLIENT_WINDOW_MS) / 1000;
    const budget = new ByteBudget(4 * window, () => now);
    const trickling = holder();
    const sending = holder();
    budget.hold(trickling, 2 * window); // a Content-Length body: its whole size counted at once
    budget.hold(sending, window);
    now = SLOW_CLIENT_WINDOW_MS;
    budget.moved(trickling, 10);
    budget.moved(sending, window);
    budget.sweep();
    assert.equal(trickling.cuts, 1);
    assert.equal(sending.cuts, 0);
    assert.equal(budget.held, window, 'the cut body left the budget');
    budget.stop();
  });

  it('keeps a body received whole (settled) counted until released, and never cuts it as slow (red team 4)', () => {
    let now = 0;
    const window = (MIN_CLIENT_BYTES_PER_S * SLOW_CLIENT_WINDOW_MS) / 1000;
    const budget = new ByteBudget(4 * window, () => now);
    const queued = holder();
    budget.hold(queued, 3 * window);
    budget.moved(queued, 3 * window);
    budget.settle(queued); // arrived whole; its call waits in a queue
    now = 3 * SLOW_CLIENT_WINDOW_MS;
    budget.sweep();
    assert.equal(queued.cuts, 0, 'nothing left to send: not a slow client');
    assert.equal(budget.held, 3 * window, 'still held while its call holds it');
    assert.equal(budget.hold(holder(), 2 * window), false, 'a body past the budget is refused');
    budget.release(queued);
    assert.equal(budget.held, 0);
    budget.stop();
  });
});

describe('byte budget shares', () => {
  it('a share holds at most a quarter of the budget, its first holder whatever its size; other shares are not concerned', () => {
    const budget = new ByteBudget(100, () => 0);
    const [a1, a2, a3, b1] = [holder(), holder(), holder(), holder()];
    assert.equal(budget.hold(a1, 20, 'a'), true);
    assert.equal(budget.hold(a2, 10, 'a'), false, '30 would pass a\'s quarter (25)');
    assert.equal(budget.shareFullCount, 1);
    assert.equal(budget.hold(b1, 25, 'b'), true, 'another share takes its own quarter');
    assert.equal(budget.heldBy('a'), 20);
    budget.release(a1);
    assert.equal(budget.heldBy('a'), 0);
    assert.equal(budget.hold(a3, 40, 'a'), true, 'alone in its share, a holder of any size fits (the whole budget permitting)');
    assert.equal(budget.hold(a3, 5), true, 'a holder grows in the share it started in');
    assert.equal(budget.heldBy('a'), 45);
    budget.progress(a3, 10);
    assert.equal(budget.heldBy('a'), 10);
    assert.equal(budget.held, 35);
    budget.stop();
  });

  it('the shares of one group (a workspace) hold at most half of the budget together; other groups are not concerned (red team round 7)', () => {
    const budget = new ByteBudget(100, () => 0, (share) => share.split('.')[1] ?? null);
    const held = Array.from({ length: 6 }, () => holder());
    assert.equal(budget.hold(held[0]!, 20, 'f1.t'), true);
    assert.equal(budget.hold(held[1]!, 20, 'f2.t'), true);
    assert.equal(budget.hold(held[2]!, 20, 'f3.t'), false, '60 would pass t\'s half (50), each function within its quarter');
    assert.equal(budget.heldByGroup('t'), 40);
    assert.equal(budget.hold(held[3]!, 25, 'g1.u'), true, 'another group takes its own');
    assert.equal(budget.hold(held[4]!, 25, 'g2.u'), true);
    budget.progress(held[0]!, 5);
    assert.equal(budget.heldByGroup('t'), 25);
    assert.equal(budget.hold(held[5]!, 20, 'f3.t'), true, 'once the group\'s answers are read, its next fits');
    budget.release(held[1]!);
    assert.equal(budget.heldByGroup('t'), 25);
    assert.equal(budget.held, 25 + 50);
    budget.stop();
  });
});
