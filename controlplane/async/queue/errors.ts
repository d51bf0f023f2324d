/**
 * Errors of the queue adapters, with stable codes of the shared registry (protocol/errors.ts,
 * docs/errors.md); callers match on `code` only.
 */
import { carriesCodeOf, type ErrorCode } from '../../../protocol/index.js';

export const QUEUE_ERROR_CODES = [
  'QUEUE_CLOSED',
  'QUEUE_LEASE_LOST',
  'QUEUE_RUN_EXISTS',
  'QUEUE_UNAVAILABLE',
  'QUEUE_INVALID',
] as const satisfies readonly ErrorCode[];
export type QueueErrorCode = (typeof QUEUE_ERROR_CODES)[number];

export class QueueError extends Error {
  constructor(
    readonly code: QueueErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** What the driver said (for logs; never shown to callers). */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'QueueError';
  }
}

export function isQueueError(err: unknown, code?: QueueErrorCode): err is QueueError {
  return carriesCodeOf(QUEUE_ERROR_CODES, err, code);
}
