/**
 * A cron schedule's next tick found on the zone's wall clock from its parsed fields, minute by
 * minute: the answer protocol/cron-schedule.ts gives where the cron library's is not after the time
 * asked from. The library (cron 4.4, luxon) does that in the hour a zone's clock goes back at
 * midnight: in America/Santiago on 2026-04-05 (00:00 back to 23:00), `* * * * *` asked from
 * 03:58:58Z answered 02:59:00Z, an hour back, for every time of that hour. The scheduler took such a
 * tick for a late one, skipped it and asked again at once: a loop on the platform's event loop for
 * the whole hour, per trigger (red team round 34).
 *
 * Also the first tick found on the calendar (nextByCalendar), as the library finds it, clock changes
 * included: its walk was 5-100 ms a tick, on every upload, deploy and `POST /validate` (red team round
 * 36), and 5-40 ms within 3 hours of a clock change, where it was still asked (loose ends round 2).
 */

/** How far the wall clock is searched: past a clock change of up to two hours. */
export const WALL_CLOCK_SEARCH_MINUTES = 3 * 60;

const MINUTE_MS = 60_000;
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

/** Formatters kept, per zone as written (a zone's name is case-insensitive: each spelling is one). */
const MAX_FORMATS = 512;
const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's wall clock at `ms` (to the second; every zone's offset is whole minutes today). */
function wallTime(zone: string, ms: number): WallTime {
  let format = formats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short' });
    if (formats.size >= MAX_FORMATS) formats.delete(formats.keys().next().value!);
    formats.set(zone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(ms)) parts[part.type] = part.value;
  return { year: Number(parts['year']), month: Number(parts['month']), day: Number(parts['day']), hour: Number(parts['hour']), minute: Number(parts['minute']), second: Number(parts['second']), weekday: WEEKDAYS[parts['weekday'] ?? ''] ?? -1 };
}

/** A field of `CronTime.toJSON()`: `*` (any value, null here) or its values joined by commas. */
function values(field: string | undefined): Set<number> | null {
  return field === undefined || field === '*' ? null : new Set(field.split(',').map(Number));
}

const has = (set: Set<number> | null, n: number): boolean => set === null || set.has(n);

/** A day matches by its day of the month or, when both day fields are restricted, by either (the library's OR, as Vixie cron). */
function dayMatches(dayOfMonth: Set<number> | null, dayOfWeek: Set<number> | null, day: number, weekday: number): boolean {
  const byDate = has(dayOfMonth, day);
  const byWeekday = has(dayOfWeek, weekday);
  return dayOfMonth !== null && dayOfWeek !== null ? byDate || byWeekday : byDate && byWeekday;
}

/**
 * The first tick strictly after `afterMs` whose wall time in `zone` matches `fields` (second,
 * minute, hour, day of month, month, day of week, as `CronTime.toJSON()` gives them), within
 * WALL_CLOCK_SEARCH_MINUTES; null when none matches there. A day matches by its day of the month
 * or, when both day fields are restricted, by either (the library's OR, as Vixie cron).
 */
export function nextOnWallClock(fields: readonly string[], zone: string, afterMs: number): number | null {
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = fields.map(values);
  const seconds = second === null || second === undefined ? Array.from({ length: 60 }, (_, i) => i) : [...second].sort((a, b) => a - b);
  let at = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS;
  for (let i = 0; i <= WALL_CLOCK_SEARCH_MINUTES; i++, at += MINUTE_MS) {
    const wall = wallTime(zone, at);
    if (!has(month ?? null, wall.month) || !has(hour ?? null, wall.hour) || !has(minute ?? null, wall.minute)) continue;
    if (!dayMatches(dayOfMonth ?? null, dayOfWeek ?? null, wall.day, wall.weekday)) continue;
    for (const s of seconds) if (at + s * 1000 > afterMs) return at + s * 1000;
  }
  return null;
}

const SECOND_MS = 1000;
const DAY_MS = 86_400_000;
/** How far ahead the calendar is searched: the library's own horizon (8 years). */
const CALENDAR_SEARCH_DAYS = 8 * 366;

const sorted = (set: Set<number> | null | undefined, size: number): number[] => (set == null ? Array.from({ length: size }, (_, i) => i) : [...set].sort((a, b) => a - b));

/** The zone's offset from UTC at `ms` (wall clock minus UTC, whole seconds). */
function offsetAt(zone: string, ms: number): number {
  const w = wallTime(zone, ms);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / SECOND_MS) * SECOND_MS;
}

/**
 * The first wall time (as the UTC milliseconds of the same calendar date and time of day) at or
 * after `fromWall` whose fields match, within CALENDAR_SEARCH_DAYS; null when none. Calendar
 * arithmetic only: a day costs a few comparisons, where the cron library steps luxon dates.
 */
function firstWallMatch(fields: readonly string[], fromWall: number): number | null {
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = fields.map(values);
  const seconds = sorted(second, 60);
  const minutes = sorted(minute, 60);
  const hours = sorted(hour, 24);
  let day = Math.floor(fromWall / DAY_MS) * DAY_MS;
  let earliest = fromWall - day;
  for (let i = 0; i < CALENDAR_SEARCH_DAYS; i++, day += DAY_MS, earliest = 0) {
    const date = new Date(day);
    if (!has(month ?? null, date.getUTCMonth() + 1) || !dayMatches(dayOfMonth ?? null, dayOfWeek ?? null, date.getUTCDate(), date.getUTCDay())) continue;
    for (const h of hours) {
      if ((h + 1) * 3_600_000 <= earliest) continue;
      for (const m of minutes) {
        if (h * 3_600_000 + (m + 1) * 60_000 <= earliest) continue;
        for (const s of seconds) {
          const at = h * 3_600_000 + m * 60_000 + s * SECOND_MS;
          if (at >= earliest) return day + at;
        }
      }
    }
  }
  return null;
}

/** The instant luxon gives a wall time in `zone` (its fixOffset, from the guess `guessMs`): in a repeated hour the occurrence the guess picks; in a skipped one, the wall time at the later offset. */
function instantOf(zone: string, wall: number, guessMs: number): number {
  let at = wall - guessMs;
  const o2 = offsetAt(zone, at);
  if (o2 === guessMs) return at;
  at -= o2 - guessMs;
  const o3 = offsetAt(zone, at);
  return o2 === o3 ? at : wall - Math.min(o2, o3);
}

/** How far a tick in a skipped hour is moved back to the clock change, at most (the library walks without a bound). */
const GAP_WALK_MINUTES = 24 * 60;
const HOUR_MS = 3_600_000;

/**
 * The first tick strictly after `afterMs`, as the cron library (cron 4.4, `getNextDateFrom`) finds
 * it, in every case, clock changes included (ADR 0104): the first wall time after the asked one (read
 * at the asked time's offset, to the second) that matches the fields, found on the calendar; read in
 * the zone as luxon reads it (the zone's offset now as its guess: in a repeated hour the occurrence
 * that guess picks); then the library's own corrections, step for step —
 * - a wall time the clock skips (its hour or minute moved on) whose offset is not the zone's on 1
 *   January of its year: the clock change itself (the first minute at the new offset);
 * - an hour earlier when the hour repeats there (the hour before, or the two before, read the same)
 *   and that is after the asked time; then half an hour earlier the same way (Lord Howe's change).
 * Null when nothing matches within 8 years (the library throws then) or a skipped tick lies more
 * than a day from its change (the library's walk answers those). The library steps luxon dates
 * second by second and day by day (5-100 ms a tick: 32 triggers `N 59 23 29 2 *` held the event loop
 * 0.25-1.5 s on each `POST /validate` or deploy, red team round 36; near a clock change, from 3 hours
 * before, 5-40 ms: red team round 37); this is calendar arithmetic and a dozen Intl calls.
 * `nowMs`: the time luxon's guess is read at (tests).
 */
export function nextByCalendar(fields: readonly string[], zone: string, afterMs: number, nowMs = Date.now()): number | null {
  const asked = wallTime(zone, afterMs);
  const start = Date.UTC(asked.year, asked.month - 1, asked.day, asked.hour, asked.minute, asked.second);
  const wall = firstWallMatch(fields, start + SECOND_MS);
  if (wall === null) return null;
  const guess = offsetAt(zone, nowMs);
  let tick = instantOf(zone, wall, guess);
  const read = wallTime(zone, tick);
  if (read.hour !== new Date(wall).getUTCHours() || read.minute !== new Date(wall).getUTCMinutes()) {
    const reference = offsetAt(zone, instantOf(zone, Date.UTC(read.year, 0, 1), guess));
    if (offsetAt(zone, tick) !== reference) {
      for (let i = 0; offsetAt(zone, tick - MINUTE_MS) !== reference; i++, tick -= MINUTE_MS) if (i >= GAP_WALK_MINUTES) return null;
      return tick;
    }
  }
  const hourBefore = tick - HOUR_MS;
  const hourOf = (ms: number): number => wallTime(zone, ms).hour;
  const minuteOf = (ms: number): number => wallTime(zone, ms).minute;
  const tickHour = read.hour;
  if ((hourOf(hourBefore) === tickHour || hourOf(tick - 2 * HOUR_MS) === hourOf(hourBefore)) && hourBefore > afterMs) tick = hourBefore;
  const halfBefore = tick - HOUR_MS / 2;
  if ((minuteOf(halfBefore) === minuteOf(tick) || minuteOf(hourBefore) === minuteOf(halfBefore)) && halfBefore > afterMs) tick = halfBefore;
  return tick;
}
