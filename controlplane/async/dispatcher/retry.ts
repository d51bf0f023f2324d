/**
 * Retry decisions, pure: which failures are worth another attempt, and how long to wait.
 * The table and its reasons are in docs/dispatcher.md; keep the two in step.
 */
import { RETRY_FIELDS } from '../../../protocol/index.js';
import { DEFAULT_RETRY_POLICY, type AttemptOutcome, type AttemptRecord, type RetryPolicy } from './types.js';

/** Classes that fail the same way on every attempt of the same version. */
const NON_RETRYABLE_CLASSES: ReadonlySet<string> = new Set(['bad_return', 'init_error']);
/** Classes that may pass on a later attempt (a fresh instance, a later moment). */
const RETRYABLE_CLASSES: ReadonlySet<string> = new Set(['user_error', 'timeout', 'crash', 'out_of_memory', 'protocol_error']);
/** 4xx statuses that mean "try again later" rather than "this request is wrong". */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 429]);

export interface Verdict {
  retryable: boolean;
  /** Short machine-readable reason, e.g. `class:bad_return`, `status:404`. */
  reason: string;
}

/** Classifies a failed attempt. The error class decides first, then the HTTP status. */
export function classifyFailure(outcome: AttemptOutcome): Verdict {
  const cls = outcome.errorClass;
  if (cls !== null && NON_RETRYABLE_CLASSES.has(cls)) return { retryable: false, reason: `class:${cls}` };
  const status = outcome.httpStatus;
  // The app answered (below 400) and failed after: a BackgroundTask that raised, a stream cut after
  // its head. The request was served, so an attempt more runs it again (an order made twice, a
  // webhook's work done three times: apps round 22), where the sender under uvicorn had its 200 and
  // sent nothing more. An attempt succeeds by its answer (docs/api-invoke.md); the run still fails,
  // with its error (ADR 0180).
  if (cls !== null && status >= 200 && status < 400) return { retryable: false, reason: `answered:${status} class:${cls}` };
  if (cls !== null && RETRYABLE_CLASSES.has(cls)) return { retryable: true, reason: `class:${cls}` };
  const reason = outcome.errorCode !== null ? `code:${outcome.errorCode}` : `status:${status}`;
  // Nothing ran: this process does not know the function's first deploy yet (the config bus brings
  // it within a second). A run is accepted only with a deployed version, and a function never goes
  // back to none, so it is this process's view that is behind: retried. As a 404 it failed the
  // run for good (reliability round 4: two platforms, a run accepted by the one that deployed).
  if (outcome.errorCode === 'FUNCTION_NOT_DEPLOYED') return { retryable: true, reason };
  // 499 is our own abort of the call (never the function's verdict on the request): retry.
  if (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status) && status !== 499) return { retryable: false, reason };
  return { retryable: true, reason };
}

/**
 * Failures that are the platform's, not the function's: it could not give the attempt a runtime
 * (out of pids, a box that could not be built, a runtime stopped while it loaded). Such an attempt
 * spends none of the function's `maxAttempts` (ADR 0234).
 */
const PLATFORM_FAULTS: ReadonlySet<string> = new Set(['RUNTIME_UNAVAILABLE']);

/**
 * The most attempts a run has, platform faults included: as many as `maxAttempts` may be (10), the
 * attempts a run's records keep (controlplane/store/production/runs.ts). Past it the run fails
 * `max_attempts` whatever ended its attempts.
 */
export const MAX_RUN_ATTEMPTS = RETRY_FIELDS.maxAttempts.maxValue ?? 10;

/** Whether a failed attempt spent one of the function's attempts (not a platform fault). */
export function spendsAttempt(outcome: Pick<AttemptOutcome, 'errorCode'>): boolean {
  return outcome.errorCode === null || !PLATFORM_FAULTS.has(outcome.errorCode);
}

/**
 * How many of a run's attempts up to `attempt` spent one of its function's: those whose records
 * (`records`, a redelivered attempt's possibly twice) do not say a platform fault.
 */
export function attemptsSpent(attempt: number, records: readonly Pick<AttemptRecord, 'attempt' | 'errorCode'>[]): number {
  const free = new Set<number>();
  for (const r of records) if (r.attempt <= attempt && !spendsAttempt(r)) free.add(r.attempt);
  return attempt - free.size;
}

/** Fills a partial policy with the defaults and checks it. */
export function resolvePolicy(partial: Partial<RetryPolicy>): RetryPolicy {
  const p: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(partial) };
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer ≥ 1, got ${p.maxAttempts}`);
  for (const key of ['backoffBaseMs', 'backoffMaxMs', 'maxEventAgeMs'] as const) {
    if (!Number.isFinite(p[key]) || p[key] < 0) throw new RangeError(`${key} must be a number ≥ 0, got ${p[key]}`);
  }
  return p;
}

function stripUndefined(partial: Partial<RetryPolicy>): Partial<RetryPolicy> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<RetryPolicy>;
}

/**
 * The wait before the retry after failed attempt n: the backoff below, or what the answer asked
 * for with `Retry-After` when that is longer (a retry sooner would meet the same refusal and spend
 * an attempt: a crash-looping function's start budget, a rate limit; ADR 0158).
 */
export function retryDelayMs(failedAttempt: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffMaxMs'>, random: () => number, retryAfterMs = 0): number {
  return Math.max(backoffMs(failedAttempt, policy, random), retryAfterMs);
}

/**
 * `Retry-After` of an answer of `status` (429 or 503, RFC 9110 §10.2.3), in ms from `nowMs`: delay
 * seconds or an HTTP date; null when absent, malformed or on another status.
 */
export function retryAfterMsOf(status: number, headers: readonly (readonly [string, string])[], nowMs: number): number | null {
  if (status !== 429 && status !== 503) return null;
  const value = headers.find(([name]) => name.toLowerCase() === 'retry-after')?.[1].trim();
  if (value === undefined) return null;
  if (/^\d{1,10}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) && /[A-Za-z]/.test(value) ? Math.max(0, at - nowMs) : null;
}

/**
 * Exponential backoff with full jitter: a uniform pick in [0, min(max, base·2^(n-1))) for the
 * retry after failed attempt n. Full jitter spreads retries of runs that failed together.
 * `random` returns [0, 1) like Math.random.
 */
export function backoffMs(failedAttempt: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffMaxMs'>, random: () => number): number {
  return Math.floor(random() * backoffCeilingMs(failedAttempt, policy));
}

/** The upper bound of backoffMs for the retry after failed attempt n (n ≥ 1). */
export function backoffCeilingMs(failedAttempt: number, policy: Pick<RetryPolicy, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  const exp = Math.min(Math.max(failedAttempt - 1, 0), 52); // 2^52 keeps the product finite
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** exp);
}
