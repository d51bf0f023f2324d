/**
 * The durable async queue: one port, two adapters (SQLite for embedded mode, Redis Streams in
 * production), one conformance suite (test/conformance/queue-suite.ts). Delivery is at least
 * once; the guarantees are written down in docs/queue.md, the decision in
 * docs/adr/0007-async-queue.md. All times are Unix ms. Errors are QueueError (./errors.ts).
 */

/** A job as the caller hands it in. */
export interface NewJob {
  runId: string;
  function: string;
  /** Opaque bytes (the request body); handed back byte-exact. */
  payload: Uint8Array;
  /** 1 for a first attempt (the default). */
  attempt?: number;
  /** Not claimable before this time (default: at once). */
  notBefore?: number;
  /** A repeated key within the idempotency window returns the run queued first. */
  idempotencyKey?: string;
  /**
   * What the request was (a hash), kept with the idempotency key: a repeated key whose fingerprint
   * differs from the one kept is not the same request, and is answered `mismatch` (nothing queued).
   * Without one on either side (cron ticks; keys kept before fingerprints were), any repeat matches.
   */
  fingerprint?: string;
  /**
   * When the function the job was accepted for was created (the caller's frame): the job's
   * `enqueuedAt` is never before it. A wall clock stepped back after the function was created
   * dated its jobs before it, and the dispatcher dead-lettered each as a deleted function's
   * (`function_deleted`) without running it: accepted runs lost (chaos round 1, ADR 0218).
   */
  bornAt?: number;
}

export interface EnqueueResult {
  /** The run that holds the job: the new one, or the earlier run with the same idempotency key. */
  runId: string;
  /** False when the idempotency key was seen within the window (nothing was queued). */
  created: boolean;
  /** Present (true) when the key was seen with another fingerprint: `runId` is the first run, nothing was queued. */
  mismatch?: true;
}

/** Where a job is: waiting for its time, claimable, or leased to a consumer. */
export type JobState = 'delayed' | 'ready' | 'leased';

/** A queued job without its payload (what operators list). */
export interface JobInfo {
  runId: string;
  function: string;
  attempt: number;
  notBefore: number;
  enqueuedAt: number;
  idempotencyKey: string | null;
  state: JobState;
  /** The consumer holding the lease (state `leased`), else null. */
  consumer: string | null;
  /** How often this attempt was handed out; more than 1 means a lease expired and it came back. */
  deliveries: number;
  payloadBytes: number;
}

export interface Job extends JobInfo {
  payload: Buffer;
}

/** What a consumer must show to ack, nack, extend or dead-letter a job it claimed. */
export interface Lease {
  runId: string;
  consumer: string;
  /** Opaque; changes on every delivery, so a lease that was taken over is refused. */
  token: string;
}

export interface ClaimedJob extends Job, Lease {
  state: 'leased';
  consumer: string;
  /**
   * Set on a job `hold` kept for a cancel whose process stopped before it removed the job (Redis
   * only): the claimer writes `cancelled` (when the run does not say so yet) and acks; nothing runs.
   */
  cancelRequested?: true;
  /**
   * The `bornAt` it was enqueued with (Redis only: the SQLite queue keeps no such column, and its
   * `enqueuedAt` is never moved by a clock step). The dispatcher compares it with the function now
   * under the key: another value is another incarnation (`function_deleted`), whatever the clocks did.
   */
  bornAt?: number;
}

/** A job that used up its attempts (or could not be retried). */
export interface DeadLetter {
  runId: string;
  function: string;
  payload: Buffer;
  attempt: number;
  enqueuedAt: number;
  idempotencyKey: string | null;
  reason: string;
  deadAt: number;
}

export type DeadLetterInfo = Omit<DeadLetter, 'payload'> & { payloadBytes: number };

export interface QueueStats {
  delayed: number;
  ready: number;
  leased: number;
  dead: number;
}

/**
 * One function's share of the queue (for the metrics, read at scrape time). `ready` counts jobs
 * that are claimable now, `delayed` those waiting for their notBefore, `leased` those claimed
 * (running, or held by a consumer whose lease ran out and was not yet taken over).
 */
export interface FunctionQueueStats {
  function: string;
  ready: number;
  delayed: number;
  leased: number;
  /** When the ready job that has waited longest became ready (Unix ms, the queue's clock); null when none is ready. */
  oldestReadyAt: number | null;
}

export type CancelResult = 'cancelled' | 'leased' | 'not_found';

export interface ClaimOptions {
  /**
   * Workspaces (protocol/function-key.ts `workspaceOfKey` of a job's function) whose jobs this
   * claim passes over: they hold their share of the claiming dispatcher's workers already.
   */
  skipWorkspaces?: readonly string[];
  /**
   * Function keys whose jobs this claim passes over: the claiming dispatcher runs as many of their
   * attempts as the function has places (`maxInstances` × `concurrency`) already.
   */
  skipFunctions?: readonly string[];
}

export interface Queue {
  /** Resolves once the job is durable (committed to disk / acknowledged by Redis). QUEUE_RUN_EXISTS if the run id is queued already. */
  enqueue(job: NewJob): Promise<EnqueueResult>;
  /**
   * Leases up to `max` jobs to `consumer` for the queue's lease time: jobs whose lease expired
   * first (a dead consumer's work comes back), then ready jobs, oldest ready first. Jobs of the
   * workspaces in `options.skipWorkspaces` and of the functions in `options.skipFunctions` (a dead
   * consumer's included) are passed over and stay queued, same attempt (the dispatcher's share per
   * workspace and per function; Redis moves them behind the jobs waiting).
   */
  claim(consumer: string, max: number, options?: ClaimOptions): Promise<ClaimedJob[]>;
  /** Done: the job leaves the queue. QUEUE_LEASE_LOST if the lease was taken over. */
  ack(lease: Lease): Promise<void>;
  /** Retry later: queued again as attempt + 1, not claimable before `notBefore`. */
  nack(lease: Lease, notBefore: number): Promise<void>;
  /** Restarts the lease time (a heartbeat for long runs). */
  extend(lease: Lease): Promise<void>;
  /** Moves the job into the dead-letter list. */
  deadLetter(lease: Lease, reason: string): Promise<void>;
  /** Removes a job that is not leased. */
  cancel(runId: string): Promise<CancelResult>;
  /**
   * The first step of a cancel on a queue that shares no transaction with the run timeline (Redis):
   * a job that is not leased is kept from claims until `untilMs` and marked, so that a claim after
   * that (its canceller stopped before `cancel`) finishes the cancel instead of running it
   * (ClaimedJob.cancelRequested; docs/adr/0119-a-cancel-that-stops-halfway.md). `cancelled`: held.
   */
  hold?(runId: string, untilMs: number): Promise<CancelResult>;
  /** A queued job with its payload, or null. */
  peek(runId: string): Promise<Job | null>;
  /** Queued jobs: ready and leased in queue order, then delayed by time. */
  list(limit?: number): Promise<JobInfo[]>;
  /** Dead letters, oldest first. */
  listDead(limit?: number): Promise<DeadLetterInfo[]>;
  getDead(runId: string): Promise<DeadLetter | null>;
  stats(): Promise<QueueStats>;
  /**
   * Counts per function with at least one queued job (none listed: the queue is empty). Cheap
   * enough for every scrape: it reads an index, never every job's payload.
   */
  functionStats(): Promise<FunctionQueueStats[]>;
  close(): Promise<void>;
}

/** Options both adapters take. */
export interface QueueOptions {
  /** How long a claim holds a job before it may be handed to another consumer. Default 30 s. */
  leaseMs?: number;
  /** How long an idempotency key is remembered after its enqueue. Default 24 h. */
  idempotencyWindowMs?: number;
}

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_LIST_LIMIT = 100;
