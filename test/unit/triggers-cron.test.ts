/**
 * Cron triggers without I/O: checks and codes, next ticks, and the scheduler on an in-memory lock,
 * on a fake clock (node:test's mock timers drive setTimeout and Date, so no test waits for time).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it, type TestContext } from 'node:test';
import { CronScheduler, MemoryTickLock, parseSchedule, type CronMetrics, type CronTickOutcome, type CronTrigger, type FiredTrigger, type TriggerError } from '../../controlplane/async/index.js';
import { nextByCalendar } from '../../protocol/cron-wall-clock.js';
import { redisKeys } from '../../protocol/redis-keys.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as TriggerError).code;
  }
  return undefined;
};
const base: CronTrigger = { function: 'report', triggerId: 'nightly', expression: '0 0 * * *' };

/** A fake clock from `startMs` (half a second past a whole second: ticks fall on whole seconds). */
function fakeClock(t: TestContext, startMs = Date.UTC(2026, 0, 1, 12, 0, 0, 500)): (ms: number) => Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: startMs });
  // Advances in steps, letting the fires started by each step settle (setImmediate is not faked).
  return async (ms: number) => {
    for (let done = 0; done < ms; done += 50) {
      t.mock.timers.tick(Math.min(50, ms - done));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
}

describe('cron schedule checks', () => {
  it('accepts five and six fields, aliases and IANA zones', () => {
    for (const expression of ['0 0 * * *', '*/5 * * * * *', '@hourly', '0 30 9 * * mon-fri']) {
      assert.equal(codeOf(() => parseSchedule({ ...base, expression, timezone: 'Europe/Berlin' })), undefined, expression);
    }
    assert.equal(parseSchedule(base).trigger.timezone, 'UTC');
  });

  it('refuses bad expressions with CRON_EXPRESSION_INVALID', () => {
    for (const expression of ['', '   ', 'bad', '61 * * * *', '* * * * * * *', '* *', '0 0 30 2 *']) {
      assert.equal(codeOf(() => parseSchedule({ ...base, expression })), 'CRON_EXPRESSION_INVALID', expression);
    }
  });

  it('refuses unknown zones with CRON_TIMEZONE_INVALID and bad ids with TRIGGER_INVALID', () => {
    for (const timezone of ['', 'Nope/Zone', 'Mars/Olympus']) {
      assert.equal(codeOf(() => parseSchedule({ ...base, timezone })), 'CRON_TIMEZONE_INVALID', timezone);
    }
    for (const bad of [{ triggerId: '' }, { triggerId: 'a:b' }, { function: 'a{b' }, { triggerId: 'x'.repeat(129) }]) {
      assert.equal(codeOf(() => parseSchedule({ ...base, ...bad })), 'TRIGGER_INVALID');
    }
  });

  it('computes the next tick strictly after a time, in the trigger zone (DST included)', () => {
    const s = parseSchedule({ ...base, expression: '*/2 * * * * *' });
    const t = Date.parse('2026-01-01T00:00:02.000Z');
    assert.equal(s.next(t), t + 2000);
    assert.equal(s.next(t - 1), t);
    const berlin = parseSchedule({ ...base, expression: '0 30 9 * * *', timezone: 'Europe/Berlin' });
    assert.equal(new Date(berlin.next(Date.parse('2026-01-10T12:00:00Z'))).toISOString(), '2026-01-11T08:30:00.000Z');
    assert.equal(new Date(berlin.next(Date.parse('2026-07-10T12:00:00Z'))).toISOString(), '2026-07-11T07:30:00.000Z');
  });

  it('computes the next tick after the time asked from in the hour a zone\'s clock goes back at midnight (red team round 34)', () => {
    // America/Santiago, 2026-04-05: 00:00 goes back to 23:00 (03:00Z). The cron library answered
    // from 03:58:58Z with 02:59:00Z, an hour back, for every time of that hour.
    const chile = parseSchedule({ ...base, expression: '* * * * *', timezone: 'America/Santiago' });
    assert.equal(new Date(chile.next(Date.parse('2026-04-05T03:58:58Z'))).toISOString(), '2026-04-05T03:59:00.000Z');
    const ticks: number[] = [];
    for (let at = Date.parse('2026-04-05T02:30:00Z'); at < Date.parse('2026-04-05T04:30:00Z'); at = ticks[ticks.length - 1]!) ticks.push(chile.next(at));
    assert.equal(ticks.length, 120, 'one tick a minute through the change, none skipped');
    assert.ok(ticks.every((tick, i) => tick === Date.parse('2026-04-05T02:31:00Z') + i * 60_000));
    // Every second, and a minute field, through the same hour: always ahead.
    const seconds = parseSchedule({ ...base, expression: '*/20 15 * * * *', timezone: 'America/Santiago' });
    for (let at = Date.parse('2026-04-05T02:50:07Z'); at < Date.parse('2026-04-05T04:20:00Z'); at += 61_000) assert.ok(seconds.next(at) > at, new Date(at).toISOString());
    assert.equal(new Date(seconds.next(Date.parse('2026-04-05T03:15:20Z'))).toISOString(), '2026-04-05T03:15:40.000Z');
  });

  it('finds a rare tick on the calendar, as the library finds it, near clock changes too (red team round 36, loose ends round 2)', () => {
    // The library's walk to 29 February 23:59:N was 10-50 ms a tick; the calendar answers alone.
    const at = Date.parse('2026-12-06T20:00:00.500Z');
    const found = nextByCalendar(['17', '59', '23', '29', '2', '*'], 'Asia/Kathmandu', at);
    assert.equal(typeof found === 'number' ? new Date(found).toISOString() : found, '2028-02-29T18:14:17.000Z');
    // Asked within the hour Berlin's clock goes forward: the tick is far from it, the calendar answers too.
    const nearChange = nextByCalendar(['17', '59', '23', '29', '2', '*'], 'Europe/Berlin', Date.parse('2027-03-28T01:30:00Z'));
    assert.equal(typeof nearChange === 'number' ? new Date(nearChange).toISOString() : nearChange, '2028-02-29T22:59:17.000Z');
    const library = createRequire(import.meta.url)('cron') as typeof import('cron');
    const cases: [string, string, string][] = [
      ['30 2 * * *', 'Europe/Berlin', '2027-10-31T01:00:00Z'], ['30 2 * * *', 'Europe/Berlin', '2027-03-28T01:00:00Z'],
      ['30 1 * * *', 'America/New_York', '2027-11-07T06:00:00Z'], ['*/5 * * * *', 'Australia/Lord_Howe', '2027-10-02T15:30:00Z'],
      ['0 0 29 2 *', 'Europe/Berlin', '2027-03-28T01:00:00Z'], ['15 3 * * 0', 'America/Santiago', '2027-09-05T04:00:00Z'],
      ['0 0 1 jan,feb mon', 'Pacific/Chatham', '2027-04-04T13:00:00Z'], ['*/7 */3 * * *', 'UTC', '2027-06-01T00:00:00Z'],
    ];
    for (const [expression, zone, iso] of cases) {
      for (let d = -5 * 3_600_000; d <= 5 * 3_600_000; d += 53 * 60_000 + 250) {
        const after = Date.parse(iso) + d;
        const time = new library.CronTime(expression, zone);
        const expected = time.getNextDateFrom(new Date(after), zone).toMillis();
        // The calendar answers alone, within 3 hours of a change too (it left those to the library's walk).
        const fast = nextByCalendar(time.toJSON(), zone, after);
        assert.equal(typeof fast === 'number' ? new Date(fast).toISOString() : fast, new Date(expected).toISOString(), `${expression} in ${zone} after ${new Date(after).toISOString()}`);
      }
    }
  });

  it('builds tick and replay keys under the function hash tag', () => {
    const k = redisKeys('fp').trigger('report', 'nightly');
    assert.equal(k.tick(1000), 'fp:v1:fn:{report}:cron:nightly:1000');
    assert.equal(k.seen('17:ab'), 'fp:v1:fn:{report}:hook:nightly:seen:17:ab');
    assert.throws(() => redisKeys('fp').trigger('f', 'a:b'), RangeError);
  });
});

describe('cron scheduler (memory lock)', () => {
  const everySecond: CronTrigger = { function: 'tick', triggerId: 's', expression: '* * * * * *', payload: Buffer.from('hi') };

  it('fires each tick once across two schedulers sharing a lock', async (t) => {
    const advance = fakeClock(t);
    const lock = new MemoryTickLock();
    const fired: number[] = [];
    const payloads = new Set<string>();
    const make = () => new CronScheduler({ lock, fire: (t: FiredTrigger, tick) => { fired.push(tick); payloads.add(Buffer.from(t.payload).toString()); } });
    const a = make();
    const b = make();
    for (const s of [a, b]) {
      s.set(everySecond);
      s.start();
    }
    await advance(2300);
    await Promise.all([a.stop(), b.stop()]);
    assert.equal(fired.length, 2, 'the ticks at +0.5 s and +1.5 s, each once');
    assert.equal(new Set(fired).size, fired.length, 'a tick fired twice');
    for (const tick of fired) assert.equal(tick % 1000, 0);
    assert.deepEqual([...payloads], ['hi']);
  });

  it('a trigger set on a running scheduler fires again only lost ticks older than the live-claim grace (ADR 0264 amended)', async (t) => {
    const startMs = Date.UTC(2026, 0, 1, 12, 0, 30, 500);
    const advance = fakeClock(t, startMs);
    const lock = new MemoryTickLock();
    const ref = { function: 'tick', triggerId: 's' };
    const old = Date.UTC(2026, 0, 1, 12, 0, 10); // claimed 20.5 s ago, never settled: its claimer died
    const live = Date.UTC(2026, 0, 1, 12, 0, 29); // claimed 1.5 s ago: its claimer may still be queueing it
    assert.ok(await lock.acquire(ref, old));
    assert.ok(await lock.acquire(ref, live));
    const fired: number[] = [];
    const s = new CronScheduler({ lock, fire: (_t, tick) => void fired.push(tick) });
    s.start();
    s.set(everySecond);
    await advance(100);
    await s.stop();
    // Before the grace the live claimer's tick was fired a second time (counted twice as `fired`).
    assert.ok(fired.includes(old), JSON.stringify(fired));
    assert.ok(!fired.includes(live), JSON.stringify(fired));
  });

  it('stops firing a removed trigger; replaceAll with one bad trigger changes nothing', async (t) => {
    const advance = fakeClock(t);
    const fired: string[] = [];
    const s = new CronScheduler({ lock: new MemoryTickLock(), fire: (t) => void fired.push(t.triggerId) });
    s.set(everySecond);
    s.set({ ...everySecond, triggerId: 'other' });
    s.start();
    assert.equal(codeOf(() => s.replaceAll([{ ...everySecond, triggerId: 'x', expression: 'nope' }])), 'CRON_EXPRESSION_INVALID');
    assert.equal(s.list().length, 2);
    assert.equal(s.remove({ function: 'tick', triggerId: 'other' }), true);
    assert.equal(s.remove({ function: 'tick', triggerId: 'other' }), false);
    await advance(1200);
    assert.deepEqual(fired, ['s']);
    assert.ok(!fired.includes('other'));
    s.replaceAll([]);
    const count = fired.length;
    await advance(3000);
    await s.stop();
    assert.equal(fired.length, count);
    assert.equal(s.list().length, 0);
  });

  it('reports a failing fire or lock through onError and keeps ticking', async (t) => {
    const advance = fakeClock(t);
    const errors: unknown[] = [];
    const s = new CronScheduler({
      lock: { acquire: async () => true, close: async () => {} },
      fire: () => {
        throw Object.assign(new Error('queue down'), { code: 'QUEUE_UNAVAILABLE' });
      },
      onError: (err) => errors.push(err),
    });
    s.set(everySecond);
    s.start();
    await advance(2100);
    await s.stop();
    assert.equal(errors.length, 2);
    assert.equal((errors[0] as { code: string }).code, 'QUEUE_UNAVAILABLE');
  });

  it('counts every tick by outcome: fired, skipped (locked, late, paused), failed (lock, enqueue)', async (t) => {
    const advance = fakeClock(t);
    const outcomes = (): { seen: CronTickOutcome[]; metrics: CronMetrics } => {
      const seen: CronTickOutcome[] = [];
      return { seen, metrics: { tick: (ref, outcome) => { assert.equal(ref.function, 'tick'); seen.push(outcome); } } };
    };
    const shared = new MemoryTickLock();
    const [a, b, brokenLock, brokenFire, paused, late] = [outcomes(), outcomes(), outcomes(), outcomes(), outcomes(), outcomes()];
    let offset = 0;
    const schedulers = [
      new CronScheduler({ lock: shared, fire: () => {}, metrics: a.metrics }),
      new CronScheduler({ lock: shared, fire: () => 'fired', metrics: b.metrics }),
      new CronScheduler({ lock: { acquire: () => Promise.reject(new Error('lock store down')), close: async () => {} }, fire: () => {}, metrics: brokenLock.metrics }),
      new CronScheduler({ lock: new MemoryTickLock(), fire: () => Promise.reject(new Error('queue down')), metrics: brokenFire.metrics }),
      new CronScheduler({ lock: new MemoryTickLock(), fire: async () => 'paused' as const, metrics: paused.metrics }),
      // Its clock jumps ahead once armed: the timer wakes "too late" for the tick it waited for.
      new CronScheduler({ lock: new MemoryTickLock(), fire: () => {}, metrics: late.metrics, maxLateMs: 100, now: () => Date.now() + offset }),
    ];
    for (const s of schedulers) {
      s.set(everySecond);
      s.start();
    }
    offset = 500;
    await advance(1300);
    await Promise.all(schedulers.map((s) => s.stop()));
    const all = [...a.seen, ...b.seen];
    assert.ok(all.length >= 2 && all.length % 2 === 0, JSON.stringify(all));
    assert.equal(all.filter((o) => o === 'fired').length, all.length / 2, 'each tick: one fired, one skipped_locked');
    assert.equal(all.filter((o) => o === 'skipped_locked').length, all.length / 2);
    for (const [seen, outcome] of [[brokenLock.seen, 'failed_lock'], [brokenFire.seen, 'failed_enqueue'], [paused.seen, 'skipped_paused']] as const) {
      assert.ok(seen.length >= 1, `${outcome}: ${JSON.stringify(seen)}`);
      assert.ok(seen.every((o) => o === outcome), `${outcome}: ${JSON.stringify(seen)}`);
    }
    // The late wake is skipped; the schedule goes on from the (jumped) clock and fires the next tick.
    assert.equal(late.seen[0], 'skipped_late', JSON.stringify(late.seen));
    assert.ok(late.seen.slice(1).every((o) => o === 'fired'), JSON.stringify(late.seen));
  });

  it('does not spin in the hour a zone\'s clock goes back at midnight (red team round 34)', async () => {
    // Before: the library's tick an hour back was skipped as late and asked for again at once, a
    // timer of 0 ms after another for the whole hour: 32 such triggers took ~70 % of a core
    // (1 439 skipped_late in 3 s). Real timers on a clock set into that hour: node's mock Date
    // changes what the cron library answers there.
    const offset = Date.parse('2026-04-05T03:30:00.500Z') - Date.now();
    const seen: CronTickOutcome[] = [];
    const s = new CronScheduler({ lock: new MemoryTickLock(), fire: () => {}, now: () => Date.now() + offset, metrics: { tick: (_ref, outcome) => void seen.push(outcome) } });
    s.set({ ...base, expression: '* * * * *', timezone: 'America/Santiago' });
    s.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await s.stop();
    assert.deepEqual(seen, [], 'the next tick, 03:31:00Z, is a minute ahead: nothing fires or is skipped within 300 ms');
  });

  it('goes on firing after the wall clock steps back an hour (it waited for the hour to pass again)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1, 12, 0, 0, 500) });
    let offset = 0;
    const fired: number[] = [];
    const s = new CronScheduler({ lock: new MemoryTickLock(), fire: (_t, tick) => void fired.push(tick), now: () => Date.now() + offset });
    s.set({ ...base, expression: '*/2 * * * * *' });
    s.start();
    const advance = async (ms: number): Promise<void> => {
      for (let done = 0; done < ms; done += 1_000) {
        t.mock.timers.tick(Math.min(1_000, ms - done));
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await advance(10_000);
    const before = fired.length;
    assert.ok(before >= 4, `fired ${before} ticks in 10 s`);
    offset = -3_600_000; // NTP, a restored VM
    await advance(40_000); // past one RECHECK_MS, the longest a step may go unseen
    await s.stop();
    const after = fired.filter((tick) => tick < Date.UTC(2026, 0, 1, 12, 0, 0));
    assert.ok(after.length >= 4, `fired ${after.length} ticks in the 40 s after the step back: ${JSON.stringify(fired.slice(before))}`);
    assert.equal(new Set(fired).size, fired.length, 'no tick fired twice');
  });

  it('fires a tick the wall clock stepped toward without crossing it (the wait is read again; was skipped late)', async (t) => {
    // A nightly tick 12 h away; an hour after the start the wall clock steps an hour forward
    // (NTP, `date -s`). The tick is then 10 h away on the wall clock. Before, the one 12 h timer
    // woke at 01:00 on the wall clock, an hour after the tick, and skipped it as late.
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1, 12, 0, 0, 500) });
    let offset = 0;
    const fired: number[] = [];
    const seen: CronTickOutcome[] = [];
    const s = new CronScheduler({ lock: new MemoryTickLock(), fire: (_t, tick) => void fired.push(tick), metrics: { tick: (_ref, outcome) => void seen.push(outcome) }, now: () => Date.now() + offset });
    s.set(base);
    s.start();
    const advance = async (ms: number): Promise<void> => {
      for (let done = 0; done < ms; done += 10_000) {
        t.mock.timers.tick(Math.min(10_000, ms - done));
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await advance(3_600_000);
    offset = 3_600_000;
    await advance(11 * 3_600_000); // 00:00 on the wall clock came at 23:00 on the monotonic one
    await s.stop();
    assert.deepEqual(seen, ['fired']);
    assert.deepEqual(fired, [Date.UTC(2026, 0, 2, 0, 0, 0)]);
  });
});
