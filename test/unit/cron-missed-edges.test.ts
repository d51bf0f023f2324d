/**
 * Missed cron ticks (ADR 0238), the edges loose ends round 14 closed, on a fake clock (node:test's
 * mock timers drive setTimeout and Date) and the in-memory tick lock:
 * - a tick due in the last 10 s before a start (the live-claim grace) was neither counted nor fired,
 *   then lost once a later claim moved the note past it; now claimed once the grace passed and,
 *   nobody else having claimed it, counted in the same summary;
 * - a paused function's ticks were counted as missed by a restart after its resume, before its next tick;
 * - past the 600-tick bound the summary's last tick was the 600th and the note stopped there: the
 *   rest were counted again by a later start, or never; now the summary and the note reach the
 *   outage's last tick, with "600 or more";
 * - a deleted function's notes stayed (the SQLite lock; the memory one here), so one created again
 *   with the name listed the old one's missed ticks and counted from its last claim.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { CronScheduler, CronTriggers, MemoryTickLock, type CronTrigger, type MissedTicks, type TickLock } from '../../controlplane/async/index.js';
import type { Store } from '../../controlplane/store/index.js';

const START = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
const sec = (h: number, m: number, s: number): number => Date.UTC(2026, 0, 1, h, m, s);

/** A fake clock from START; `advance` lets the fires started by each step settle (setImmediate is not faked). */
function fakeClock(t: TestContext): (ms: number, step?: number) => Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  return async (ms, step = 50) => {
    for (let done = 0; done < ms; done += step) {
      t.mock.timers.tick(Math.min(step, ms - done));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
}

/** A scheduler on `lock` telling its outages and missed-tick counts; fires count as fired. */
function scheduler(lock: TickLock): { s: CronScheduler; outages: MissedTicks[]; missed: () => number } {
  const outages: MissedTicks[] = [];
  let missed = 0;
  const s = new CronScheduler({
    lock, fire: () => 'fired', outage: (_t, ticks) => void outages.push(ticks),
    metrics: { tick: (_ref, outcome) => { if (outcome === 'missed') missed++; } },
  });
  return { s, outages, missed: () => missed };
}

const ref = { function: 'report', triggerId: 'beat' };

describe('missed cron ticks: the edges (ADR 0238, loose ends round 14)', () => {
  it('a tick due in the 10 s before the start, claimed by nobody in the grace, is counted in the summary', async (t) => {
    const advance = fakeClock(t);
    const lock = new MemoryTickLock();
    assert.ok(await lock.acquire(ref, sec(11, 59, 0))); // the last tick seen before the outage
    const every5s: CronTrigger = { ...ref, expression: '*/5 * * * * *' };
    const { s, outages, missed } = scheduler(lock);
    s.set(every5s);
    s.start();
    await advance(11_000); // the grace after 12:00:00, the last tick before the start
    await s.stop();
    // 11:59:05 … 11:59:50 before the grace (10), 11:59:55 and 12:00:00 in it (2).
    assert.deepEqual(outages, [{ firstMs: sec(11, 59, 5), lastMs: sec(12, 0, 0), count: 12, more: false, cause: 'down' }]);
    assert.equal(missed(), 12);
    assert.equal(await lock.acquire(ref, sec(11, 59, 55)), false, 'the counted tick is claimed: a stalled process does not fire it too');
  });

  it('a tick of the grace another process claimed in it is not counted; a stop during the grace counts none of it', async (t) => {
    const advance = fakeClock(t);
    const lock = new MemoryTickLock();
    assert.ok(await lock.acquire(ref, sec(11, 59, 50)));
    const { s, outages } = scheduler(lock);
    s.set({ ...ref, expression: '*/5 * * * * *' });
    s.start();
    await advance(1_000);
    assert.ok(await lock.acquire(ref, sec(11, 59, 55)), 'a live process of a cluster claims its late tick');
    await advance(10_000);
    await s.stop();
    assert.deepEqual(outages, [{ firstMs: sec(12, 0, 0), lastMs: sec(12, 0, 0), count: 1, more: false, cause: 'down' }]);

    const again = scheduler(lock);
    again.s.set({ ...ref, triggerId: 'other', expression: '*/5 * * * * *' });
    assert.ok(await lock.acquire({ ...ref, triggerId: 'other' }, sec(12, 0, 10)));
    await advance(6_000); // 12:00:17.5: the tick of 12:00:15, in the grace, was nobody's
    again.s.start();
    await advance(100);
    await again.s.stop(); // before the grace passed: its late ticks are not waited for (stop does not hang)
    assert.deepEqual(again.outages, []);
  });

  it('a paused (unscheduled) trigger\'s ticks are not missed at a restart after its resume', async (t) => {
    const advance = fakeClock(t);
    const lock = new MemoryTickLock();
    const everyMinute: CronTrigger = { ...ref, expression: '* * * * *' };
    const first = scheduler(lock);
    first.s.set(everyMinute);
    first.s.start();
    await advance(60_000, 1_000); // fires 12:01:00
    assert.equal((await lock.note(ref))?.lastTickMs, sec(12, 1, 0));
    first.s.remove(ref); // paused: its triggers leave the scheduler (CronTriggers.refresh)
    await advance(3_600_000, 60_000);
    first.s.set(everyMinute); // resumed, an hour later
    await first.s.stop();
    const restarted = scheduler(lock); // the platform restarts before the next tick
    restarted.s.set(everyMinute);
    restarted.s.start();
    await advance(11_000, 1_000);
    await restarted.s.stop();
    assert.deepEqual(restarted.outages, [], 'the paused hour was told as missed');
  });

  it('past 600 ticks the summary and the note reach the outage\'s last tick: "600 or more", none counted again', async (t) => {
    const advance = fakeClock(t);
    const lock = new MemoryTickLock();
    assert.ok(await lock.acquire(ref, sec(11, 0, 0))); // an every-second trigger down an hour: 3 599 ticks
    const everySecond: CronTrigger = { ...ref, expression: '* * * * * *' };
    const { s, outages, missed } = scheduler(lock);
    s.set(everySecond);
    s.start();
    // The clock stands still while the start walks the ticks (it lets other work run between them).
    for (let turn = 0; turn < 5_000 && (await lock.note(ref))!.lastTickMs < sec(11, 59, 50); turn++) await new Promise((resolve) => setImmediate(resolve));
    // The 600 counted are 11:00:01 … 11:10:00; the 2 989 after them to 11:59:50 are not enumerated,
    // only covered: the summary's last, and the note past them.
    assert.ok((await lock.note(ref))!.lastTickMs >= sec(11, 59, 50), 'the note stopped at the 600th tick');
    await advance(11_000);
    await s.stop();
    // …and the grace's ten (11:59:51 … 12:00:00), claimed by nobody.
    assert.deepEqual(outages, [{ firstMs: sec(11, 0, 1), lastMs: sec(12, 0, 0), count: 610, more: true, cause: 'down' }]);
    assert.equal(missed(), 610);
    const restarted = scheduler(lock);
    restarted.s.set(everySecond);
    restarted.s.start();
    await advance(11_000);
    await restarted.s.stop();
    assert.deepEqual(restarted.outages, [], 'a later start counted the outage again');
  });

  it('a start arms a trigger once its outage is counted: its own claims do not move the note first', async (t) => {
    const advance = fakeClock(t);
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => { open = resolve; });
    /** A note slow to read (a loaded store, or ticks slow to find): the trigger's own ticks come due meanwhile. */
    class SlowNote extends MemoryTickLock {
      override async note(r: typeof ref): ReturnType<MemoryTickLock['note']> {
        await gate;
        return super.note(r);
      }
    }
    const lock = new SlowNote();
    assert.ok(await lock.acquire(ref, sec(11, 59, 0)));
    const fired: number[] = [];
    const outages: MissedTicks[] = [];
    const s = new CronScheduler({ lock, fire: (_t, tick) => void fired.push(tick), outage: (_t, ticks) => void outages.push(ticks) });
    s.set({ ...ref, expression: '* * * * * *' });
    s.start();
    await advance(2_500); // 12:00:01 and 12:00:02 due
    open();
    await advance(11_000);
    await s.stop();
    // Before: the ticks of 12:00:01 and :02 were claimed first, the note said 12:00:02, and the hour's outage went untold.
    assert.deepEqual(outages.map((o) => [o.firstMs, o.count]), [[sec(11, 59, 1), 60]]);
    // The first tick after the start fires late (as a stalled scheduler's: the others of the wait are skipped, ADR 0008).
    assert.equal(fired[0], sec(12, 0, 1), JSON.stringify(fired));
  });

  it('a deleted function\'s notes and claims go with it (CronTriggers.forget)', async () => {
    const lock = new MemoryTickLock();
    assert.ok(await lock.acquire(ref, sec(11, 0, 0)));
    assert.ok(await lock.noteMissed(ref, sec(11, 0, 0), 3));
    const kept = { function: 'report2', triggerId: 'beat' }; // a name the deleted one begins
    assert.ok(await lock.acquire(kept, sec(11, 0, 0)));
    const store = { functions: { get: async () => null, list: async () => [] } } as unknown as Store;
    const cron = new CronTriggers(store, lock, async () => {}, () => {});
    await cron.forget('report');
    assert.equal(await lock.note(ref), null, 'the deleted function\'s note stayed');
    assert.deepEqual(await lock.unsettled(ref, [sec(11, 0, 0)]), [], 'its claim stayed');
    assert.notEqual(await lock.note(kept), null, 'another function\'s note went');
  });
});
