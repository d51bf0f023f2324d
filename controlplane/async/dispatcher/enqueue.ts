/** Accepting an async run: durable in the queue first, then `queued` on the timeline. */
import type { EnqueueResult, NewJob, Queue } from '../queue/index.js';
import type { RunTimeline } from './types.js';

/**
 * Enqueues the run and records `queued`; a repeated idempotency key records nothing (the first
 * run's timeline stands). The queue write comes first: a run on the timeline is always in the queue.
 */
export async function enqueueRun(queue: Queue, timeline: RunTimeline, job: NewJob, now: number): Promise<EnqueueResult> {
  const result = await queue.enqueue(job);
  if (result.created) await timeline.transition(result.runId, 'queued', now);
  return result;
}
