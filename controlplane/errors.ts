/**
 * Turns what the control plane's parts throw into registry errors (protocol/errors.ts): store
 * errors and bundle errors carry codes of their own, which the registry shares by name. Each
 * gets the request `field` it concerns, so the API answer names exactly what to fix.
 * Matching is on `code`, never on the class or the message (docs/errors.md).
 */
import { ERRORS, isDiskFull, isOutOfFiles, isPlatformError, isStoreLocked, OUT_OF_FILES_MESSAGE, PlatformError, type ErrorCode } from '../protocol/index.js';
import { isBundleError } from './bundles/index.js';
import { isStoreError } from './store/index.js';

/** The request field a store error concerns, when there is one. */
const STORE_FIELDS: Partial<Record<ErrorCode, string>> = {
  FUNCTION_NOT_FOUND: 'name',
  FUNCTION_EXISTS: 'name',
  VERSION_NOT_FOUND: 'version',
  BLOB_NOT_FOUND: 'files',
  BLOB_HASH_MISMATCH: 'sha256',
  RUN_CURSOR_INVALID: 'query.cursor',
};

/** A PlatformError for anything thrown; unknown failures become INTERNAL_ERROR (the caller logs the original). */
export function toPlatformError(err: unknown): PlatformError {
  if (isRegistryError(err)) return err;
  if (isBundleError(err)) {
    const details: Record<string, unknown> = { field: err.field };
    if (err.path !== null) details['path'] = err.path;
    if (err.limit !== undefined) details['limit'] = err.limit;
    if (err.actual !== undefined) details['actual'] = err.actual;
    return new PlatformError(err.code, err.message, details);
  }
  if (isStoreError(err) && err.code in ERRORS) {
    const code = err.code as ErrorCode;
    const field = STORE_FIELDS[code];
    return new PlatformError(code, err.message, { ...(field ? { field } : {}), ...err.details });
  }
  if (isDiskFull(err)) return new PlatformError('STORAGE_FULL', "the platform's state directory has no space left: nothing of this request was kept; free space on its disk (or ask the operator to) and send it again");
  // EMFILE writing an upload's blob, reading a version's files: it was 500 INTERNAL_ERROR, "a platform bug" (reliability round 9).
  if (isOutOfFiles(err)) return new PlatformError('PLATFORM_FILE_LIMIT', OUT_OF_FILES_MESSAGE);
  if (isStoreLocked(err)) return new PlatformError('STORE_BUSY', "another process holds a lock on the platform's state (a SQLite file of its state directory): nothing of this request was kept; send it again shortly, or end that process's write");
  return new PlatformError('INTERNAL_ERROR');
}

/** True when `toPlatformError` would not know the error (a bug worth logging). */
export function isUnexpected(err: unknown): boolean {
  return !isRegistryError(err) && !isBundleError(err) && !isStoreError(err);
}

/**
 * A PlatformError proper: a registry code *and* the status and component the registry gives it
 * (a store error shares the code names but carries neither).
 */
function isRegistryError(err: unknown): err is PlatformError {
  return isPlatformError(err) && typeof (err as { status?: unknown }).status === 'number' && typeof (err as { component?: unknown }).component === 'string';
}
