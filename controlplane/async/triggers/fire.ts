/**
 * How a cron tick becomes a run: through the async path (`enqueueRun`), so every tick is a run
 * with an id, retried by the dispatcher like any async run. The job carries an idempotency key
 * made of the trigger and the tick, a second guard behind the TickLock: should two schedulers
 * ever both claim a tick (a lock TTL shorter than their clock skew), the queue still keeps one run.
 */
import { enqueueRun, type RunTimeline } from '../dispatcher/index.js';
import type { NewJob, Queue } from '../queue/index.js';
import type { FiredTrigger } from './scheduler.js';
import type { TriggerRef } from './types.js';

/** The idempotency key of one tick: `cron:<function>:<triggerId>:<tickMs>`. */
export const cronIdempotencyKey = (ref: TriggerRef, tickMs: number): string => `cron:${ref.function}:${ref.triggerId}:${tickMs}`;

/** The queue job of one tick. */
export function cronJob(trigger: FiredTrigger, tickMs: number, runId: string): NewJob {
  return { runId, function: trigger.function, payload: trigger.payload, idempotencyKey: cronIdempotencyKey(trigger, tickMs) };
}

/** A `fire` callback for CronScheduler that enqueues each tick as a new run. */
export function enqueueTicks(queue: Queue, timeline: RunTimeline, newRunId: () => string, now: () => number = Date.now) {
  return async (trigger: FiredTrigger, tickMs: number): Promise<void> => {
    await enqueueRun(queue, timeline, cronJob(trigger, tickMs, newRunId()), now());
  };
}
