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
    throw new Error(err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));
  }
  return { next: (afterMs) => time.getNextDateFrom(new Date(afterMs), timezone).toMillis() };
}
