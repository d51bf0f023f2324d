/**
 * A Queue whose `enqueue` first asks `admit()`, which throws to refuse (e.g. ASYNC_QUEUE_NOT_DURABLE
 * while Redis does not persist its data). Everything else goes straight through, so runs already
 * queued are still claimed and finished. Every way a run enters (async calls, webhooks, cron ticks,
 * replays) is an enqueue, so one gate covers them all.
 */
import { ForwardingQueue } from './forwarding.js';
import type { ClaimedJob, ClaimOptions, EnqueueResult, NewJob, Queue } from './types.js';

/**
 * `mayClaim` (optional): false while this process must not take jobs from the queue at all (its
 * Redis prefix holds another platform's queue: docs/adr/0130); `claim` then finds nothing, and the
 * dispatcher's idle workers ask again at their poll.
 */
export function admitFirst(queue: Queue, admit: () => Promise<void>, mayClaim: () => boolean = () => true): Queue {
  return new AdmittingQueue(queue, admit, mayClaim);
}

class AdmittingQueue extends ForwardingQueue {
  constructor(q: Queue, private readonly admit: () => Promise<void>, private readonly mayClaim: () => boolean) {
    super(q);
  }

  override async enqueue(job: NewJob): Promise<EnqueueResult> {
    await this.admit();
    return this.q.enqueue(job);
  }

  override claim(consumer: string, max: number, options?: ClaimOptions): Promise<ClaimedJob[]> { return this.mayClaim() ? this.q.claim(consumer, max, options) : Promise.resolve([]); }
}
