/**
 * Errors of the trigger modules, with stable codes; callers match on `code` only. Proposed HTTP
 * statuses are in docs/triggers.md; they join the shared registry (protocol/errors.ts) when the
 * trigger routes use them. Webhook verification does not throw: it answers a WebhookVerdict
 * whose `code` is one of WEBHOOK_FAILURE_CODES.
 */
export const TRIGGER_ERROR_CODES = [
  'CRON_EXPRESSION_INVALID',
  'CRON_TIMEZONE_INVALID',
  'TRIGGER_INVALID',
  'TRIGGER_UNAVAILABLE',
] as const;
export type TriggerErrorCode = (typeof TRIGGER_ERROR_CODES)[number];

/** Why a webhook request was refused (all answer 401, and no run is created). */
export const WEBHOOK_FAILURE_CODES = [
  'WEBHOOK_SIGNATURE_MISSING',
  'WEBHOOK_SIGNATURE_INVALID',
  'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE',
  'WEBHOOK_REPLAYED',
] as const;
export type WebhookFailureCode = (typeof WEBHOOK_FAILURE_CODES)[number];

export class TriggerError extends Error {
  constructor(
    readonly code: TriggerErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TriggerError';
  }
}

export function isTriggerError(err: unknown, code?: TriggerErrorCode): err is TriggerError {
  if (typeof err !== 'object' || err === null) return false;
  const found = (err as { code?: unknown }).code;
  if (typeof found !== 'string' || !(TRIGGER_ERROR_CODES as readonly string[]).includes(found)) return false;
  return code === undefined || found === code;
}
