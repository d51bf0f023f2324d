/**
 * Acceptance beyond Redis (ADR 0225): in production a run's index row, job and timeline are in
 * Redis alone, and a Redis that lost its data lost the runs accepted and not yet run. So each
 * accept first writes an acceptance record (MongoDB), then accepts as before; the record follows
 * its run's attempts (taken, handed back for a retry) and goes when the run ends (ack, dead
 * letter, cancel). reaccept.ts queues again, with their ids, the records Redis no longer knows.
 */
import type { AcceptanceRecords } from '../../store/index.js';
import { ForwardingQueue, type CancelResult, type ClaimedJob, type ClaimOptions, type EnqueueResult, type Lease, type Queue } from '../queue/index.js';
import type { AcceptRun } from './accept.js';

/** How long an accept waits for its record before it goes on without one (a store that hangs). */
export const RECORD_WAIT_MS = 1_000;

export interface RecordedAcceptOptions {
  waitMs?: number;
  /** Told of a run accepted without a record (the store down or slow): Redis alone holds it, as before ADR 0225. */
  onUnrecorded?: (err: unknown) => void;
}

/**
 * The record first (a 202 comes after it), then the accept; a run not queued (refused, a repeated
 * key) leaves no record. A store that fails or does not answer within `waitMs` does not refuse the
 * run (async intake works while MongoDB is down, as sync calls do): it is accepted as before,
 * durable in Redis alone, and `onUnrecorded` says so.
 */
export function recordedAccept(records: AcceptanceRecords, accept: AcceptRun, o: RecordedAcceptOptions = {}): AcceptRun {
  const waitMs = o.waitMs ?? RECORD_WAIT_MS;
  return async (run, job) => {
    const adding = records.add({
      runId: run.runId, function: run.function, acceptedAt: run.acceptedAt, replayOf: run.replayOf, trigger: run.trigger ?? 'async',
      ...(run.bornAt !== undefined ? { bornAt: run.bornAt } : {}),
      payload: Buffer.from(job.payload),
      ...(job.idempotencyKey !== undefined ? { idempotencyKey: job.idempotencyKey } : {}),
      ...(job.fingerprint !== undefined ? { fingerprint: job.fingerprint } : {}),
      attempt: job.attempt ?? 1, ...(job.notBefore !== undefined ? { notBefore: job.notBefore } : {}), claimedAt: null,
    }).then(() => true, (err: unknown) => {
      o.onUnrecorded?.(err);
      return false;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), waitMs); });
    const recorded = await Promise.race([adding, late]);
    clearTimeout(timer);
    if (recorded === 'late') o.onUnrecorded?.(new Error(`the store did not answer within ${waitMs} ms`));
    // Removed once written (a late write lands before its removal).
    const forget = (): void => void adding.then((written) => (written ? records.remove(run.runId) : undefined)).catch(() => undefined);
    let result: EnqueueResult;
    try {
      result = await accept(run, job);
    } catch (err) {
      forget();
      throw err;
    }
    if (!result.created) forget();
    return result;
  };
}

/**
 * The queue, telling the records what became of each run's job. After the queue's own step, and
 * not waited for (a MongoDB that hangs must not hold the dispatcher: it ran while MongoDB was down
 * before), in order per run; best effort: a record that missed a step is at worst queued again
 * after a Redis data loss, or forgotten (reaccept.ts). One left at a stop (its removal cut off) is
 * removed by the next start's pass, its run's final state in Redis.
 */
export function recordingQueue(queue: Queue, records: AcceptanceRecords, now: () => number = Date.now): Queue {
  return new RecordingQueue(queue, records, now);
}

class RecordingQueue extends ForwardingQueue {
  /** The attempt of each job this process holds (a nack queues attempt + 1). */
  private readonly attempts = new Map<string, number>();
  /** Each run's record writes not yet done, the last one's end: the next waits for it. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(q: Queue, private readonly records: AcceptanceRecords, private readonly now: () => number) {
    super(q);
  }

  override async claim(consumer: string, max: number, options?: ClaimOptions): Promise<ClaimedJob[]> {
    const jobs = await this.q.claim(consumer, max, options);
    const at = this.now();
    for (const job of jobs) {
      this.attempts.set(job.runId, job.attempt);
      this.write(job.runId, () => this.records.mark(job.runId, at));
    }
    return jobs;
  }

  override async ack(lease: Lease): Promise<void> {
    await this.q.ack(lease);
    this.ended(lease.runId);
  }

  override async nack(lease: Lease, notBefore: number): Promise<void> {
    await this.q.nack(lease, notBefore);
    const attempt = this.attempts.get(lease.runId);
    this.attempts.delete(lease.runId);
    if (attempt !== undefined) this.write(lease.runId, () => this.records.mark(lease.runId, null, { attempt: attempt + 1, notBefore }));
  }

  override async deadLetter(lease: Lease, reason: string): Promise<void> {
    await this.q.deadLetter(lease, reason);
    this.ended(lease.runId);
  }

  override async cancel(runId: string): Promise<CancelResult> {
    const result = await this.q.cancel(runId);
    if (result === 'cancelled') this.ended(runId);
    return result;
  }

  private ended(runId: string): void {
    this.attempts.delete(runId);
    this.write(runId, () => this.records.remove(runId));
  }

  private write(runId: string, op: () => Promise<void>): void {
    const next = (this.writing.get(runId) ?? Promise.resolve()).then(op).catch(() => undefined);
    this.writing.set(runId, next);
    void next.then(() => {
      if (this.writing.get(runId) === next) this.writing.delete(runId);
    });
  }
}
