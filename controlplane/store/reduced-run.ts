/**
 * A run record the store refused as it was (./refusal.ts), reduced to what the platform itself
 * measured: ids, function, version, trigger, status, times, HTTP status, error code and class. What
 * the function or its caller wrote (log lines, the error's type, message, stack and file, the
 * path and method, the writes' names) is left out, numbers that are not finite become 0, and one
 * platform line says so: the run is still listed, counted and found by id, marked as reduced.
 * Written once instead of the record (./recorder.ts `reduce`); refused again, it is dropped and
 * counted (`fp_runs_dropped_total{reason="runs_refused"}`). docs/adr/0173-refused-records.md.
 */
import type { RunRecord } from '../../protocol/index.js';

/** The error type a reduced record shows in place of the function's. */
export const REDUCED_ERROR_TYPE = 'RecordRefused';
/** The one log line of a reduced record. */
export const REDUCED_RUN_LINE = '[run record reduced: the run store refused it as it was; its logs, error text, path and writes were left out]';

/** The platform's own notes in a run's logs (protocol/runtime-reports.ts PLATFORM_STREAM, not exported through protocol's door). */
const PLATFORM_STREAM = 'platform';

const finite = (n: number): number => (typeof n === 'number' && Number.isFinite(n) ? n : 0);

export function reducedRun(run: RunRecord): RunRecord {
  const reduced: RunRecord = {
    runId: run.runId,
    attempt: finite(run.attempt) || 1,
    function: run.function,
    version: run.version,
    trigger: run.trigger,
    cold: run.cold === true,
    start: run.start,
    initMs: finite(run.initMs),
    handlerMs: finite(run.handlerMs),
    queuedMs: finite(run.queuedMs),
    durationMs: finite(run.durationMs),
    status: run.status,
    httpStatus: finite(run.httpStatus),
    errorCode: run.errorCode,
    errorClass: run.errorClass,
    error: run.error === null ? null : { type: REDUCED_ERROR_TYPE, message: 'the run store refused this run\'s record as it was; the error text was left out' },
    logs: [{ stream: PLATFORM_STREAM, ts: finite(run.startedAt), msg: REDUCED_RUN_LINE }],
    startedAt: finite(run.startedAt),
  };
  if (run.sharedStart === true) reduced.sharedStart = true;
  if (run.queued === true) reduced.queued = true;
  if (run.clientAborted === true) reduced.clientAborted = true;
  if (run.responseBytes !== undefined) reduced.responseBytes = finite(run.responseBytes);
  return reduced;
}
