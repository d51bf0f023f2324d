/** Cron triggers in the manifest: defaults and shape (protocol), and the control plane's upload check. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { checkManifestTriggers, cronTriggersOf } from '../../controlplane/async/index.js';
import { isPlatformError, ManifestError, MAX_CRON_CHARS, parseCronSchedule, parseManifest } from '../../protocol/index.js';

// The luxon the cron library calls (its CommonJS build, as `cron` requires it): its steps are counted.
const luxon = createRequire(import.meta.url)('luxon') as { DateTime: { prototype: { plus: (...a: unknown[]) => unknown } } };

/** How many calendar steps (luxon `plus` calls) `run` made. */
function calendarSteps(run: () => void): number {
  const proto = luxon.DateTime.prototype;
  const plus = proto.plus;
  let steps = 0;
  proto.plus = function (this: unknown, ...args: unknown[]) {
    steps++;
    return plus.apply(this, args);
  };
  try {
    run();
  } finally {
    proto.plus = plus;
  }
  return steps;
}

const fieldOf = (manifest: unknown): unknown => {
  try {
    checkManifestTriggers('fn', manifest);
  } catch (err) {
    assert.ok(isPlatformError(err));
    assert.equal(err.code, 'INVALID_FIELD');
    return err.details['field'];
  }
  return null;
};

describe('cron triggers in the manifest', () => {
  it('defaults ids to cron-<index> and where a tick calls to POST /, and keeps timezone and payload', () => {
    const m = parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'webhook', id: 'gh' }, { type: 'cron', schedule: '*/5 * * * * *', timezone: 'Europe/Berlin', payload: { a: 1 } }] });
    assert.deepEqual(m.triggers[1], { type: 'cron', id: 'cron-1', schedule: '*/5 * * * * *', timezone: 'Europe/Berlin', payload: { a: 1 }, method: 'POST', path: '/' });
  });

  it('takes where a tick calls the app (method POST or GET, a path), a GET without a payload (ADR 0175)', () => {
    const m = parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule: '0 5 * * *', method: 'GET', path: '/api/cron' }] });
    assert.deepEqual([m.triggers[0]?.type === 'cron' && m.triggers[0].method, m.triggers[0]?.path], ['GET', '/api/cron']);
    const [t] = cronTriggersOf('fn', { triggers: [{ type: 'cron', schedule: '0 5 * * *', method: 'GET', path: '/api/cron' }] });
    assert.deepEqual(t?.at, { method: 'GET', path: '/api/cron' });
    for (const [bad, path] of [[{ method: 'GET', payload: { a: 1 } }, 'triggers.0.payload'], [{ method: 'PUT' }, 'triggers.0.method'], [{ path: 'api/cron' }, 'triggers.0.path']] as const) {
      assert.throws(
        () => parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule: '0 5 * * *', ...bad }] }),
        (err: unknown) => err instanceof ManifestError && err.issues.some((i) => i.path === path),
        JSON.stringify(bad),
      );
    }
  });

  it('refuses unknown zones, bad and duplicate ids with their paths', () => {
    assert.throws(
      () => parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', id: 'a', schedule: '* * * * *', timezone: 'Nowhere/City' }, { type: 'cron', id: 'a', schedule: '* * * * *' }] }),
      (err: unknown) => err instanceof ManifestError && err.issues.some((i) => i.path === 'triggers.0.timezone'),
    );
    assert.throws(
      () => parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', id: 'a', schedule: '* * * * *' }, { type: 'cron', id: 'a', schedule: '* * * * *' }] }),
      (err: unknown) => err instanceof ManifestError && err.issues.some((i) => i.path === 'triggers.1.id'),
    );
  });

  it('refuses a schedule the scheduler cannot parse or that never fires, as the scheduler would (validate catches it before a deploy)', () => {
    for (const schedule of ['61 * * * *', 'not cron', '0 0 30 2 *', '* * * * * * *']) {
      assert.throws(
        () => parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule: '* * * * *' }, { type: 'cron', schedule }] }),
        (err: unknown) => err instanceof ManifestError && err.issues.some((i) => i.path === 'triggers.1.schedule' && i.message.startsWith(`bad cron expression ${JSON.stringify(schedule)}`)),
        schedule,
      );
    }
    for (const schedule of ['*/5 * * * *', '0 0 9 * * mon-fri', '@hourly']) {
      assert.doesNotThrow(() => parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule, timezone: 'Europe/Berlin' }] }), schedule);
    }
  });

  it('refuses a schedule longer than MAX_CRON_CHARS, takes one with every value listed (red team round 36)', () => {
    const list = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => i + from).join(',');
    const everyValue = `${list(60)} ${list(60)} ${list(24)} ${list(31, 1)} ${list(12, 1)} ${list(7)}`;
    assert.ok(everyValue.length <= MAX_CRON_CHARS, `${everyValue.length}`);
    parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule: everyValue }] });
    // A 60 KB minute list parsed (90 ms) and was remembered under its text: 8192 of them, ~0.5 GB.
    const long = `${Array(30_000).fill('0').join(',')} * * * *`;
    assert.throws(
      () => parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule: long }] }),
      (err: unknown) => err instanceof ManifestError && err.issues.some((i) => i.path === 'triggers.0.schedule' && i.message.includes(`at most ${MAX_CRON_CHARS}`)),
    );
    assert.throws(() => parseCronSchedule(long, 'UTC', Date.now()), /at most 640/);
  });

  it('says what a schedule looks like and why one never fires, not the cron library\'s words', () => {
    const messageOf = (schedule: string): string => {
      try {
        parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule }] });
      } catch (err) {
        return (err as ManifestError).issues.find((i) => i.path === 'triggers.0.schedule')?.message ?? '';
      }
      return '';
    };
    // Was "Unknown alias: eve", and "Something went wrong. No execution date was found in the next 8 years."
    assert.match(messageOf('every 5 minutes'), /not a cron schedule: write 5 fields \(minute hour day-of-month month day-of-week\).*"\*\/5 \* \* \* \*" is every 5 minutes/);
    assert.match(messageOf('0 0 31 2 *'), /it never fires: no date matches it/);
    assert.doesNotMatch(messageOf('0 0 31 2 *'), /Something went wrong/);
    assert.match(messageOf('*/5 * * *'), /Too few fields: a schedule is 5 fields/);
    assert.match(messageOf('0 25 * * *'), /out of range \(second and minute 0-59, hour 0-23/);
  });

  it('says what to write for AWS\'s rate() and cron(), Quartz\'s `?` and Vixie cron\'s other aliases (oddfn round 2: "not a cron schedule", "Field (dayOfMonth) cannot be parsed")', () => {
    const messageOf = (schedule: string): string => {
      try {
        parseCronSchedule(schedule, 'UTC');
      } catch (err) {
        return (err as Error).message;
      }
      return 'parsed';
    };
    assert.equal(messageOf('rate(5 minutes)'), 'AWS\'s rate() is not read here: write "*/5 * * * *"');
    assert.equal(messageOf('rate(1 hour)'), 'AWS\'s rate() is not read here: write "0 * * * *"');
    assert.match(messageOf('rate(7 minutes)'), /write "\*\/7 \* \* \* \*" \(a step starts again at each hour/);
    assert.match(messageOf('rate(2 days)'), /write "0 0 \*\/2 \* \*" \(a step starts again at each month/);
    // docs/migrating.md's own row: Lambda's `Schedule: cron(0 12 * * ? *)` is "0 12 * * *".
    assert.match(messageOf('cron(0 12 * * ? *)'), /write "0 12 \* \* \*"/);
    // AWS counts the days of the week 1-7 from Sunday.
    assert.match(messageOf('cron(0 9 ? * 2-6 *)'), /write "0 9 \* \* 1-5"/);
    assert.match(messageOf('cron(0/15 8-17 ? * MON-FRI *)'), /write "0\/15 8-17 \* \* MON-FRI"/);
    assert.match(messageOf('cron(0 0 L * ? *)'), /a year, L, W or # that a schedule here cannot say/);
    assert.match(messageOf('0 12 ? * MON'), /`\?` .* is written `\*` here: "0 12 \* \* MON"/);
    assert.equal(messageOf('@midnight'), '@midnight is written @daily here');
    assert.equal(messageOf('@annually'), '@annually is written @yearly here');
    assert.match(messageOf('@reboot'), /not a schedule here.*lifespan startup/);
    // What each message says to write is a schedule that parses.
    for (const written of ['*/5 * * * *', '0 9 * * 1-5', '0/15 8-17 * * MON-FRI', '0 12 * * MON', '@daily', '@yearly', '0 0 */2 * *']) assert.equal(messageOf(written), 'parsed', written);
  });

  it('reports a bad schedule and a bad timezone together, the zone as given (newcomer round 8)', () => {
    assert.throws(
      () => parseManifest({ kind: 'function', name: 'x', triggers: [{ type: 'cron', schedule: '*/5 * * *', timezone: 'Europe/Berln' }] }),
      (err: unknown) => {
        assert.ok(err instanceof ManifestError);
        assert.deepEqual(err.issues.map((i) => i.path).sort(), ['triggers.0.schedule', 'triggers.0.timezone']);
        assert.match(err.issues.find((i) => i.path === 'triggers.0.timezone')!.message, /^"Europe\/Berln" is not an IANA time zone/);
        return true;
      },
    );
  });

  it('the upload check names the field of a bad schedule; good manifests pass', () => {
    assert.equal(fieldOf({ triggers: [{ type: 'cron', schedule: '* * * * *' }, { type: 'cron', schedule: 'not cron' }] }), 'manifest.triggers[1].schedule');
    assert.equal(fieldOf({ triggers: [{ type: 'cron', schedule: '* * * * *', timezone: 'Mars/Base' }] }), 'manifest.triggers[0].timezone');
    assert.equal(fieldOf({ triggers: [{ type: 'cron' }] }), 'manifest.triggers[0].schedule');
    assert.equal(fieldOf({ triggers: [{ type: 'cron', schedule: '0 0 9 * * mon-fri', timezone: 'America/New_York' }] }), null);
    assert.equal(fieldOf(null), null);
    assert.equal(fieldOf({ kind: 'function' }), null);
  });

  it('reads the stored manifest into scheduler triggers (payload as JSON bytes)', () => {
    const [t] = cronTriggersOf('fn', { triggers: [{ type: 'cron', schedule: '* * * * * *', payload: { n: 2 } }] });
    assert.equal(t?.triggerId, 'cron-0');
    assert.equal(Buffer.from(t?.payload ?? []).toString(), '{"n":2}');
    assert.deepEqual(cronTriggersOf('fn', { triggers: 'nope' }), []);
  });

  it('refuses a schedule that never fires from its fields, without walking 8 years of days (red team round 18)', () => {
    // Before, the cron library looked for its next date day by day for 8 years (~1200 luxon steps,
    // 30-70 ms each), and 32 per manifest made one `POST /validate` ~2 s of every tenant's calls.
    const steps = calendarSteps(() => {
      const triggers = Array.from({ length: 32 }, () => ({ type: 'cron', schedule: '0 0 31 2,4,6,9,11 *' }));
      assert.throws(
        () => parseManifest({ kind: 'function', name: 'x', triggers }),
        (err: unknown) => err instanceof ManifestError && err.issues.filter((i) => /it never fires/.test(i.message)).length === 32,
      );
    });
    assert.ok(steps < 100, `32 schedules that never fire took ${steps} calendar steps`);
  });

  it('checks 32 schedules that fire without asking the library for a tick (POST /validate, the upload check); next still answers', () => {
    // Before, each new schedule's check asked the library for its next tick (~15 ms of luxon steps,
    // 29 February years of them): a manifest of 32 held every tenant's calls 0.5-1 s (loose ends 1).
    const salt = Date.now() % 7; // schedules this process has not seen (the next-tick memo is per process)
    const triggers = Array.from({ length: 32 }, (_, i) => ({ type: 'cron', id: `t${i}`, schedule: i % 2 === 0 ? `${(i + salt) % 60} ${i % 24} 29 2 *` : `${i} ${(i + salt) % 24} ${1 + (i % 28)} * *`, timezone: 'Europe/Berlin' }));
    const steps = calendarSteps(() => {
      parseManifest({ kind: 'function', name: 'x', triggers });
      checkManifestTriggers('x', { triggers });
    });
    assert.ok(steps < 100, `checking 32 schedules took ${steps} calendar steps`);
    const { CronTime } = createRequire(import.meta.url)('cron') as typeof import('cron');
    const from = Date.UTC(2026, 11, 6, 12, 0, 0);
    // The count sees the library's walk: one 29 February tick is dozens of steps (70 from December 2026).
    const walked = calendarSteps(() => new CronTime('0 0 29 2 *', 'UTC').getNextDateFrom(new Date(from), 'UTC'));
    assert.ok(walked > 10, `${walked} steps`);
    for (const schedule of ['0 0 29 2 *', '*/5 * * * *', `${salt} 3 * * 1`]) {
      assert.equal(parseCronSchedule(schedule, 'Europe/Berlin', from).next(from), new CronTime(schedule, 'Europe/Berlin').getNextDateFrom(new Date(from), 'Europe/Berlin').toMillis(), schedule);
    }
  });

  it('finds a tick within 3 hours of a clock change without the library\'s walk, as the library finds it (ADR 0104, loose ends round 2)', () => {
    // Before, such a tick (a few hours a year per zone and schedule) was the library's to find, from 3 hours
    // before it: 5-40 ms of luxon steps a tick, and a schedule can put one there every year (`M 2 25-31 3,10 *`).
    const { CronTime } = createRequire(import.meta.url)('cron') as typeof import('cron');
    const cases: [string, string, string, string][] = [
      // Berlin's skipped hour: 02:30 is read as the change itself; the repeated hour: its first 02:30.
      ['30 2 * * *', 'Europe/Berlin', '2027-03-28T00:10:00Z', '2027-03-28T01:00:00.000Z'],
      ['30 2 * * *', 'Europe/Berlin', '2027-10-30T23:50:00Z', '2027-10-31T00:30:00.000Z'],
      ['*/20 * * * *', 'America/New_York', '2027-11-07T05:50:00Z', '2027-11-07T06:00:00.000Z'],
      ['5 2 25-31 3,10 *', 'Europe/Berlin', '2027-03-27T23:00:00Z', '2027-03-28T01:00:00.000Z'],
    ];
    for (const [schedule, zone, iso, tick] of cases) {
      const from = Date.parse(iso);
      let next = 0;
      const steps = calendarSteps(() => {
        next = parseCronSchedule(schedule, zone, from).next(from);
      });
      assert.equal(steps, 0, `${schedule} in ${zone} after ${iso}: ${steps} calendar steps`);
      assert.equal(new Date(next).toISOString(), new Date(new CronTime(schedule, zone).getNextDateFrom(new Date(from), zone).toMillis()).toISOString(), `${schedule} in ${zone} after ${iso}`);
      assert.equal(new Date(next).toISOString(), tick);
    }
  });

  it('says "never fires" exactly where the cron library finds no date in its 8 years', () => {
    const { CronTime } = createRequire(import.meta.url)('cron') as typeof import('cron');
    const ours = (schedule: string): boolean => {
      try {
        parseCronSchedule(schedule, 'UTC', Date.now());
        return false;
      } catch (err) {
        return /it never fires/.test((err as Error).message);
      }
    };
    const library = (schedule: string): boolean => {
      try {
        new CronTime(schedule, 'UTC').getNextDateFrom(new Date(), 'UTC');
        return false;
      } catch {
        return true;
      }
    };
    for (const day of ['28', '29', '30', '31', '30,31', '31,29', '1-31/31', '*']) {
      for (const month of ['*', '2', '4', '2,4,6,9,11', '1,2', '12', '2,4,6,9,11,12']) {
        for (const dayOfWeek of ['*', '1', '0-7']) {
          const schedule = `0 0 ${day} ${month} ${dayOfWeek}`;
          assert.equal(ours(schedule), library(schedule), schedule);
        }
      }
    }
  });
});
