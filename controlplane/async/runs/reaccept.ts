/**
 * Queues again, with their ids, the accepted runs that Redis lost with its data (ADR 0225): each
 * acceptance record (acceptance.ts) whose run the run index in Redis no longer knows. Run when a
 * process starts and when it sees Redis come back without data it had acknowledged (the
 * durability mark: REDIS_DATA_LOST). A run Redis still knows is left alone, so an ordinary restart
 * queues nothing twice; several processes passing at once queue each run once (QUEUE_RUN_EXISTS,
 * or its idempotency key naming it).
 */
import { FINAL_ASYNC_RUN_STATES } from '../../../protocol/index.js';
import type { AcceptanceRecords, AcceptedRun } from '../../store/index.js';
import type { RunTimeline } from '../dispatcher/index.js';
import { isQueueError, type NewJob, type Queue } from '../queue/index.js';
import type { AsyncRunIndex } from './runs-sqlite.js';

/** The `queued` transition's detail for a run queued again. */
export const REQUEUED_AFTER_LOSS = 'queued again: Redis lost its data after this run was accepted (ADR 0225)';

export interface ReacceptOptions {
  records: AcceptanceRecords;
  /** The queue as every enqueue sees it (through the durability gate). */
  queue: Queue;
  timeline: RunTimeline;
  runs: AsyncRunIndex;
  /** A record younger than this may be an accept still writing to Redis: left for the next pass. */
  graceMs: number;
  /** A record whose attempt was taken this long ago and that Redis lost: its attempt ended (or its process did); forgotten. */
  claimedForgetMs: number;
  log: (line: string) => void;
  now?: () => number;
}

const FINAL: ReadonlySet<string> = new Set(FINAL_ASYNC_RUN_STATES);

/** One pass: how many runs were queued again. Rejects when a store fails (the next pass tries again). */
export async function reacceptLost(o: ReacceptOptions): Promise<number> {
  const now = (o.now ?? Date.now)();
  let queued = 0;
  for (const record of await o.records.list()) {
    if (now - record.acceptedAt < o.graceMs) continue;
    if (await o.runs.get(record.runId) !== null) {
      // Redis knows it; one that ended and missed its record's removal loses it now.
      const timeline = await o.timeline.get(record.runId);
      if (timeline !== null && FINAL.has(timeline.state)) await o.records.remove(record.runId);
      continue;
    }
    if (record.claimedAt !== null) {
      // Its attempt was in flight: it ends and is answered from its record (ADR 0193), not run again.
      if (now - record.claimedAt > o.claimedForgetMs) await o.records.remove(record.runId);
      continue;
    }
    if (await requeue(o, record)) queued += 1;
  }
  return queued;
}

async function requeue(o: ReacceptOptions, r: AcceptedRun): Promise<boolean> {
  const bornAt = r.bornAt !== undefined ? { bornAt: r.bornAt } : {};
  await o.runs.create({ runId: r.runId, function: r.function, acceptedAt: r.acceptedAt, replayOf: r.replayOf, trigger: r.trigger, ...bornAt });
  const job: NewJob = {
    runId: r.runId, function: r.function, payload: r.payload, attempt: r.attempt, ...bornAt,
    ...(r.notBefore !== undefined ? { notBefore: r.notBefore } : {}),
    ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}),
    ...(r.fingerprint !== undefined ? { fingerprint: r.fingerprint } : {}),
  };
  let result;
  try {
    result = await o.queue.enqueue(job);
  } catch (err) {
    if (isQueueError(err, 'QUEUE_RUN_EXISTS')) return false; // another process queued it
    throw err;
  }
  if (!result.created) {
    // Its key names a run accepted since the loss (a client that sent it again): that run stands.
    if (result.runId !== r.runId) {
      await o.runs.remove(r.runId);
      await o.records.remove(r.runId);
    }
    return false;
  }
  await o.timeline.transition(r.runId, 'queued', r.acceptedAt, REQUEUED_AFTER_LOSS);
  return true;
}

/** A pass that failed (MongoDB or Redis not answering) is tried again after this. */
const RETRY_MS = 30_000;

/** Passes one at a time: at start (after the grace) and at each data loss (now, and after the grace for the newest). */
export class Reacceptor {
  private running: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly o: ReacceptOptions) {}

  /** A process started: Redis may have lost its data while none ran. */
  start(): void {
    this.later(this.o.graceMs);
  }

  /** Redis came back without data it had acknowledged. */
  lost(): void {
    this.pass();
    this.later(this.o.graceMs + 100);
  }

  /** Resolves when the passes started so far have ended. */
  settled(): Promise<void> {
    return this.running;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private later(ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.pass();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private pass(): void {
    if (this.closed) return;
    this.running = this.running.then(() => reacceptLost(this.o)).then((n) => {
      if (n > 0) this.o.log(`platform: queued again ${n} async run(s) accepted before Redis lost its data, with their ids (their acceptance records in MongoDB; ADR 0225)`);
    }, (err: unknown) => {
      this.o.log(`platform: could not queue again the async runs Redis lost (tried again in ${RETRY_MS / 1000} s): ${err instanceof Error ? err.message : String(err)}`);
      this.later(RETRY_MS);
    });
  }
}
