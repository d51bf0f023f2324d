/**
 * Records shared by the gateway (which produces them) and the control plane (which stores and
 * serves them). Wire enums are `as const` string lists; one casing on the wire.
 */
import type { ErrorCode } from './errors.js';
import type { ErrorClass, LogLine } from './messages.js';

/** What started a run. */
export const RUN_TRIGGERS = ['http', 'async', 'cron', 'webhook', 'test'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/** Final states of a run. The async dispatcher will add `queued`, `running`, `retried`, `cancelled`. */
export const RUN_STATUSES = ['succeeded', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** How the instance that served the run was obtained. */
export const RUN_STARTS = ['warm', 'pool', 'spawn', 'template'] as const;
export type RunStart = (typeof RUN_STARTS)[number];

/** A failure as a run keeps it: user-code errors carry the innermost user frame. */
export interface RunError {
  type: string;
  message: string;
  stack?: string;
  file?: string;
  line?: number;
}

/**
 * One invocation of one function version. An async run's attempts share its `runId` (the id the
 * 202 answered, the `requestId` its handler sees) and differ by `attempt`; a sync run is attempt 1.
 */
/** What a run wrote to one collection through its data binding (docs/data-binding.md, "Runs and writes"). */
export interface RunWrite {
  database: string;
  collection: string;
  inserted: number;
  updated: number;
  deleted: number;
  /** Documents created by upserts. */
  upserted: number;
}

export interface RunRecord {
  runId: string;
  /** 1, 2, 3… for the attempts of an async run; 1 for everything else. */
  attempt: number;
  function: string;
  /** The version that served the run, as the pool names it (the control plane's number as a string). */
  version: string;
  trigger: RunTrigger;
  /** The call paid an instance's start: it started one, or waited for one another call started (`sharedStart`). */
  cold: boolean;
  /** Cold, but the start was another call's (a burst on one instance): counted as a cold start once, with that call. Absent otherwise. */
  sharedStart?: true;
  /** null when no instance was ever leased (e.g. rejected as busy before a slot was free). */
  start: RunStart | null;
  initMs: number;
  handlerMs: number;
  queuedMs: number;
  /** Measured by the gateway, from the request's arrival to the response being ready. */
  durationMs: number;
  status: RunStatus;
  httpStatus: number;
  errorCode: ErrorCode | null;
  errorClass: ErrorClass | null;
  error: RunError | null;
  logs: LogLine[];
  /** Unix time in milliseconds when the request arrived. */
  startedAt: number;
  /** The client went away before the response was sent. */
  clientAborted?: boolean;
  /** Writes made through `context.db` during the run, per collection; absent: the function has no binding. */
  writes?: RunWrite[];
  /**
   * Body bytes of a response sent before its call ended (a streamed body, or one followed by
   * background tasks); `durationMs` and `handlerMs` then run to the call's end. Absent otherwise.
   */
  responseBytes?: number;
  /**
   * The request's method and its path within the function (`/items/3`: no query string, at most
   * 512 characters then `…`). Absent from records written before 2026-12-05.
   */
  method?: string;
  path?: string;
  /**
   * The request's query string (no `?`), the value of each parameter that may carry a credential
   * (its name, or a token's shape) replaced by `***`, at most 512 characters then `…` (ADR 0251).
   * Absent when the request had none, and from records written before 2026-12-08.
   */
  query?: string;
  /**
   * `true` on an attempt of a queued run (async, cron, a webhook without `sync: true`): what tells a
   * queued webhook run from a sync one once its async state is gone (ADR 0193). Absent otherwise,
   * and from records written before 2026-12-07.
   */
  queued?: true;
}

/** A run without its logs: what lists return. */
export type RunSummary = Omit<RunRecord, 'logs'>;

/**
 * The states of an async run (issue 5), as the run timeline shows them: `queued` (durably in the
 * queue, waiting or backing off), `running` (an attempt holds a lease), `retried` (an attempt
 * failed; a later one is queued or running), then one final state. Final states are the first
 * two RUN_STATUSES plus `cancelled` (removed from the queue before any attempt ran).
 */
export const ASYNC_RUN_STATES = ['queued', 'running', 'retried', 'succeeded', 'failed', 'cancelled'] as const;
export type AsyncRunState = (typeof ASYNC_RUN_STATES)[number];

/** The async states a run never leaves. */
export const FINAL_ASYNC_RUN_STATES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly AsyncRunState[];
