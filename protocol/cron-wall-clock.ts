/**
 * A cron schedule's next tick found on the zone's wall clock from its parsed fields, minute by
 * minute: the answer protocol/cron-schedule.ts gives where the cron library's is not after the time
 * asked from. The library (cron 4.4, luxon) does that in the hour a zone's clock goes back at
 * midnight: in America/Santiago on 2026-04-05 (00:00 back to 23:00), `* * * * *` asked from
 * 03:58:58Z answered 02:59:00Z, an hour back, for every time of that hour. The scheduler took such a
 * tick for a late one, skipped it and asked again at once: a loop on the platform's event loop for
 * the whole hour, per trigger (red team round 34).
 *
 * Also the first tick found on the calendar (nextByCalendar), the library asked only near a clock
 * change: its walk was 5-100 ms a tick, on every upload, deploy and `POST /validate` (red team round 36).
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
/** Wider than any clock change of a zone today (two hours at most): ticks this near one are the library's. */
const CHANGE_MARGIN_MS = 3 * 3_600_000;
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

/**
 * The first tick strictly after `afterMs`, found on the calendar (ADR 0104). Every tick's wall time
 * is at or after the first second after `afterMs` read at the lowest of the zone's offsets 3 hours
 * before, at and 3 hours after it (no clock change is wider than 2 hours), so the first match from
 * there is the first tick when no clock change lies within CHANGE_MARGIN_MS of it (the offset the
 * same 3 hours before, at and after it), and, when one lies near `afterMs`, the tick is more than
 * two margins later (no tick of the change's hours comes first). Otherwise `{ from }`: where the
 * library's walk may start, no tick lying between `afterMs` and it; `{ from: null }` when nothing
 * matches within 8 years. The library steps luxon dates second by second and day by day (5-100 ms
 * a tick: 32 triggers `N 59 23 29 2 *` held the event loop 0.25-1.5 s on each `POST /validate` or
 * deploy, red team round 36); this is a few Intl calls and calendar arithmetic.
 */
export function nextByCalendar(fields: readonly string[], zone: string, afterMs: number): number | { from: number | null } {
  const offsets = [afterMs - CHANGE_MARGIN_MS, afterMs, afterMs + CHANGE_MARGIN_MS].map((ms) => offsetAt(zone, ms));
  const offset = offsets[1]!;
  const firstSecond = Math.floor(afterMs / SECOND_MS) * SECOND_MS + SECOND_MS;
  const reach = firstWallMatch(fields, firstSecond + offset - CHANGE_MARGIN_MS);
  if (reach === null) return { from: null };
  const from = Math.max(afterMs, reach - offset - CHANGE_MARGIN_MS);
  const start = firstSecond + Math.min(...offsets);
  const wall = reach >= start ? reach : firstWallMatch(fields, start);
  if (wall === null) return { from };
  const atTick = offsetAt(zone, wall - offset);
  const tick = wall - atTick;
  const steadyBefore = offsets.every((o) => o === offset);
  const steadyTick = [tick - CHANGE_MARGIN_MS, tick, tick + CHANGE_MARGIN_MS].every((ms) => offsetAt(zone, ms) === atTick);
  return steadyTick && tick > afterMs && (steadyBefore || tick > afterMs + 2 * CHANGE_MARGIN_MS) ? tick : { from };
}
