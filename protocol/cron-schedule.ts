/**
 * Cron expressions and time zones, checked the same way wherever a schedule is read: the manifest
 * schema (so `validate`, the API's `POST /validate` and directory mode refuse a schedule that never
 * parses) and the control plane's triggers (controlplane/async/triggers/schedule.ts, which also
 * asks it for the next tick). Parsing and calendar arithmetic are the `cron` package's (seconds
 * field, aliases, DST via luxon), loaded on the first schedule: the CLI imports protocol/ on every
 * command and most functions have no cron trigger (~20-40 ms to load).
 */
import { createRequire } from 'node:module';
import type { CronTime } from 'cron';
import { nextByCalendar, nextOnWallClock, WALL_CLOCK_SEARCH_MINUTES } from './cron-wall-clock.js';
import { recallNext, rememberNext } from './cron-next-memo.js';

let cronTime: typeof CronTime | null = null;

/** True when `tz` is an IANA zone the runtime knows (`UTC`, `Europe/Berlin`). */
export function isIanaZone(tz: string): boolean {
  if (tz === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A parsed schedule. */
export interface CronSchedule {
  /** The first tick strictly after `afterMs` (Unix ms). */
  next(afterMs: number): number;
}

/**
 * The longest schedule text: six fields, each of its values listed (`0,1,…,59` twice, every hour,
 * day and month) is ~530 characters. Each parsed schedule is remembered under its text
 * (cron-next-memo.ts, 8192 of them), and a 60 KB minute list took 90 ms to parse: repeated with a
 * new one per `POST /validate`, half a gigabyte of the platform's heap (red team round 36).
 */
export const MAX_CRON_CHARS = 640;

/**
 * Parses `expression` (five fields, or six with seconds first) in the IANA zone `timezone` (checked
 * by the caller: isIanaZone). Throws an Error whose message says why, for an expression that does
 * not parse, is longer than MAX_CRON_CHARS, or never fires (e.g. 30 February). Only the fields are
 * read here: no tick is looked for until `next` is asked (the checks of `POST /validate`, an upload
 * and a deploy asked the library for each trigger's next tick, ~15 ms a new schedule: 32 held every
 * tenant's calls for 0.5-1 s). `_nowMs` is kept for callers; which schedules fire does not depend on it.
 */
export function parseCronSchedule(expression: string, timezone: string, _nowMs?: number): CronSchedule {
  if (expression.length > MAX_CRON_CHARS) throw new Error(`${expression.length} characters: a schedule is at most ${MAX_CRON_CHARS}; list values with ranges and steps (0-30/5)`);
  cronTime ??= (createRequire(import.meta.url)('cron') as typeof import('cron')).CronTime;
  const memoKey = `${timezone}\0${expression}`;
  const foreign = foreignCronForm(expression);
  if (foreign !== null) throw new Error(foreign);
  let time: CronTime;
  try {
    time = new cronTime(expression, timezone);
    // The library finds a schedule that never comes by walking 8 years day by day (~1200 steps,
    // 30-70 ms of the event loop each); 32 per manifest made one `POST /validate` ~2 s of every
    // tenant's calls (red team round 18). Such a schedule is known from its fields: refused here,
    // and every other one fires (its next tick is the library's to find, when asked).
    if (neverFires(time.toJSON())) throw new Error(NEVER_FIRES);
  } catch (err) {
    throw new Error(explainCronError(err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)));
  }
  const fields = time.toJSON();
  return {
    next: (afterMs) => {
      const next = recallNext(memoKey, afterMs) ?? libraryNextOrLater(time, memoKey, timezone, afterMs);
      if (next > afterMs) return next;
      // Not after the time asked from (a zone's clock going back at midnight): found on the wall
      // clock instead; a tick always lies ahead, so a scheduler never asks again at once (red team round 34).
      const searched = afterMs + WALL_CLOCK_SEARCH_MINUTES * 60_000;
      const later = nextOnWallClock(fields, timezone, afterMs) ?? time.getNextDateFrom(new Date(searched), timezone).toMillis();
      return later > afterMs ? later : searched;
    },
  };
}

/**
 * The next tick after `afterMs`, remembered when it is after it (cron-next-memo.ts): a tick costs
 * its search once, not on every listing of the triggers (red team round 35). Found on the calendar
 * (cron-wall-clock.ts), clock changes included, as the library finds it (red team round 36: its walk
 * was 5-100 ms a tick, on every deploy and `POST /validate`; 5-40 ms near a change, loose ends round 2).
 */
function libraryNext(time: CronTime, memoKey: string, timezone: string, afterMs: number): number {
  // The library only where the calendar finds no tick in 8 years (it throws then: libraryNextOrLater).
  const next = nextByCalendar(time.toJSON(), timezone, afterMs) ?? time.getNextDateFrom(new Date(afterMs), timezone).toMillis();
  if (next > afterMs) rememberNext(memoKey, afterMs, next);
  return next;
}

/**
 * libraryNext, or a day later when the library finds no date (a schedule neverFires passed whose
 * only dates a zone's clock skips): a scheduler asks again then, it never throws at a timer.
 */
function libraryNextOrLater(time: CronTime, memoKey: string, timezone: string, afterMs: number): number {
  try {
    return libraryNext(time, memoKey, timezone, afterMs);
  } catch {
    return afterMs + 24 * 60 * 60_000;
  }
}

/** The library's own words for a schedule with no date in 8 years (explainCronError reads them). */
const NEVER_FIRES = 'No execution date was found in the next 8 years';
/** The most days each month has (February 29 in a leap year). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether no date ever matches the parsed fields (`CronTime.toJSON()`: second, minute, hour,
 * day-of-month, month, day-of-week; a field is `*` or its values joined by commas). A day matches
 * by its day of the month or, when the day of the week is restricted, by that (the library's OR,
 * as Vixie cron): every month has each weekday, so only a restricted day of the month with every
 * weekday can miss, when its first day is past the end of every month named (`31 2,4,6,9,11`).
 */
function neverFires(fields: readonly string[]): boolean {
  const [dayOfMonth, month, dayOfWeek] = [fields[3], fields[4], fields[5]];
  if (dayOfMonth === undefined || month === undefined || dayOfWeek !== '*' || dayOfMonth === '*') return false;
  const firstDay = Math.min(...dayOfMonth.split(',').map(Number));
  const months = month === '*' ? MONTH_DAYS.map((_, i) => i + 1) : month.split(',').map(Number);
  return months.every((m) => firstDay > (MONTH_DAYS[m - 1] ?? 31));
}

/** Vixie cron's aliases the library lacks, and the ones it has for them. */
const OTHER_ALIASES: Record<string, string> = { '@midnight': '@daily', '@annually': '@yearly' };
const RATE_UNITS = /^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$/i;

/**
 * A schedule written as AWS (Lambda's `Schedule`, EventBridge) or Quartz write them, or with an
 * alias of Vixie cron's this one lacks, said in this one's words with the schedule to write: they
 * were "not a cron schedule: write 5 fields …" or the library's "Field (dayOfMonth) cannot be
 * parsed" (`?`), though docs/migrating.md maps them (oddfn round 2). Null for anything else.
 */
function foreignCronForm(expression: string): string | null {
  const text = expression.trim();
  const alias = OTHER_ALIASES[text.toLowerCase()];
  if (alias !== undefined) return `${text} is written ${alias} here`;
  if (/^@reboot$/i.test(text)) return '@reboot (once when cron starts) is not a schedule here: a function has no start of its own to run at; put start-up work in the app\'s lifespan startup, or at import';
  const rate = RATE_UNITS.exec(text);
  if (rate !== null) {
    const n = Number(rate[1]);
    const unit = rate[2]!.toLowerCase().replace(/s$/, '');
    const cron = unit === 'minute' ? (n === 1 ? '* * * * *' : `*/${n} * * * *`) : unit === 'hour' ? (n === 1 ? '0 * * * *' : `0 */${n} * * *`) : (n === 1 ? '0 0 * * *' : `0 0 */${n} * *`);
    const uneven = n > 1 && (unit === 'day' || (unit === 'minute' ? 60 : 24) % n !== 0);
    return `AWS's rate() is not read here: write "${cron}"${uneven ? ` (a step starts again at each ${unit === 'minute' ? 'hour' : unit === 'hour' ? 'day' : 'month'}: every ${n} ${unit}s counted from its start)` : ''}`;
  }
  const aws = /^cron\((.*)\)$/i.exec(text);
  if (aws !== null) {
    const fields = aws[1]!.trim().split(/\s+/);
    if (fields.length !== 6) return 'AWS\'s cron() is not read here: write its first five fields (minute hour day-of-month month day-of-week), `?` as `*`';
    const [minute, hour, day, month, weekday, year] = fields as [string, string, string, string, string, string];
    if (year !== '*' || /[LW#]/.test(`${day} ${weekday}`)) return 'AWS\'s cron() is not read here, and this one has a year, L, W or # that a schedule here cannot say: write five fields (minute hour day-of-month month day-of-week)';
    // AWS numbers the days of the week 1-7 from Sunday; here 0-6 (or 7) from Sunday.
    const dow = weekday === '?' ? '*' : weekday.replace(/\d+/g, (d) => String(Number(d) - 1));
    return `AWS's cron() is not read here: write "${[minute, hour, day === '?' ? '*' : day, month, dow].join(' ')}" (its year field dropped, \`?\` as \`*\`, days of the week counted from Sunday = 0)`;
  }
  if (/(^|\s)\?(\s|$)/.test(text)) return `\`?\` (Quartz's and AWS's "no specific value") is written \`*\` here: "${text.replace(/(^|\s)\?(?=\s|$)/g, '$1*')}"`;
  return null;
}

/** The fields of a schedule: name, lowest and highest value, and the unit a step starts again at. */
const CRON_FIELDS = [
  { name: 'second', unit: 'second', lo: 0, hi: 59, again: 'minute' },
  { name: 'minute', unit: 'minute', lo: 0, hi: 59, again: 'hour' },
  { name: 'hour', unit: 'hour', lo: 0, hi: 23, again: 'day' },
  { name: 'day-of-month', unit: 'day', lo: 1, hi: 31, again: 'month' },
  { name: 'month', unit: 'month', lo: 1, hi: 12, again: 'year' },
  { name: 'day-of-week', unit: 'day', lo: 0, hi: 7, again: 'week' },
] as const;

/**
 * A step that reaches past its field's range (`*\/90 * * * *`, meant as every 90 minutes): valid,
 * and it matches one value only, since a step counts within the field and starts again at the next
 * unit (new-user round 9: `validate` said nothing, and the function ran hourly). One warning per
 * such step, for `validate` and `deploy` to print; none for anything else.
 */
export function cronStepWarnings(expression: string): string[] {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return [];
  const fields = parts.length === 6 ? CRON_FIELDS : CRON_FIELDS.slice(1);
  const out: string[] = [];
  parts.forEach((part, i) => {
    const field = fields[i]!;
    for (const item of part.split(',')) {
      const step = /^(\*|\d+)(?:-(\d+))?\/(\d+)$/.exec(item);
      if (step === null) continue;
      const from = step[1] === '*' ? field.lo : Number(step[1]);
      const to = step[2] !== undefined ? Number(step[2]) : field.hi;
      const n = Number(step[3]);
      if (n <= to - from) continue;
      out.push(`"${item}" in the ${field.name} field matches ${field.unit} ${from} only: a step counts within ${from}-${to} and starts again each ${field.again}, so this is not every ${n} ${field.unit}s`);
    }
  });
  return out;
}

const CRON_FORM = '5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, or @hourly, @daily, @weekly, @monthly, @yearly; e.g. "*/5 * * * *" is every 5 minutes';

/**
 * The cron library's message made into one a newcomer can act on ("Unknown alias: eve" for
 * "every 5 minutes", "Something went wrong. No execution date was found in the next 8 years" for
 * February 31). The library has no error codes, so its words are matched here, in one place; an
 * unknown message passes as it is.
 */
export function explainCronError(message: string): string {
  if (/too (few|many) fields/i.test(message)) return `${message}: a schedule is ${CRON_FORM}`;
  if (/unknown alias/i.test(message)) return `not a cron schedule: write ${CRON_FORM}`;
  if (/no execution date was found/i.test(message)) return 'it never fires: no date matches it in the next 8 years (e.g. February 30, or day 31 of a 30-day month)';
  if (/out of range/i.test(message)) return `${message} (second and minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7, Sunday is 0 or 7)`;
  return message;
}
