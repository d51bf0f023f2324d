/**
 * The embedded log feed (controlplane/logs/memory-feed.ts): the LogFeed conformance suite, then
 * what memory alone decides — a cursor from before this feed began (the platform restarted) is a
 * `restart` gap, a function's ring outlives its last tail by the linger time and then goes (an
 * `expired` gap), and a reader that the ring moved past gets a `behind` gap counting the lines.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLogFeed, parseFeedId } from '../../controlplane/logs/index.js';
import { batch, logFeedConformance, readLines } from '../conformance/log-feed-suite.js';

logFeedConformance('memory', async () => ({
  feed: async (options = {}) => (options.second ? null : new MemoryLogFeed({ limits: { ...(options.maxSubscribers !== undefined ? { maxSubscribers: options.maxSubscribers } : {}) } })),
  destroy: async () => {},
}));

describe('memory log feed', () => {
  it('tells a reader resuming from an earlier process that the platform restarted, and gives it everything since', async () => {
    let now = 1_000_000;
    const old = new MemoryLogFeed({ now: () => now });
    const sub = await old.subscribe('fn', null);
    old.lines(batch('fn', 'r1', 0, ['before the restart']));
    const seen = await readLines(sub, 1);
    const last = parseFeedId(seen.reads[0]!.position)!;
    await old.close();
    now += 5000;
    const restarted = new MemoryLogFeed({ now: () => now });
    const resumed = await restarted.subscribe('fn', last);
    restarted.lines(batch('fn', 'r2', 0, ['after the restart']));
    const got = await readLines(resumed, 1);
    assert.deepEqual(got.reads[0]!.gap, { reason: 'restart', since: last.ms, dropped: null });
    assert.deepEqual(got.msgs, ['after the restart']);
    resumed.close();
    await restarted.close();
  });

  it('gives each function its own ids: a new tail\'s first id says nothing of when other functions logged (red team 6)', async () => {
    let now = 1_000_000;
    const feed = new MemoryLogFeed({ now: () => now });
    // Another workspace's function, tailed by its owner, logs three lines.
    const victim = await feed.subscribe('payroll.other', null);
    now += 100;
    feed.lines(batch('payroll.other', 'r1', 0, ['a', 'b', 'c']));
    now += 100;
    // A viewer of another workspace opens a tail of its own function: its stream's first id was
    // the last id given to any function (1000100-2: when, and how many in that millisecond).
    const mine = await feed.subscribe('probe.mine', null);
    assert.equal(mine.start, '1000200-0');
    // Its own lines are numbered on its own, after that start.
    feed.lines(batch('probe.mine', 'r2', 0, ['x']));
    const got = await readLines(mine, 1);
    assert.equal(got.reads[0]!.position, '1000200-1');
    mine.close();
    victim.close();
    await feed.close();
  });

  it('keeps a ring for the linger time after the last tail left, then forgets it (expired)', async () => {
    let now = 1_000_000;
    const feed = new MemoryLogFeed({ now: () => now, lingerMs: 60_000 });
    const sub = await feed.subscribe('fn', null);
    feed.lines(batch('fn', 'r1', 0, ['one']));
    const seen = await readLines(sub, 1);
    const cursor = parseFeedId(seen.reads[0]!.position)!;
    sub.close();
    // Within the linger: still published and kept, so a reconnect loses nothing.
    now += 30_000;
    assert.equal(feed.wants('fn'), true);
    feed.lines(batch('fn', 'r1', 1, ['two']));
    const back = await feed.subscribe('fn', cursor);
    assert.deepEqual((await readLines(back, 1)).msgs, ['two']);
    back.close();
    // Past it: nothing published any more, and a reader from before learns of the gap.
    now += 61_000;
    assert.equal(feed.wants('fn'), false);
    feed.lines(batch('fn', 'r1', 2, ['three (nobody tails)']));
    const late = await feed.subscribe('fn', cursor);
    feed.lines(batch('fn', 'r1', 3, ['four']));
    const got = await readLines(late, 1);
    assert.equal(got.reads[0]!.gap?.reason, 'expired');
    assert.equal(got.reads[0]!.gap?.since, cursor.ms);
    assert.deepEqual(got.msgs, ['four']);
    late.close();
    await feed.close();
  });

  it('counts the lines a slow reader lost when the ring moved past it', async () => {
    const feed = new MemoryLogFeed({ limits: { ringEntries: 3 } });
    const slow = await feed.subscribe('fn', null);
    for (let k = 0; k < 6; k++) feed.lines(batch('fn', 'r1', k * 2, [`a${k}`, `b${k}`]));
    const got = await readLines(slow, 6);
    assert.deepEqual(got.reads[0]!.gap, { reason: 'behind', since: got.reads[0]!.gap!.since, dropped: 6 });
    assert.deepEqual(got.msgs, ['a3', 'b3', 'a4', 'b4', 'a5', 'b5']);
    slow.close();
    await feed.close();
  });

  it('makes increasing ids while the clock stands still or steps back', async () => {
    let now = 5_000;
    const feed = new MemoryLogFeed({ now: () => now });
    const sub = await feed.subscribe('fn', null);
    feed.lines(batch('fn', 'r1', 0, ['a']));
    now = 4_000;
    feed.lines(batch('fn', 'r1', 1, ['b']));
    feed.lines(batch('fn', 'r1', 2, ['c']));
    const got = await readLines(sub, 3);
    const ids = got.reads.flatMap((r) => r.entries.map((e) => e.key));
    assert.deepEqual(ids, ['5000-1', '5000-2', '5000-3']);
    sub.close();
    await feed.close();
  });
});
