/**
 * Errors every store adapter throws, with stable codes. Callers match on `code`, never on the
 * message or the class: an error from the production adapter may have crossed a driver boundary.
 * Every code is one of the shared registry (protocol/errors.ts, docs/errors.md); the control
 * plane's API adds the request field when it answers with one (controlplane/errors.ts).
 */
import { carriesCodeOf, type ErrorCode } from '../../protocol/index.js';

export const STORE_ERROR_CODES = [
  'FUNCTION_NOT_FOUND',
  'FUNCTION_EXISTS',
  'REVISION_CONFLICT',
  'VERSION_NOT_FOUND',
  'BLOB_NOT_FOUND',
  'BLOB_HASH_MISMATCH',
  'TOKEN_NOT_FOUND',
  'RUN_CURSOR_INVALID',
  'STORE_CLOSED',
  'STORE_SCHEMA_TOO_NEW',
  'STORE_UNAVAILABLE',
  'WORKSPACE_NOT_FOUND',
  'WORKSPACE_EXISTS',
  'WORKSPACE_NOT_EMPTY',
  'WORKSPACE_PROTECTED',
  'QUOTA_EXCEEDED',
  'VERSION_ACTIVE',
  'VERSION_IN_USE',
  'DRAFT_CONFLICT',
  'STORE_DATABASE_FOREIGN',
  'FUNCTION_CHANGED',
] as const satisfies readonly ErrorCode[];
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** What the driver said (for logs; never shown to callers). */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'StoreError';
  }
}

/** True for any error carrying one of the store's codes (works across realms and drivers). */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return carriesCodeOf(STORE_ERROR_CODES, err, code);
}

/** A conditional draft save (`ifRevision`) that found the draft at another revision: what is stored now. */
export function draftConflict(fn: string, now: { revision: number; updatedBy: string; updatedAt: number } | null): StoreError {
  return new StoreError('DRAFT_CONFLICT', now === null
    ? `the draft of ${fn} was discarded or deployed since it was read; nothing was saved`
    : `the draft of ${fn} was saved by ${now.updatedBy} at ${new Date(now.updatedAt).toISOString()} (revision ${now.revision}) since it was read; nothing was saved`,
  { function: fn, revision: now?.revision ?? 0, ...(now !== null ? { updatedBy: now.updatedBy, updatedAt: now.updatedAt } : {}) });
}
