/** A Queue that hands every call to another: the base of the wrappers that change a few (admit.ts, runs/acceptance.ts). */
import type { CancelResult, ClaimedJob, ClaimOptions, DeadLetter, DeadLetterInfo, EnqueueResult, FunctionQueueStats, Job, JobInfo, Lease, NewJob, Queue, QueueStats } from './types.js';

export class ForwardingQueue implements Queue {
  readonly hold?: (runId: string, untilMs: number) => Promise<CancelResult>;

  constructor(protected readonly q: Queue) {
    if (q.hold !== undefined) this.hold = q.hold.bind(q);
  }

  enqueue(job: NewJob): Promise<EnqueueResult> { return this.q.enqueue(job); }
  claim(consumer: string, max: number, options?: ClaimOptions): Promise<ClaimedJob[]> { return this.q.claim(consumer, max, options); }
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
