/**
 * How runtime failure classes become registry codes, in one table. Match on codes, never on text.
 */
import { capErrorText, cleanErrorFields, ERROR_CLASSES, RUNTIME_PLATFORM_CODES, type ErrorClass, type ErrorCode, type SecretMask, type WireError } from '../protocol/index.js';
import type { InvocationError } from './types.js';
import type { KillCause } from './runtime-process.js';

export const CODE_FOR_CLASS: Readonly<Record<ErrorClass, ErrorCode>> = Object.freeze({
  user_error: 'FUNCTION_ERROR',
  init_error: 'FUNCTION_INIT_FAILED',
  timeout: 'FUNCTION_TIMEOUT',
  out_of_memory: 'FUNCTION_OUT_OF_MEMORY',
  crash: 'RUNTIME_CRASHED',
  bad_return: 'FUNCTION_BAD_RESPONSE',
  protocol_error: 'RUNTIME_PROTOCOL_ERROR',
  process_limit: 'FUNCTION_PROCESS_LIMIT',
});

/**
 * A runtime's error report as an invocation error; an unknown class is a protocol error. The report
 * is untrusted (user code can write it on the runtime's socket): its texts are cut and fields of
 * the wrong type left out (protocol/runtime-reports.ts).
 */
export function fromWireError(err: WireError, mask: SecretMask | null = null): InvocationError {
  const known = typeof err === 'object' && err !== null && ERROR_CLASSES.includes(err.class);
  if (!known) {
    const cls = JSON.stringify((err as { class?: unknown } | null)?.class) ?? 'undefined';
    return {
      code: 'RUNTIME_PROTOCOL_ERROR', class: 'protocol_error', type: 'ProtocolError',
      message: `the runtime reported an error of unknown class ${capErrorText(cls, 256)}`,
    };
  }
  // The platform failed under the function's code (its database server was down): the platform's
  // code, and no class, as for RUNTIME_UNAVAILABLE, so retries and stats count it as ours, not the function's.
  const platform = (RUNTIME_PLATFORM_CODES as readonly unknown[]).includes(err.code) ? err.code! : null;
  return platform !== null
    ? { code: platform, class: null, ...cleanErrorFields(err, mask) }
    : { code: CODE_FOR_CLASS[err.class], class: err.class, ...cleanErrorFields(err, mask) };
}

/** An error the host itself decided on (queue full, timeout, crash, spawn failure). */
export function hostError(code: ErrorCode, cls: ErrorClass | null, type: string, message: string): InvocationError {
  return { code, class: cls, type, message };
}

export function fromCause(cause: KillCause): InvocationError {
  return { code: cause.code, class: cause.class, type: cause.type, message: cause.message, ...(cause.details !== undefined ? { details: cause.details } : {}) };
}
