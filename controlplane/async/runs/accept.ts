/**
 * Accepting a run: its index row, its job and its `queued` transition. Embedded, the three share
 * one SQLite transaction (../sqlite-async.ts); in production they share no transaction, so they are
 * written in an order that never shows a run that is not queued (acceptInOrder).
 */
import { CANCELLED_BY_REQUEST, type RunTimeline } from '../dispatcher/index.js';
import type { CancelResult, EnqueueResult, NewJob, Queue } from '../queue/index.js';
import type { AsyncRunIndex, NewAsyncRun } from './runs-sqlite.js';

/** A repeated idempotency key answers the first run and leaves nothing of this one. Rejects when nothing could be written. */
export type AcceptRun = (run: NewAsyncRun, job: NewJob) => Promise<EnqueueResult>;

/**
 * Accepting a run on stores that share no transaction: the index row first (an attempt may start
 * as soon as the job is queued, and finds its run), then the job, then `queued`.
 */
export function acceptInOrder(queue: Queue, timeline: RunTimeline, runs: AsyncRunIndex): AcceptRun {
  return async (run, job) => {
    await runs.create(run);
    let result: EnqueueResult;
    try {
      result = await queue.enqueue(job);
    } catch (err) {
      // Not queued (refused, or Redis failed): the caller gets a 503, so no index row may outlive it.
      await runs.remove(run.runId).catch(() => undefined);
      throw err;
    }
    if (result.created) await timeline.transition(result.runId, 'queued', run.acceptedAt);
    else await runs.remove(run.runId);
    return result;
  };
}

/**
 * Cancelling a waiting run: its job leaves the queue and `cancelled` is written, as one step where
 * the stores share a transaction (../sqlite-async.ts). `cancelled`: both done; `leased` (running)
 * and `not_found` (no job) change nothing.
 */
export type CancelRun = (runId: string, at: number) => Promise<CancelResult>;

/** How long a held job waits for its canceller before a claim finishes the cancel (cancelInOrder). */
export const CANCEL_HOLD_MS = 30_000;

/**
 * Cancelling on stores that share no transaction. Removed first and written second, a process that
 * stopped between the two left the run `queued` with no job, until someone cancelled it again
 * (reliability rounds 3-5). So the job is first held (kept from claims for CANCEL_HOLD_MS and
 * marked), then `cancelled` written, then the job removed: stopped after the hold, the job comes
 * back marked after the hold and its claimer finishes the cancel, without running it
 * (docs/adr/0119-a-cancel-that-stops-halfway.md). A queue without `hold` is removed, then written.
 */
export function cancelInOrder(queue: Queue, timeline: RunTimeline, holdMs = CANCEL_HOLD_MS): CancelRun {
  return async (runId, at) => {
    if (queue.hold === undefined) {
      const removed = await queue.cancel(runId);
      if (removed === 'cancelled') await timeline.transition(runId, 'cancelled', at, CANCELLED_BY_REQUEST);
      return removed;
    }
    const held = await queue.hold(runId, at + holdMs);
    if (held !== 'cancelled') return held;
    await timeline.transition(runId, 'cancelled', at, CANCELLED_BY_REQUEST);
    // `leased`: the hold ran out meanwhile and a claimer has the marked job; it acks it, running nothing.
    await queue.cancel(runId);
    return 'cancelled';
  };
}
