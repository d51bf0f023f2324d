/**
 * A Queue whose `enqueue` first asks `admit()`, which throws to refuse (e.g. ASYNC_QUEUE_NOT_DURABLE
 * while Redis does not persist its data). Everything else goes straight through, so runs already
 * queued are still claimed and finished. Every way a run enters (async calls, webhooks, cron ticks,
 * replays) is an enqueue, so one gate covers them all.
 */
import type { CancelResult, ClaimedJob, ClaimOptions, DeadLetter, DeadLetterInfo, EnqueueResult, FunctionQueueStats, Job, JobInfo, Lease, NewJob, Queue, QueueStats } from './types.js';

/**
 * `mayClaim` (optional): false while this process must not take jobs from the queue at all (its
 * Redis prefix holds another platform's queue: docs/adr/0130); `claim` then finds nothing, and the
 * dispatcher's idle workers ask again at their poll.
 */
export function admitFirst(queue: Queue, admit: () => Promise<void>, mayClaim: () => boolean = () => true): Queue {
  return new AdmittingQueue(queue, admit, mayClaim);
}

class AdmittingQueue implements Queue {
  readonly hold?: (runId: string, untilMs: number) => Promise<CancelResult>;

  constructor(private readonly q: Queue, private readonly admit: () => Promise<void>, private readonly mayClaim: () => boolean) {
    if (q.hold !== undefined) this.hold = q.hold.bind(q);
  }

  async enqueue(job: NewJob): Promise<EnqueueResult> {
    await this.admit();
    return this.q.enqueue(job);
  }

  claim(consumer: string, max: number, options?: ClaimOptions): Promise<ClaimedJob[]> { return this.mayClaim() ? this.q.claim(consumer, max, options) : Promise.resolve([]); }
  ack(lease: Lease): Promise<void> { return this.q.ack(lease); }
  nack(lease: Lease, notBefore: number): Promise<void> { return this.q.nack(lease, notBefore); }
  extend(lease: Lease): Promise<void> { return this.q.extend(lease); }
  deadLetter(lease: Lease, reason: string): Promise<void> { return this.q.deadLetter(lease, reason); }
  cancel(runId: string): Promise<CancelResult> { return this.q.cancel(runId); }
  peek(runId: string): Promise<Job | null> { return this.q.peek(runId); }
  list(limit?: number): Promise<JobInfo[]> { return this.q.list(limit); }
  listDead(limit?: number): Promise<DeadLetterInfo[]> { return this.q.listDead(limit); }
  getDead(runId: string): Promise<DeadLetter | null> { return this.q.getDead(runId); }
  stats(): Promise<QueueStats> { return this.q.stats(); }
  functionStats(): Promise<FunctionQueueStats[]> { return this.q.functionStats(); }
  close(): Promise<void> { return this.q.close(); }
}
