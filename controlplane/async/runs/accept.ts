/**
 * Accepting a run: its index row, its job and its `queued` transition. Embedded, the three share
 * one SQLite transaction (../sqlite-async.ts); in production they share no transaction, so they are
 * written in an order that never shows a run that is not queued (acceptInOrder).
 */
import type { RunTimeline } from '../dispatcher/index.js';
import type { EnqueueResult, NewJob, Queue } from '../queue/index.js';
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
