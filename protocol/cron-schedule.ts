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
 * Parses `expression` (five fields, or six with seconds first) in the IANA zone `timezone` (checked
 * by the caller: isIanaZone). Throws an Error whose message says why, for an expression that does
 * not parse or never fires after `nowMs` (e.g. 30 February).
 */
export function parseCronSchedule(expression: string, timezone: string, nowMs: number): CronSchedule {
  cronTime ??= (createRequire(import.meta.url)('cron') as typeof import('cron')).CronTime;
  let time: CronTime;
  try {
    time = new cronTime(expression, timezone);
    time.getNextDateFrom(new Date(nowMs), timezone); // throws for dates that never come
  } catch (err) {
    throw new Error(explainCronError(err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)));
  }
  return { next: (afterMs) => time.getNextDateFrom(new Date(afterMs), timezone).toMillis() };
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
