/**
 * Errors of the trigger modules, with stable codes of the shared registry (protocol/errors.ts,
 * docs/errors.md); callers match on `code` only. Webhook verification does not throw: it answers a WebhookVerdict
 * whose `code` is one of WEBHOOK_FAILURE_CODES.
 */
import { carriesCodeOf, type ErrorCode } from '../../../protocol/index.js';

export const TRIGGER_ERROR_CODES = [
  'CRON_EXPRESSION_INVALID',
  'CRON_TIMEZONE_INVALID',
  'TRIGGER_INVALID',
  'TRIGGER_UNAVAILABLE',
] as const satisfies readonly ErrorCode[];
export type TriggerErrorCode = (typeof TRIGGER_ERROR_CODES)[number];

/** Why a webhook request was refused (all answer 401, and no run is created). */
export const WEBHOOK_FAILURE_CODES = [
  'WEBHOOK_SIGNATURE_MISSING',
  'WEBHOOK_SIGNATURE_INVALID',
  'WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE',
  'WEBHOOK_REPLAYED',
] as const satisfies readonly ErrorCode[];
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
  return carriesCodeOf(TRIGGER_ERROR_CODES, err, code);
}
