/**
 * Runs and their logs as the public API answers them (docs/api.md, "Runs" and "Logs"): the one
 * declaration the CLI (cli/client.ts) and the console (console/src/api.ts) read them with. The
 * control plane's response schemas (controlplane/api/answers.ts, which the OpenAPI document is made
 * from) are checked against these types when it compiles, so a field added, dropped or retyped on
 * one side fails the build until both agree.
 */
import type { AsyncRunState, RunRecord, RunStatus } from './records.js';
import type { ResultDrop, ResultOmission } from './run-result.js';

/** A run's failure: user-code errors carry the innermost user frame. */
export interface ApiRunError {
  type: string;
  message: string;
  stack?: string;
  file?: string;
  line?: number;
}

/** One line a run wrote; `ts` is Unix ms as the runtime measured it (fractional). */
export interface ApiRunLogLine {
  stream: string;
  ts: number;
  msg: string;
  /** For `logging` records: the level name. */
  level?: string;
}

/** A mapped copy of an object type: one object, not an intersection (so it compares as the schema's output). */
export type Shown<T> = { [K in keyof T]: T[K] };

/**
 * A run record without its logs, as `GET /runs` lists it: the stored record (protocol/records.ts
 * `RunRecord`, its fields documented there) with its function's workspace, the function's short
 * name in `function`, and the failure as shown.
 */
export type ApiRunSummary = Shown<Omit<RunRecord, 'logs' | 'errorClass' | 'error'> & {
  workspace: string;
  errorClass: string | null;
  error: ApiRunError | null;
}>;

/** A run record with its logs, as `GET /runs/:id` shows it. */
export type ApiRun = Shown<ApiRunSummary & { logs: ApiRunLogLine[] }>;

/** A line of `GET /functions/:name/logs`: with runId and attempt, `i` (its index in the run's logs) is its identity. */
export interface ApiStoredLogLine {
  runId: string;
  attempt: number;
  version: string;
  i: number;
  ts: number;
  stream: string;
  level?: string;
  msg: string;
}

/** `GET /functions/:name/logs`: lines of stored runs, oldest first. */
export interface ApiLogs {
  function: string;
  lines: ApiStoredLogLine[];
  runs: number;
  more: boolean;
}

/** What queues a run: an async call, a cron trigger or a webhook. */
export type ApiAsyncTrigger = 'async' | 'cron' | 'webhook';

/** An async run as `GET /runs?status=queued|running|retried|cancelled` lists it: no version or timings yet (ADR 0068). */
export interface ApiAsyncRunSummary {
  runId: string;
  function: string;
  workspace: string;
  trigger: ApiAsyncTrigger;
  state: AsyncRunState;
  acceptedAt: number;
  /** When it entered its state. */
  updatedAt: number;
  /** Attempts that ran so far. */
  attempts: number;
  replayOf: string | null;
}

/** One attempt of an async run; with its run record's version, timings and logs once that is written (`logs` empty before). */
export interface ApiAsyncAttempt {
  attempt: number;
  startedAt: number;
  durationMs: number;
  cold: boolean;
  status: RunStatus;
  errorCode: string | null;
  errorClass: string | null;
  error: ApiRunError | null;
  version?: string;
  initMs?: number;
  handlerMs?: number;
  queuedMs?: number;
  httpStatus?: number;
  method?: string;
  path?: string;
  /** The request's query string, a value that may be a credential masked (ADR 0251). */
  query?: string;
  logs: ApiRunLogLine[];
}

/**
 * The output of an async run's latest attempt: headers joined, the body decoded as JSON or text
 * (`body`), else in base64; `omitted` when the body was not kept (over FP_ASYNC_RESULT_MAX_BYTES:
 * its size and that cap, null for a run stored before the cap was recorded; protocol/run-result.ts);
 * `dropped` when it was kept, then dropped for its workspace's budget (ADR 0250).
 */
export type ApiAsyncResult =
  | { status: number; attempt: number; headers: Record<string, string>; omitted?: ResultOmission; dropped?: ResultDrop; body: unknown }
  | { status: number; attempt: number; headers: Record<string, string>; omitted?: ResultOmission; dropped?: ResultDrop; bodyBase64: string };

/** An async run as `GET /runs/:id` shows it: its state, timeline, attempts and its latest attempt's output. */
export interface ApiAsyncRun {
  runId: string;
  /** null once its function is deleted. */
  function: string | null;
  workspace: string | null;
  trigger: ApiAsyncTrigger;
  state: AsyncRunState;
  acceptedAt: number | null;
  replayOf: string | null;
  replays: string[];
  transitions: { state: AsyncRunState; at: number; detail: string | null }[];
  attempts: ApiAsyncAttempt[];
  result: ApiAsyncResult | null;
}

/**
 * An async run known only by its attempts' records (docs/adr/0193-a-run-whose-async-state-was-lost.md):
 * its queued state (timeline, acceptance time, result and request) was lost, so it is final and
 * cannot be replayed. The CLI's `runs <id>` and the console's run page say so.
 */
export function asyncStateLost(run: Pick<ApiAsyncRun, 'acceptedAt' | 'transitions'>): boolean {
  return run.acceptedAt === null && run.transitions.length === 0;
}
