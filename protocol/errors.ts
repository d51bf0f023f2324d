/**
 * The one registry of stable error codes. Codes are never renamed or reused; each is documented
 * in docs/errors.md (a unit test checks that). HTTP status comes from `httpStatus()` only.
 * `component` says who failed: the caller's request, the gateway, the pool manager, the runtime,
 * or the function's own code.
 */
export type Component = 'request' | 'gateway' | 'poolmgr' | 'runtime' | 'function';

export interface ErrorDef {
  status: number;
  component: Component;
  /** One line for the error body. */
  title: string;
}

export const ERRORS = {
  BAD_REQUEST: { status: 400, component: 'request', title: 'The request is malformed.' },
  ROUTE_NOT_FOUND: { status: 404, component: 'gateway', title: 'No such route.' },
  FUNCTION_NOT_FOUND: { status: 404, component: 'gateway', title: 'No function with this name.' },
  PAYLOAD_TOO_LARGE: { status: 413, component: 'request', title: 'The request body is larger than the limit.' },
  FUNCTION_BUSY: { status: 429, component: 'poolmgr', title: 'All instances are busy and the wait queue is full.' },
  FUNCTION_ERROR: { status: 500, component: 'function', title: 'The function raised an error.' },
  FUNCTION_INIT_FAILED: { status: 502, component: 'function', title: 'The function could not be loaded.' },
  FUNCTION_BAD_RESPONSE: { status: 502, component: 'function', title: 'The function returned a value that is not a valid response.' },
  FUNCTION_OUT_OF_MEMORY: { status: 502, component: 'function', title: 'The function exceeded its memory limit.' },
  RUNTIME_CRASHED: { status: 502, component: 'runtime', title: 'The runtime process died during the call.' },
  RUNTIME_PROTOCOL_ERROR: { status: 502, component: 'runtime', title: 'The runtime sent or received a malformed message.' },
  RUNTIME_UNAVAILABLE: { status: 503, component: 'poolmgr', title: 'No runtime process could be started.' },
  SHUTTING_DOWN: { status: 503, component: 'gateway', title: 'The platform is shutting down.' },
  FUNCTION_TIMEOUT: { status: 504, component: 'function', title: 'The function did not finish before its timeout.' },
  INTERNAL_ERROR: { status: 500, component: 'gateway', title: 'An unexpected internal error.' },
  CLIENT_CLOSED_REQUEST: { status: 499, component: 'request', title: 'The client went away before the call could run.' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

export function httpStatus(code: ErrorCode): number {
  return ERRORS[code].status;
}

/** An error that carries a registry code; match on `code`, never on the message. */
export class PlatformError extends Error {
  readonly status: number;
  readonly component: Component;
  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].title,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = ERRORS[code].status;
    this.component = ERRORS[code].component;
  }
}

export function isPlatformError(err: unknown): err is PlatformError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && (err as { code: string }).code in ERRORS;
}

/** The JSON body of every error response. */
export function errorBody(err: PlatformError, runId?: string): string {
  return JSON.stringify({
    error: { code: err.code, message: err.message, component: err.component, ...(runId ? { runId } : {}), ...err.details },
  });
}
