/**
 * The async dispatcher: N workers claim jobs from the durable queue, run one attempt each
 * through the AttemptRunner, keep the lease alive while it runs, and then ack, retry with
 * backoff, or dead-letter. The queue holds no policy (docs/adr/0007-async-queue.md); this is
 * where it lives. Delivery is at least once; behaviour and the retry table: docs/dispatcher.md.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { workspaceOfKey } from '../../../protocol/index.js';
import { DEFAULT_LEASE_MS, isQueueError, type ClaimedJob, type ClaimOptions, type Lease, type Queue } from '../queue/index.js';
import { IdleWorkers } from './idle.js';
import { attemptsSpent, classifyFailure, MAX_RUN_ATTEMPTS, resolvePolicy, retryDelayMs, spendsAttempt } from './retry.js';
import { CANCELLED_BY_REQUEST, NO_DISPATCH_METRICS, type AttemptOutcome, type AttemptRecord, type AttemptRunner, type DeadLetterReason, type DispatchMetrics, type RetryPolicy, type RetryPolicySource, type RunTimeline } from './types.js';

export interface DispatcherOptions {
  queue: Queue;
  runner: AttemptRunner;
  timeline: RunTimeline;
  /** Per-function policy; every function gets DEFAULT_RETRY_POLICY when left out. */
  policies?: RetryPolicySource;
  /**
   * Attempts one workspace runs at once (default 4). One more worker takes only the other
   * workspaces' jobs, so in all up to `concurrency + 1` run at once (docs/dispatcher.md).
   */
  concurrency?: number;
  /** The queue's lease time; heartbeats (`extend`) go out every leaseMs/3. Default 30 s. */
  leaseMs?: number;
  /** How often the idle workers (one of them for all: ./idle.ts) claim again (default 200 ms). */
  pollMs?: number;
  /** How long stop() lets running attempts finish before leaving their leases to expire (default 10 s). */
  graceMs?: number;
  /** Unique per process; default `<host>:<pid>:<random>`. */
  consumer?: string;
  now?: () => number;
  /** [0, 1), for the backoff jitter (default Math.random). */
  random?: () => number;
  /**
   * Queue or timeline failures the dispatcher survived (default: printed to stderr). Failed claims
   * (the queue is down) are told once per outage, not once per poll.
   */
  onError?: (err: unknown, runId: string | null) => void;
  /** Where claims, attempt outcomes and dead letters are counted (default: nowhere). */
  metrics?: DispatchMetrics;
  /** Operator messages, e.g. that claims work again after an outage (default: stderr). */
  log?: (line: string) => void;
}

/** How often the idle workers claim while claims fail (the queue is down). */
const DOWN_POLL_MS = 1000;
/** The last time a JavaScript Date holds (ECMAScript: 8.64e15 ms after the epoch). */
const LAST_DATE_MS = 8.64e15;

/** Thrown out of an attempt's bookkeeping when another consumer owns the job now. */
const LEASE_LOST = Symbol('lease lost');

export class Dispatcher {
  readonly consumer: string;
  private readonly o: Required<Omit<DispatcherOptions, 'policies'>> & { policies: RetryPolicySource | null };
  private readonly workers: Promise<void>[] = [];
  private readonly stopping = new AbortController();
  private readonly idle = new IdleWorkers(this.stopping.signal);
  /** Aborted when the grace is over: attempts still running are abandoned to their leases. */
  private readonly abandon = new AbortController();
  private inFlight = 0;
  /** Attempts running now per workspace, and how many one workspace may run at once (below). */
  private readonly byWorkspace = new Running();
  private readonly share: number;
  /** Attempts running now per function (each passed over at its places: `capacity`). */
  private readonly byFunction = new Running();
  /** Claims go one at a time, so two workers never both take a workspace's (or a function's) last place. */
  private claiming: Promise<unknown> = Promise.resolve();
  /**
   * Until when the claim that passes over the functions at their fair share is not tried again: it
   * found nothing of their workspace's other functions (at most one such claim more per `pollMs`).
   */
  private othersIdleUntil = 0;
  /** Claims failed in a row, all workers together, and since when: one log line per outage. */
  private failedClaims = 0;
  private failingSince = 0;

  constructor(options: DispatcherOptions) {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
    this.consumer = options.consumer ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    // One workspace never holds every worker (red team 7): before, four slow async runs of one
    // tenant (a public function anyone may call, sleeping up to its timeout) held all four, and
    // every other workspace's async runs, webhooks and cron ticks waited behind them. A workspace
    // runs at most `concurrency` attempts; one more worker takes only other workspaces' jobs
    // (docs/adr/0062-workspace-shares.md).
    this.share = concurrency;
    this.o = {
      concurrency, leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS, pollMs: options.pollMs ?? 200,
      graceMs: options.graceMs ?? 10_000, consumer: this.consumer, now: options.now ?? Date.now,
      random: options.random ?? Math.random, policies: options.policies ?? null,
      onError: options.onError ?? ((err, runId) => console.error(runId === null ? 'dispatcher: could not claim a run:' : `dispatcher: run ${runId}:`, err)),
      metrics: options.metrics ?? NO_DISPATCH_METRICS,
      log: options.log ?? ((line) => console.error(`dispatcher: ${line}`)),
      queue: options.queue, runner: options.runner, timeline: options.timeline,
    };
  }

  /** Attempts running now. */
  get running(): number {
    return this.inFlight;
  }

  /** Work may be waiting (a run this process accepted): an idle worker claims now, not at the next poll. */
  wake(): void {
    this.idle.wake();
  }

  /** Starts the workers; call once. */
  start(): void {
    if (this.workers.length > 0) throw new Error('dispatcher already started');
    for (let i = 0; i < this.o.concurrency + 1; i++) this.workers.push(this.work());
  }

  /**
   * Stops claiming, waits up to the grace for running attempts, then abandons the rest: their
   * leases run out and another dispatcher takes them over (at-least-once). Never acks for them.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.o.graceMs); });
    await Promise.race([Promise.all(this.workers), grace]);
    clearTimeout(timer);
    this.abandon.abort();
    await Promise.all(this.workers); // abandoned attempts return at once; bookkeeping under way finishes
  }

  private async work(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      let job: ClaimedJob | undefined;
      try {
        job = await this.claimOne();
        this.claimWorked();
      } catch (err) {
        this.claimFailed(err);
      }
      if (job === undefined) {
        await this.idle.wait(this.failedClaims > 0 ? Math.max(this.o.pollMs, DOWN_POLL_MS) : this.o.pollMs);
        continue;
      }
      this.idle.found();
      this.inFlight++;
      try {
        await this.handle(job);
      } catch (err) {
        if (err !== LEASE_LOST) this.o.onError(err, job.runId);
      } finally {
        this.inFlight--;
        this.byWorkspace.done(workspaceOfKey(job.function));
        this.byFunction.done(job.function);
      }
    }
  }

  /**
   * One job, passing over the workspaces that run their share (`concurrency`) already and the
   * functions that run as many attempts as they have places (an attempt more would only wait for
   * one of them, holding a worker the workspace's other functions could use), and counted for its
   * workspace and function before the next claim starts.
   */
  private claimOne(): Promise<ClaimedJob | undefined> {
    const next = this.claiming.then(async () => {
      const workspaces = this.byWorkspace.atLeast(() => this.share);
      const functions = this.byFunction.atLeast((fn) => this.o.policies?.capacity?.(fn) ?? Infinity);
      // A paused function's runs wait for its resume: each attempt would fail FUNCTION_PAUSED and
      // use up its retries (a pause of a few seconds failed every run queued behind it).
      for (const fn of this.o.policies?.paused?.() ?? []) if (!functions.includes(fn)) functions.push(fn);
      const options: ClaimOptions = {
        ...(workspaces.length > 0 ? { skipWorkspaces: workspaces } : {}),
        ...(functions.length > 0 ? { skipFunctions: functions } : {}),
      };
      const [job] = await this.claimOthersFirst(workspaces, functions) ?? await (workspaces.length + functions.length === 0 ? this.o.queue.claim(this.consumer, 1) : this.o.queue.claim(this.consumer, 1, options));
      if (job !== undefined) {
        this.byWorkspace.add(workspaceOfKey(job.function));
        this.byFunction.add(job.function);
      }
      return job;
    });
    this.claiming = next.catch(() => undefined);
    return next;
  }

  /**
   * A function running all but one of its workspace's share passes the next worker to the
   * workspace's other functions when they have a job ready: the claim passes over it first, and
   * only when that finds nothing (remembered for `pollMs`) does it take the function's own. Before
   * (oddfn round 2), one function's backlog held every worker in its turn: 1 500 runs of 50 ms
   * queued ahead made another function's 5 runs wait 30 s, its webhook deliveries and cron ticks
   * too. Undefined: not tried (no such function, one worker a workspace, or tried within `pollMs`).
   */
  private async claimOthersFirst(workspaces: string[], functions: string[]): Promise<ClaimedJob[] | undefined> {
    if (this.share < 2 || performance.now() < this.othersIdleUntil) return undefined;
    const greedy = this.byFunction.atLeast(() => this.share - 1).filter((fn) => !functions.includes(fn) && !workspaces.includes(workspaceOfKey(fn)));
    if (greedy.length === 0) return undefined;
    const found = await this.o.queue.claim(this.consumer, 1, {
      ...(workspaces.length > 0 ? { skipWorkspaces: workspaces } : {}),
      skipFunctions: [...functions, ...greedy],
    });
    if (found.length > 0) return found;
    this.othersIdleUntil = performance.now() + this.o.pollMs; // monotonic: a wall clock stepped back would keep it off
    return undefined;
  }

  /** The first failure of an outage is reported; the rest are counted (the queue is down, not N times broken). */
  private claimFailed(err: unknown): void {
    if (this.failedClaims++ > 0) return;
    this.failingSince = this.o.now();
    this.o.onError(err, null);
  }

  private claimWorked(): void {
    if (this.failedClaims === 0) return;
    const seconds = ((this.o.now() - this.failingSince) / 1000).toFixed(1);
    this.o.log(`claims work again after ${seconds} s (${this.failedClaims} failed meanwhile)`);
    this.failedClaims = 0;
  }

  private async handle(job: ClaimedJob): Promise<void> {
    const { queue, timeline, now, metrics } = this.o;
    // Lag: from the time the job became ready (its notBefore, or its enqueue) to this claim. A
    // redelivery's wait includes the lost lease, so only first deliveries are measured.
    if (job.deliveries === 1) metrics.claimed(job.function, Math.max(0, now() - Math.max(job.notBefore, job.enqueuedAt)) / 1000);
    const lease: Lease = { runId: job.runId, consumer: job.consumer, token: job.token };
    if (job.cancelRequested === true) {
      await this.finishCancel(job, lease);
      return;
    }
    if (job.deliveries > 1 && await this.settledBefore(job, lease)) return;
    // A job of a deleted function must not reach a function created since under its key (the same
    // workspace's, or another tenant's under a recycled workspace name): its request is not theirs.
    // The incarnation the job was accepted for, where the queue keeps it (Redis); else its time:
    // a time handed out in this process's frame moves with a step of its clock, and a step back
    // made every job queued before it look older than its function (chaos round 1, ADR 0218).
    const born = this.o.policies?.createdAt?.(job.function);
    if (born !== undefined && (job.bornAt !== undefined ? job.bornAt !== born : job.enqueuedAt < born)) {
      metrics.deadLettered(job.function, 'function_deleted');
      await timeline.transition(job.runId, 'failed', now(), 'function_deleted');
      await this.guard(queue.deadLetter(lease, 'function_deleted'));
      return;
    }
    const policy = resolvePolicy(this.o.policies === null ? {} : await this.o.policies.policyFor(job.function));
    if (now() - job.enqueuedAt > policy.maxEventAgeMs) {
      metrics.deadLettered(job.function, 'max_event_age');
      await timeline.transition(job.runId, 'failed', now(), 'max_event_age');
      await this.guard(queue.deadLetter(lease, 'max_event_age'));
      return;
    }
    try {
      await this.attempt(job, lease, policy);
    } catch (err) {
      if (err === LEASE_LOST) metrics.attempt(job.function, 'lease_lost');
      throw err;
    }
  }

  /** Runs one attempt and acks, retries or dead-letters it. */
  private async attempt(job: ClaimedJob, lease: Lease, policy: RetryPolicy): Promise<void> {
    const { queue, timeline, now, metrics } = this.o;
    const startedAt = now();
    const redelivered = job.deliveries > 1 ? ` (delivery ${job.deliveries})` : '';
    await timeline.transition(job.runId, 'running', startedAt, `attempt ${job.attempt}${redelivered}`);
    const outcome = await this.runWithHeartbeat(job, lease);
    if (outcome === null) {
      metrics.attempt(job.function, 'abandoned'); // at stop: the lease expires, another consumer retries
      return;
    }
    await timeline.attempt(job.runId, attemptRecord(job.attempt, startedAt, outcome));
    if (outcome.ok) {
      // The final state before the ack (and before a dead letter, below): acked first, a process
      // killed in between (or a timeline write that failed) left a run `running` for ever with its
      // job gone (reliability round 3, docs/dispatcher.md "A final state before the ack"). Written
      // first, the job is still leased: its redelivery finds the state final and only acks
      // (settledBefore). The lease is checked first, so a job another consumer took over meanwhile
      // gets no final state from this one (lease_lost, as before).
      await this.guard(queue.extend(lease));
      metrics.attempt(job.function, 'succeeded');
      await timeline.transition(job.runId, 'succeeded', now());
      await this.guard(queue.ack(lease));
      return;
    }
    await this.afterFailure(job, lease, outcome, policy);
  }

  private async afterFailure(job: ClaimedJob, lease: Lease, outcome: AttemptOutcome, policy: RetryPolicy): Promise<void> {
    const { queue, timeline, now, metrics } = this.o;
    const verdict = classifyFailure(outcome);
    let giveUp: DeadLetterReason | null = null;
    if (!verdict.retryable) giveUp = 'non_retryable';
    else if (job.attempt >= MAX_RUN_ATTEMPTS || (job.attempt >= policy.maxAttempts && await this.spent(job) >= policy.maxAttempts)) giveUp = 'max_attempts';
    const retryAt = now() + retryDelayMs(job.attempt, policy, this.o.random, outcome.retryAfterMs);
    // A retry past the last date a clock holds (the manifest takes durations of up to 2^53 ms) is
    // past any max event age: its date could not be written, and the attempt ran again once a lease
    // for good, neither retried nor failed (red team round 30).
    if (giveUp === null && (retryAt - job.enqueuedAt > policy.maxEventAgeMs || retryAt > LAST_DATE_MS)) giveUp = 'max_event_age';
    if (giveUp !== null) {
      const reason = `${giveUp} ${verdict.reason}`;
      await this.guard(queue.extend(lease));
      metrics.attempt(job.function, 'failed_final');
      metrics.deadLettered(job.function, giveUp);
      await timeline.transition(job.runId, 'failed', now(), reason);
      await this.guard(queue.deadLetter(lease, reason));
      return;
    }
    // `retried` before the nack, the lease checked first, as a final state (ADR 0116): written
    // after it, a retry due at once (full jitter picks a backoff near 0 now and then) could be
    // claimed, run and finished by another process before this write landed, leaving the run
    // `retried` for ever (reliability round 4). A process that dies between the two leaves the job
    // leased: it comes back after the lease and this attempt runs again (at least once).
    await this.guard(queue.extend(lease));
    // A time people read (`runs <id>`, the console's timeline): ISO 8601, not epoch milliseconds.
    const free = spendsAttempt(outcome) ? '' : ' (the platform\'s fault: not counted in maxAttempts)';
    await timeline.transition(job.runId, 'retried', now(), `${verdict.reason}; attempt ${job.attempt + 1} at ${new Date(retryAt).toISOString()}${free}`);
    await this.guard(queue.nack(lease, retryAt));
    metrics.attempt(job.function, 'failed_retry');
  }

  /**
   * How many of the run's attempts so far spent one of its function's `maxAttempts`: an attempt the
   * platform could not give a runtime (RUNTIME_UNAVAILABLE) spends none (ADR 0234). Read only once
   * the attempt number reaches `maxAttempts`; a timeline that lost the run's attempts counts them all.
   */
  private async spent(job: ClaimedJob): Promise<number> {
    const view = await this.o.timeline.get(job.runId);
    return attemptsSpent(job.attempt, view?.attempts ?? []);
  }

  /**
   * A job a cancel held and never removed (its process stopped between the hold and the removal:
   * runs/accept.ts cancelInOrder, ADR 0119): the cancel is finished here, and nothing runs. Before
   * (reliability rounds 3-5) such a run stayed `queued` with no job until it was cancelled again.
   */
  private async finishCancel(job: ClaimedJob, lease: Lease): Promise<void> {
    const { queue, timeline, now } = this.o;
    const view = await timeline.get(job.runId);
    if (view?.state !== 'cancelled') {
      await this.guard(queue.extend(lease));
      await timeline.transition(job.runId, 'cancelled', now(), `${CANCELLED_BY_REQUEST} (finished by a dispatcher: the cancelling process stopped before it removed the job)`);
    }
    await this.guard(queue.ack(lease));
  }

  /**
   * A redelivered job whose run already has its final state (its last holder wrote it, then died or
   * failed before the ack or dead letter): finished as that holder meant to, without running again.
   * True when it was.
   */
  private async settledBefore(job: ClaimedJob, lease: Lease): Promise<boolean> {
    const view = await this.o.timeline.get(job.runId);
    if (view?.state === 'succeeded') {
      await this.guard(this.o.queue.ack(lease));
      return true;
    }
    if (view?.state === 'failed') {
      await this.guard(this.o.queue.deadLetter(lease, view.transitions.at(-1)?.detail ?? 'failed'));
      return true;
    }
    return false;
  }

  /** Runs the attempt, extending the lease every leaseMs/3. Null when abandoned at stop. */
  private async runWithHeartbeat(job: ClaimedJob, lease: Lease): Promise<AttemptOutcome | null> {
    const lost = new AbortController();
    const beat = setInterval(() => {
      this.o.queue.extend(lease).catch((err: unknown) => {
        if (isQueueError(err, 'QUEUE_LEASE_LOST')) lost.abort();
        else this.o.onError(err, job.runId);
      });
    }, Math.max(1, Math.floor(this.o.leaseMs / 3)));
    try {
      const attempt = { runId: job.runId, function: job.function, payload: job.payload, attempt: job.attempt };
      const outcome = await untilAborted(this.o.runner.run(attempt, this.abandon.signal).catch(thrownOutcome), this.abandon.signal);
      // A heartbeat that found the lease gone: another consumer runs this attempt now. An attempt
      // the platform's shutdown cut (its gateway's grace ended first and ended the calls still
      // running) is abandoned too: its lease expires and it runs again, not counted as a failure.
      if (outcome === null || this.abandon.signal.aborted || (this.stopping.signal.aborted && outcome.errorCode === 'SHUTTING_DOWN')) return null;
      if (lost.signal.aborted) throw LEASE_LOST;
      return outcome;
    } finally {
      clearInterval(beat);
    }
  }

  /** Runs a queue verb; a lost lease means another consumer owns the job, so stop here. */
  private async guard(op: Promise<void>): Promise<void> {
    try {
      await op;
    } catch (err) {
      if (isQueueError(err, 'QUEUE_LEASE_LOST')) throw LEASE_LOST;
      throw err;
    }
  }
}

function attemptRecord(attempt: number, startedAt: number, o: AttemptOutcome): AttemptRecord {
  return {
    attempt, startedAt, durationMs: o.durationMs, cold: o.cold, status: o.ok ? 'succeeded' : 'failed',
    errorCode: o.errorCode, errorClass: o.errorClass, error: o.error ?? null,
  };
}

/** A runner that threw: recorded as a retryable platform failure. */
function thrownOutcome(err: unknown): AttemptOutcome {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    ok: false, httpStatus: 500, errorCode: 'INTERNAL_ERROR', errorClass: null, cold: false,
    durationMs: 0, initMs: 0, handlerMs: 0, error: { type: e.name, message: e.message },
  };
}

/** The promise's value, or null as soon as `signal` aborts (the promise is then left to settle alone). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Attempts running now, per key (a workspace, a function). */
class Running {
  private readonly n = new Map<string, number>();

  add(key: string): void {
    this.n.set(key, (this.n.get(key) ?? 0) + 1);
  }

  done(key: string): void {
    const left = (this.n.get(key) ?? 1) - 1;
    if (left > 0) this.n.set(key, left);
    else this.n.delete(key);
  }

  /** The keys running at least `limit(key)` attempts. */
  atLeast(limit: (key: string) => number): string[] {
    return [...this.n].filter(([key, n]) => n >= limit(key)).map(([key]) => key);
  }
}
