/**
 * The headers the platform sets on a verified webhook delivery (`x-fp-trigger-id`) and a cron tick
 * (`x-fp-trigger-id`, `x-fp-cron-tick`): a handler tells by them that the platform checked the
 * signature or fired the schedule, so they never come from a caller (red team 7). This module is
 * the one place that decides what counts as one.
 *
 * A name that reads as one once `_` is read as `-` counts too: WSGI's environ (`HTTP_X_FP_TRIGGER_ID`),
 * Django and other frameworks fold the two, so `x_fp_trigger_id: github` reached a Flask app as
 * a signed delivery's header (red team, 2026-12-04).
 */
export const TRIGGER_ID_HEADER = 'x-fp-trigger-id';
export const CRON_TICK_HEADER = 'x-fp-cron-tick';

/** `name` (lower case, as every header name on the platform is) is, or folds to, a trigger header. */
export function isTriggerHeader(name: string): boolean {
  // Lengths first: a request's other headers pay one comparison each.
  if (name.length !== TRIGGER_ID_HEADER.length && name.length !== CRON_TICK_HEADER.length) return false;
  const folded = name.replaceAll('_', '-');
  return folded === TRIGGER_ID_HEADER || folded === CRON_TICK_HEADER;
}

/** The headers without any the platform sets itself (the same array when there is none, as in most calls). */
export function withoutTriggerHeaders<T extends readonly [string, string]>(headers: readonly T[]): T[] {
  for (const [key] of headers) {
    if (isTriggerHeader(key)) return headers.filter(([k]) => !isTriggerHeader(k));
  }
  return headers as T[];
}
