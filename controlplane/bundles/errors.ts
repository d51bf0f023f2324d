/**
 * Bundle problems, each with a stable code, the offending file path (as the client sent it) and
 * the request field, so the API answers 4xx naming exactly what to fix. Plain data, so an error
 * found in a worker thread crosses back intact (see pool.ts).
 */
import type { ErrorCode } from '../../protocol/index.js';

export const BUNDLE_ERROR_CODES = [
  'BUNDLE_MALFORMED',
  'BUNDLE_EMPTY',
  'BUNDLE_PATH_INVALID',
  'BUNDLE_PATH_DUPLICATE',
  'BUNDLE_PATH_CONFLICT',
  'BUNDLE_ENCODING_INVALID',
  'BUNDLE_TOO_MANY_FILES',
  'BUNDLE_TOO_LARGE',
  'BUNDLE_FILE_TOO_LARGE',
  'BUNDLE_BLOB_MISSING',
] as const satisfies readonly ErrorCode[];
export type BundleErrorCode = (typeof BUNDLE_ERROR_CODES)[number];

export interface BundleProblem {
  code: BundleErrorCode;
  message: string;
  /** The file path as sent, when one file is at fault. */
  path: string | null;
  /** Where in the request, e.g. `files[3].path` or `files`. */
  field: string;
  /** Limit and actual value for the size and count codes. */
  limit?: number;
  actual?: number;
}

export class BundleError extends Error implements BundleProblem {
  readonly code: BundleErrorCode;
  readonly path: string | null;
  readonly field: string;
  readonly limit?: number;
  readonly actual?: number;

  constructor(problem: BundleProblem) {
    super(problem.message);
    this.name = 'BundleError';
    this.code = problem.code;
    this.path = problem.path;
    this.field = problem.field;
    if (problem.limit !== undefined) this.limit = problem.limit;
    if (problem.actual !== undefined) this.actual = problem.actual;
  }

  toJSON(): BundleProblem {
    const { code, message, path, field, limit, actual } = this;
    return { code, message, path, field, ...(limit !== undefined ? { limit } : {}), ...(actual !== undefined ? { actual } : {}) };
  }
}

export function isBundleError(err: unknown): err is BundleError {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (BUNDLE_ERROR_CODES as readonly string[]).includes(code);
}
