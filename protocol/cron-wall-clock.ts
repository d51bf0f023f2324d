/**
 * A cron schedule's next tick found on the zone's wall clock from its parsed fields, minute by
 * minute: the answer protocol/cron-schedule.ts gives where the cron library's is not after the time
 * asked from. The library (cron 4.4, luxon) does that in the hour a zone's clock goes back at
 * midnight: in America/Santiago on 2026-04-05 (00:00 back to 23:00), `* * * * *` asked from
 * 03:58:58Z answered 02:59:00Z, an hour back, for every time of that hour. The scheduler took such a
 * tick for a late one, skipped it and asked again at once: a loop on the platform's event loop for
 * the whole hour, per trigger (red team round 34).
 */

/** How far the wall clock is searched: past a clock change of up to two hours. */
export const WALL_CLOCK_SEARCH_MINUTES = 3 * 60;

const MINUTE_MS = 60_000;
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

interface WallTime {
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's wall clock at `ms` (a whole minute: every zone's offset is whole minutes today). */
function wallTime(zone: string, ms: number): WallTime {
  let format = formats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formats.set(zone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(ms)) parts[part.type] = part.value;
  return { month: Number(parts['month']), day: Number(parts['day']), hour: Number(parts['hour']), minute: Number(parts['minute']), weekday: WEEKDAYS[parts['weekday'] ?? ''] ?? -1 };
}

/** A field of `CronTime.toJSON()`: `*` (any value, null here) or its values joined by commas. */
function values(field: string | undefined): Set<number> | null {
  return field === undefined || field === '*' ? null : new Set(field.split(',').map(Number));
}

const has = (set: Set<number> | null, n: number): boolean => set === null || set.has(n);

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
    const byDate = has(dayOfMonth ?? null, wall.day);
    const byWeekday = has(dayOfWeek ?? null, wall.weekday);
    const day = dayOfMonth != null && dayOfWeek != null ? byDate || byWeekday : byDate && byWeekday;
    if (!day) continue;
    for (const s of seconds) if (at + s * 1000 > afterMs) return at + s * 1000;
  }
  return null;
}
