/**
 * Whether a call ended as a failed run: the one rule the gateway's run record, the dispatcher's
 * attempt (and so the async run's state), the API, the CLI and the console follow (ADR 0185,
 * amended in loose ends round 6).
 */
import type { RunStatus } from './records.js';

/** Triggers whose runs are always queued (a webhook's may be a sync call: `sync: true`). */
const ALWAYS_QUEUED: ReadonlySet<string> = new Set(['async', 'cron']);

/**
 * Failed: an error (raised, timed out, crashed, …), or the function's own 5xx answer (ADR 0185).
 * Its own 4xx answer fails an attempt of a queued run (the dispatcher does not retry it, but for
 * 408, 429 and 499, and the run fails: `non_retryable status:4xx`), while a sync call's 4xx is
 * the caller's request answered. Before, such an attempt's record said `succeeded` (in `runs`, the
 * console's list, `--status succeeded`) under a run that had failed.
 */
export function callFailed(call: { httpStatus: number; errored: boolean; queued: boolean }): boolean {
  return call.errored || call.httpStatus >= (call.queued ? 400 : 500);
}

/**
 * A run record's status as shown: an attempt of an `async` or `cron` run that answered 4xx is
 * `failed`, also in records written before the gateway followed callFailed (they said
 * `succeeded`). A `webhook` record of then is left as written: it does not say whether it was queued.
 */
export function recordStatus(run: { status: RunStatus; httpStatus: number; trigger: string }): RunStatus {
  return run.status === 'succeeded' && ALWAYS_QUEUED.has(run.trigger) && callFailed({ httpStatus: run.httpStatus, errored: false, queued: true }) ? 'failed' : run.status;
}
