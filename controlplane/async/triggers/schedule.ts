/**
 * Cron triggers: checked once when a trigger is set, then asked for the next tick. The expression
 * and the zone are parsed by protocol/cron-schedule.ts (the manifest schema's check too); this
 * module adds the error codes.
 */
import { isIanaZone, parseCronSchedule, type CronSchedule } from '../../../protocol/index.js';
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

/** Checks a trigger; throws TRIGGER_INVALID, CRON_TIMEZONE_INVALID or CRON_EXPRESSION_INVALID. */
export function parseSchedule(trigger: CronTrigger, nowMs: number = Date.now()): Schedule {
  for (const field of ['function', 'triggerId'] as const) {
    if (typeof trigger[field] !== 'string' || !ID.test(trigger[field])) {
      throw new TriggerError('TRIGGER_INVALID', `${field} must be 1-128 letters, digits, '.', '_' or '-'`, { field });
    }
  }
  const timezone = trigger.timezone ?? DEFAULT_TIMEZONE;
  if (typeof timezone !== 'string' || !isIanaZone(timezone)) {
    throw new TriggerError('CRON_TIMEZONE_INVALID', `unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as Europe/Berlin)`, { field: 'timezone' });
  }
  if (typeof trigger.expression !== 'string' || trigger.expression.trim() === '') {
    throw new TriggerError('CRON_EXPRESSION_INVALID', 'the cron expression is empty', { field: 'expression' });
  }
  let schedule: CronSchedule;
  try {
    schedule = parseCronSchedule(trigger.expression, timezone, nowMs);
  } catch (err) {
    throw new TriggerError('CRON_EXPRESSION_INVALID', `bad cron expression ${JSON.stringify(trigger.expression)}: ${(err as Error).message}`, { field: 'expression' });
  }
  const frozen = Object.freeze({ ...trigger, timezone, payload: trigger.payload ?? new Uint8Array(0) });
  return { trigger: frozen, next: schedule.next };
}
