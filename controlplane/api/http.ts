/**
 * The API's plain request/response (the gateway's `PlainRequest`/`PlainResponse`: the handler
 * never sees uWS or any HTTP framework) and the few ways it answers.
 */
import { errorBody, httpStatus, retryAfterOf, type PlatformError } from '../../protocol/index.js';
import type { PlainRequest, PlainResponse } from '../../protocol/index.js';

export type ApiRequest = PlainRequest;
export type ApiResponse = PlainResponse;

const JSON_TYPE: [string, string] = ['content-type', 'application/json'];

export function json(status: number, value: unknown): ApiResponse {
  return { status, headers: [JSON_TYPE], body: JSON.stringify(value) };
}

export function noContent(): ApiResponse {
  return { status: 204, headers: [] };
}

/** The error body of the registry; the status only from `httpStatus()`. */
export function apiError(err: PlatformError, headers: [string, string][] = []): ApiResponse {
  const status = httpStatus(err.code, err.details);
  const retryAfter = retryAfterOf(err);
  const withRetry: [string, string][] = retryAfter === null ? headers : [['retry-after', retryAfter], ...headers];
  const extra: [string, string][] = status === 401 ? [['www-authenticate', 'Bearer'], ...withRetry] : withRetry;
  return { status, headers: [JSON_TYPE, ...extra], body: errorBody(err) };
}
