/**
 * Cron expressions and time zones: checked once when a trigger is set, then asked for the next
 * tick. Parsing and calendar arithmetic are the `cron` package's (seconds field, aliases, DST via
 * luxon); this module adds the error codes and the "never fires" check.
 */
import { CronTime } from 'cron';
import { TriggerError } from './errors.js';
import type { CronTrigger } from './types.js';

export const DEFAULT_TIMEZONE = 'UTC';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A checked trigger with its parsed schedule. */
export interface Schedule {
  readonly trigger: Readonly<CronTrigger> & { timezone: string; payload: Uint8Array };
  /** The first tick strictly after `afterMs`. */
  next(afterMs: number): number;
}

/** True when `tz` is an IANA zone the runtime knows. */
export function isValidTimezone(tz: string): boolean {
  if (tz === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Checks a trigger; throws TRIGGER_INVALID, CRON_TIMEZONE_INVALID or CRON_EXPRESSION_INVALID. */
export function parseSchedule(trigger: CronTrigger, nowMs: number = Date.now()): Schedule {
  for (const field of ['function', 'triggerId'] as const) {
    if (typeof trigger[field] !== 'string' || !ID.test(trigger[field])) {
      throw new TriggerError('TRIGGER_INVALID', `${field} must be 1-128 letters, digits, '.', '_' or '-'`, { field });
    }
  }
  const timezone = trigger.timezone ?? DEFAULT_TIMEZONE;
  if (typeof timezone !== 'string' || !isValidTimezone(timezone)) {
    throw new TriggerError('CRON_TIMEZONE_INVALID', `unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as Europe/Berlin)`, { field: 'timezone' });
  }
  if (typeof trigger.expression !== 'string' || trigger.expression.trim() === '') {
    throw new TriggerError('CRON_EXPRESSION_INVALID', 'the cron expression is empty', { field: 'expression' });
  }
  let time: CronTime;
  try {
    time = new CronTime(trigger.expression, timezone);
    time.getNextDateFrom(new Date(nowMs), timezone); // throws for dates that never come (e.g. 30 Feb)
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
    throw new TriggerError('CRON_EXPRESSION_INVALID', `bad cron expression ${JSON.stringify(trigger.expression)}: ${why}`, { field: 'expression' });
  }
  const frozen = Object.freeze({ ...trigger, timezone, payload: trigger.payload ?? new Uint8Array(0) });
  return {
    trigger: frozen,
    next: (afterMs) => time.getNextDateFrom(new Date(afterMs), timezone).toMillis(),
  };
}
