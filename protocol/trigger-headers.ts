/**
 * The headers the platform sets on a verified webhook delivery (`x-fp-trigger-id`) and a cron tick
 * (`x-fp-trigger-id`, `x-fp-cron-tick`): a handler tells by them that the platform checked the
 * signature or fired the schedule, so they never come from a caller (red team 7); and on every
 * direct run (async, cron, webhook, test) its `x-fp-run-id` and `x-fp-attempt`. This module is
 * the one place that decides what counts as one.
 *
 * A name that reads as one once `_` is read as `-` counts too: WSGI's environ (`HTTP_X_FP_TRIGGER_ID`),
 * Django and other frameworks fold the two, so `x_fp_trigger_id: github` reached a Flask app as
 * a signed delivery's header (red team, 2026-12-04).
 */
export const TRIGGER_ID_HEADER = 'x-fp-trigger-id';
export const CRON_TICK_HEADER = 'x-fp-cron-tick';
/**
 * An async, cron, webhook or test run's id and attempt number, on the request the function gets:
 * an ASGI/WSGI app has no `context`, and could not dedupe retried attempts on the run id as
 * docs/api-invoke.md asks ("Delivery"; helper round of 2026-12-05). Set by the platform only.
 */
export const RUN_ID_HEADER = 'x-fp-run-id';
export const ATTEMPT_HEADER = 'x-fp-attempt';

const NAMES = new Set([TRIGGER_ID_HEADER, CRON_TICK_HEADER, RUN_ID_HEADER, ATTEMPT_HEADER]);
const SHORTEST = Math.min(...[...NAMES].map((n) => n.length));
const LONGEST = Math.max(...[...NAMES].map((n) => n.length));

/** `name` (lower case, as every header name on the platform is) is, or folds to, one the platform sets. */
export function isTriggerHeader(name: string): boolean {
  // The length and the first byte first: a request's other headers pay two comparisons each (the hot path).
  if (name.length < SHORTEST || name.length > LONGEST || name.charCodeAt(0) !== 0x78 /* x */) return false;
  return NAMES.has(name.replaceAll('_', '-'));
}

/** The headers without any the platform sets itself (the same array when there is none, as in most calls). */
export function withoutTriggerHeaders<T extends readonly [string, string]>(headers: readonly T[]): T[] {
  for (const [key] of headers) {
    if (isTriggerHeader(key)) return headers.filter(([k]) => !isTriggerHeader(k));
  }
  return headers as T[];
}
