/**
 * The exceptions of failed runs for `logs` (the stored listing): a run that failed has its
 * traceback in its record, not in its lines, so `logs` alone said "No log lines" for a function
 * whose every call raised. Read from the runs listing (its items carry the error), newest first.
 */
import { isAsyncRun, type ApiClient } from './client.js';
import { LOG_LEVELS, type LogLevel } from '../protocol/index.js';

export type RunError = { type: string; message: string; file?: string; line?: number };

export interface FailedRun {
  runId: string;
  attempt: number;
  /** When the run ended (ms): where its error goes among the lines. */
  ts: number;
  error: RunError;
}

/** Failed runs looked at for one listing: the newest of the function's runs in the window. */
export const FAILED_RUNS_READ = 100;

/** Whether an exception passes `--level` (it counts as `error`). */
export function errorsPass(level: LogLevel | undefined): boolean {
  return level === undefined || LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf('error');
}

/**
 * The failed runs of `fn` in the window with an error, oldest first; with `runId`, only that run;
 * only those that ended at or after `from` (the oldest line shown when older lines were left out).
 */
export async function failedRuns(client: ApiClient, fn: string, q: { since?: number; until?: number; runId?: string; from?: number }): Promise<FailedRun[]> {
  const out: FailedRun[] = [];
  const add = (runId: string, attempt: number, ts: number, status: string, error: RunError | null | undefined): void => {
    if (status !== 'failed' || error === null || error === undefined) return;
    if (q.from !== undefined && ts < q.from) return;
    const { type, message, file, line } = error;
    out.push({ runId, attempt, ts, error: { type, message, ...(file !== undefined ? { file } : {}), ...(line !== undefined ? { line } : {}) } });
  };
  if (q.runId !== undefined) {
    // One run (`--run`): every failed attempt of it, however old.
    const run = await client.getRun(q.runId);
    if (isAsyncRun(run)) for (const a of run.attempts) add(run.runId, a.attempt, a.startedAt + a.durationMs, a.status, a.error);
    else add(run.runId, run.attempt ?? 1, run.startedAt + run.durationMs, run.status, run.error);
  } else {
    const { items } = await client.listRuns({ function: fn, limit: FAILED_RUNS_READ, ...(q.since !== undefined ? { since: q.since } : {}), ...(q.until !== undefined ? { until: q.until } : {}) });
    for (const run of items) add(run.runId, run.attempt ?? 1, run.startedAt + run.durationMs, run.status, run.error);
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/**
 * Where each failed run's exception goes among the lines: at its end, and never before a line of
 * its own run. Its end is the gateway's arrival time (whole ms) plus the measured duration, which
 * in a call shorter than a millisecond can read earlier than a line the runtime stamped in it: the
 * exception was printed above the run's own `print` (CI, 2026-12-05).
 */
export function errorsAmongLines(failed: readonly FailedRun[], lines: readonly { runId: string; attempt: number; ts: number }[]): { at: number; run: FailedRun }[] {
  const last = new Map<string, number>();
  for (const l of lines) {
    const key = `${l.runId}#${l.attempt}`;
    last.set(key, Math.max(last.get(key) ?? -Infinity, l.ts));
  }
  return failed.map((run) => ({ at: Math.max(run.ts, last.get(`${run.runId}#${run.attempt}`) ?? -Infinity), run })).sort((a, b) => a.at - b.at);
}
