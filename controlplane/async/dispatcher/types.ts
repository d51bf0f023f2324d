/**
 * The dispatcher's ports: what it runs an attempt with (AttemptRunner), where it records what
 * happened (RunTimeline), where it reads a function's retry policy (RetryPolicySource) and where
 * it counts what it did (DispatchMetrics). All times are Unix ms. Behaviour and the retry table:
 * docs/dispatcher.md.
 */
import type { AsyncRunState } from '../../../protocol/index.js';

/** One attempt of one async run, as the runner receives it. */
export interface AttemptJob {
  runId: string;
  function: string;
  payload: Buffer;
  /** 1 for the first attempt; the handler sees it as `context.attempt`. */
  attempt: number;
}

/** A user-code or platform failure as a run shows it. */
export interface AttemptError {
  type: string;
  message: string;
  file?: string;
  line?: number;
}

/** What one attempt produced. `ok` is the runner's verdict; the dispatcher classifies only failures. */
export interface AttemptOutcome {
  ok: boolean;
  /** The status the function (or the platform on its behalf) answered with. */
  httpStatus: number;
  /** A protocol/errors.ts code when the platform failed the call, null when the function answered. */
  errorCode: string | null;
  /** A protocol ErrorClass (user_error, timeout, …) or null. */
  errorClass: string | null;
  /**
   * How long the answer asked the caller to wait before trying again (its `Retry-After` on a 429 or
   * 503: the function's own, or the platform's: a rate limit, FUNCTION_CRASH_LOOP); absent: none.
   * A retry is never due sooner (retry.ts `retryDelayMs`).
   */
  retryAfterMs?: number;
  cold: boolean;
  durationMs: number;
  initMs: number;
  handlerMs: number;
  error?: AttemptError;
}

/**
 * Runs one attempt (the lead implements it with the gateway's in-process invoke). Should not
 * throw: a throw is recorded as a retryable INTERNAL_ERROR. `signal` aborts when the dispatcher
 * stops and its grace is over; the attempt's result is then ignored (the lease expires).
 */
export interface AttemptRunner {
  run(job: AttemptJob, signal: AbortSignal): Promise<AttemptOutcome>;
}

/** Per-function retry policy. */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). */
  maxAttempts: number;
  /** Backoff ceiling of the first retry; doubles per attempt. */
  backoffBaseMs: number;
  /** Upper bound of the backoff ceiling. */
  backoffMaxMs: number;
  /** A run whose first enqueue is older than this is failed instead of (re)tried. */
  maxEventAgeMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 3,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  maxEventAgeMs: 6 * 60 * 60 * 1000,
});

/** Looks up a function's policy; fields left out take DEFAULT_RETRY_POLICY. */
export interface RetryPolicySource {
  policyFor(fn: string): Partial<RetryPolicy> | Promise<Partial<RetryPolicy>>;
  /**
   * When the function now under the key `fn` was created (Unix ms); undefined: none, or not known.
   * A job accepted before that was accepted for a function since deleted: it is dead-lettered
   * (`function_deleted`), never run by the function that took the key since (red team 5).
   */
  createdAt?(fn: string): number | undefined;
  /**
   * How many attempts of `fn` can run at once (its `maxInstances` × `concurrency`); undefined: no
   * bound known. The dispatcher passes over its jobs while it runs that many (docs/dispatcher.md).
   */
  capacity?(fn: string): number | undefined;
  /** The functions paused now: their queued runs wait (passed over) until they are resumed. */
  paused?(): ReadonlySet<string>;
}

export interface TimelineTransition {
  state: AsyncRunState;
  at: number;
  detail: string | null;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  durationMs: number;
  cold: boolean;
  status: 'succeeded' | 'failed';
  errorCode: string | null;
  errorClass: string | null;
  error: AttemptError | null;
}

export interface RunTimelineView {
  /** The state of the last transition. */
  state: AsyncRunState;
  /** In the order recorded (a redelivered attempt may appear twice: at-least-once). */
  attempts: AttemptRecord[];
  transitions: TimelineTransition[];
}

/** The state history and attempts of async runs. Both implementations pass one conformance suite. */
export interface RunTimeline {
  /**
   * Records a transition after the ones recorded, except `queued`: it is the acceptance, written
   * only then, so it is always the first transition, wherever its write lands. In production the
   * job is queued before `queued` is written (accept.ts), and another process's dispatcher may
   * claim, run and finish the run before that write arrives: appended, it made a finished run
   * `queued` for ever (reliability round 4).
   */
  transition(runId: string, state: AsyncRunState, at: number, detail?: string): Promise<void>;
  attempt(runId: string, record: AttemptRecord): Promise<void>;
  /** Null for a run never recorded. */
  get(runId: string): Promise<RunTimelineView | null>;
  close(): Promise<void>;
}

/**
 * How a claimed attempt ended, as the metrics count it (`fp_async_attempts_total{outcome}`):
 * acked; failed and queued again; failed and dead-lettered; dropped because another consumer took
 * the lease over; abandoned at stop when the grace ran out (its lease expires, it runs again).
 */
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed_retry', 'failed_final', 'lease_lost', 'abandoned'] as const;
export type AttemptOutcomeLabel = (typeof ATTEMPT_OUTCOMES)[number];

/** Why a run was dead-lettered: the first word of the dead letter's reason (docs/dispatcher.md). */
export const DEAD_LETTER_REASONS = ['max_attempts', 'non_retryable', 'max_event_age', 'function_deleted'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** Where the dispatcher reports what it does (the async wing's metrics). Calls are cheap and must not throw. */
export interface DispatchMetrics {
  /** A job was claimed for its first delivery, `lagSeconds` after it became ready (redeliveries are not counted). */
  claimed(fn: string, lagSeconds: number): void;
  /** An attempt ended; counted once its queue verb succeeded (before the timeline write). */
  attempt(fn: string, outcome: AttemptOutcomeLabel): void;
  deadLettered(fn: string, reason: DeadLetterReason): void;
}

/** Counts nothing (the default). */
export const NO_DISPATCH_METRICS: DispatchMetrics = Object.freeze({ claimed() {}, attempt() {}, deadLettered() {} });

/** The detail of a `cancelled` transition (a cancel finished later says how, after it). */
export const CANCELLED_BY_REQUEST = 'cancelled by request';
