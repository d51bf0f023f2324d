/**
 * Async runs as the API and the gateway see them: accept (durably queue, then `queued`), read
 * (timeline + output), cancel a waiting run, replay a failed one as a new linked run.
 */
import { createHash, randomUUID } from 'node:crypto';
import { CRON_TICK_HEADER, PlatformError, TRIGGER_ID_HEADER, withoutTriggerHeaders, type AsyncRunState } from '../../../protocol/index.js';
import type { AsyncCall, AsyncIntake } from '../../../protocol/index.js';
import { CANCELLED_BY_REQUEST, type RunTimeline, type RunTimelineView } from '../dispatcher/index.js';
import { isDiskFull, isStoreLocked } from '../../../protocol/index.js';
import { isQueueError, redisRefusal, type EnqueueResult, type Queue } from '../queue/index.js';
import { decodeEnvelope, encodeCall, type QueuedTrigger } from './envelope.js';
import { acceptInOrder, cancelInOrder, type AcceptRun, type CancelRun } from './accept.js';
import type { AsyncRunEntry, AsyncRunIndex, AsyncRunInfo } from './runs-sqlite.js';

export interface AsyncRunView extends RunTimelineView {
  runId: string;
  function: string | null;
  acceptedAt: number | null;
  replayOf: string | null;
  /** What queued it: `async`, `cron` or `webhook` (a replay keeps the original's). */
  trigger: QueuedTrigger;
  /** The incarnation of the function it was accepted for (null: not kept; ADR 0235). */
  bornAt: number | null;
  replays: string[];
  result: AsyncRunInfo['result'];
}

/** What `AsyncRuns.list` selects. */
export interface AsyncRunListRequest {
  workspace: string;
  /** A function key in `workspace`. */
  function?: string;
  states: readonly AsyncRunState[];
  trigger?: string;
  since?: number;
  until?: number;
  limit: number;
  cursor?: string;
}

/** A listed async run: its index entry, its state now, when it got there and how many attempts ran. */
export interface AsyncRunSummary extends AsyncRunEntry {
  state: AsyncRunState;
  updatedAt: number;
  attempts: number;
}

/** Index entries one list call reads at most, and per read. */
const LIST_SCAN_MAX = 2000;
const LIST_BATCH = 200;

function encodeListCursor(after: { acceptedAt: number; runId: string }): string {
  return Buffer.from(JSON.stringify(['a', after.acceptedAt, after.runId]), 'utf8').toString('base64url');
}

function decodeListCursor(text: string): { acceptedAt: number; runId: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3 && value[0] === 'a' && Number.isFinite(value[1]) && typeof value[2] === 'string') {
      return { acceptedAt: value[1] as number, runId: value[2] };
    }
  } catch {
    // not JSON
  }
  throw new PlatformError('RUN_CURSOR_INVALID', 'the cursor is not one this listing returned', { field: 'cursor' });
}

export class AsyncRuns implements AsyncIntake {
  /** Told of each new run once it is in the queue (the dispatcher of this process: it claims at once). */
  onAccepted: (() => void) | null = null;
  /**
   * When the function now under a key was created (Unix ms; undefined: not known). Idempotency keys
   * are kept per incarnation of a function: a key sent to a function since deleted is not the key
   * of the one created under its name after it (whose request would otherwise get the old run's
   * id, a run its owner cannot see, and never be queued).
   */
  bornOf: ((fn: string) => number | undefined) | null = null;

  constructor(
    readonly queue: Queue,
    readonly timeline: RunTimeline,
    readonly runs: AsyncRunIndex,
    /** How a new run is written (one transaction where the stores share one: ../sqlite-async.ts). */
    private readonly acceptRun: AcceptRun = acceptInOrder(queue, timeline, runs),
    private readonly now: () => number = Date.now,
    /** How a waiting run is cancelled (one transaction where the stores share one: ../sqlite-async.ts). */
    private readonly cancelRun: CancelRun = cancelInOrder(queue, timeline),
  ) {}

  /**
   * An `Idempotency-Key` is the caller's for one function: it is kept as `<function key>@<created>
   * <key>`, so the same key sent to another function (another workspace's, above all, or one
   * created under the same key after a delete) never finds this run.
   * The request's fingerprint is kept with it: the same key with another method, path, query or
   * body is IDEMPOTENCY_KEY_REUSED (422), as Stripe answers it; the same request gets the first run.
   */
  submit(name: string, call: AsyncCall, idempotencyKey: string | null): Promise<{ runId: string; created: boolean }> {
    if (idempotencyKey === null) return this.accept(name, encodeCall(call), null, null);
    const born = this.bornOf?.(name);
    return this.accept(name, encodeCall(call), `${name}${born === undefined ? '' : `@${born}`} ${idempotencyKey}`, null, requestFingerprint(name, call));
  }

  /**
   * A cron tick as a run: `POST /` (or the trigger's `method` and `path`) with the trigger's payload
   * as a JSON body (empty without one) and `x-fp-trigger-id` / `x-fp-cron-tick` (ISO time) headers;
   * its attempts run with trigger `cron`.
   */
  async submitTick(name: string, triggerId: string, tickMs: number, body: Uint8Array, idempotencyKey: string, at: Pick<AsyncCall, 'method' | 'path'> = { method: 'POST', path: '/' }): Promise<{ runId: string; created: boolean }> {
    const headers: [string, string][] = [[TRIGGER_ID_HEADER, triggerId], [CRON_TICK_HEADER, new Date(tickMs).toISOString()]];
    if (body.length > 0) headers.push(['content-type', 'application/json']);
    return this.accept(name, encodeCall({ method: at.method, path: at.path, rawQuery: '', headers, body }, 'cron'), idempotencyKey, null);
  }

  /** A verified webhook as a run: the request as received plus `x-fp-trigger-id`; its attempts run with trigger `webhook`. */
  submitHook(name: string, triggerId: string, call: AsyncCall): Promise<{ runId: string; created: boolean }> {
    // A delivery is no cron tick: the sender's `x-fp-cron-tick` goes too (red team 7).
    const headers: [string, string][] = [...withoutTriggerHeaders(call.headers), [TRIGGER_ID_HEADER, triggerId]];
    return this.accept(name, encodeCall({ ...call, headers }, 'webhook'), null, null);
  }

  /**
   * Null when the run was never an async run, or its acceptance was lost (the timeline, or the
   * index entry that names its function: Redis lost its data). An attempt in flight when Redis lost
   * its data still writes its attempt and result after it, and made a timeline of that alone: its
   * run answered `running` for ever, or RUN_NOT_FOUND to its owner (no function to own it), though
   * its attempt's record was kept (chaos round 9). Null, it is answered from its attempts' records
   * as any run whose async state was lost (ADR 0193).
   */
  async view(runId: string): Promise<AsyncRunView | null> {
    const timeline = await this.timeline.get(runId);
    if (timeline === null) return null;
    const info = await this.runs.get(runId);
    if (info === null) return null;
    return {
      runId, function: info?.function ?? null, acceptedAt: info?.acceptedAt ?? null, replayOf: info?.replayOf ?? null, trigger: info?.trigger ?? 'async', bornAt: info?.bornAt ?? null,
      replays: await this.runs.replays(runId), result: info?.result ?? null, ...timeline,
    };
  }

  /**
   * The workspace's async runs in `states`, newest accepted first, a page of at most `limit`.
   * The state is each run's timeline's, so the index is read in order and filtered: one call reads
   * at most LIST_SCAN_MAX entries and then answers what it found with a cursor (possibly an empty
   * page), so a state that is rare among many runs never makes one call long
   * (docs/adr/0068-listing-async-runs-by-state.md). `keep`: the caller's own visibility rule.
   */
  async list(q: AsyncRunListRequest, keep: (entry: AsyncRunEntry) => boolean = () => true): Promise<{ items: AsyncRunSummary[]; nextCursor: string | null }> {
    let after = q.cursor !== undefined ? decodeListCursor(q.cursor) : undefined;
    const items: AsyncRunSummary[] = [];
    let scanned = 0;
    while (scanned < LIST_SCAN_MAX) {
      const want = Math.min(LIST_BATCH, LIST_SCAN_MAX - scanned);
      const entries = await this.runs.list({ workspace: q.workspace, ...(q.function !== undefined ? { function: q.function } : {}), ...(q.since !== undefined ? { since: q.since } : {}), ...(q.until !== undefined ? { until: q.until } : {}), ...(after !== undefined ? { after } : {}), limit: want });
      const candidates = entries.filter((e) => keep(e) && (q.trigger === undefined || e.trigger === q.trigger));
      const timelines = await Promise.all(candidates.map((e) => this.timeline.get(e.runId)));
      const byRun = new Map(candidates.map((e, i) => [e.runId, timelines[i] ?? null]));
      for (const entry of entries) {
        scanned += 1;
        after = { acceptedAt: entry.acceptedAt, runId: entry.runId };
        const timeline = byRun.get(entry.runId);
        if (timeline === undefined || timeline === null || !q.states.includes(timeline.state)) continue;
        items.push({ ...entry, state: timeline.state, updatedAt: timeline.transitions.at(-1)?.at ?? entry.acceptedAt, attempts: timeline.attempts.length });
        if (items.length === q.limit) return { items, nextCursor: encodeListCursor(after) };
      }
      if (entries.length < want) return { items, nextCursor: null };
    }
    return { items, nextCursor: after !== undefined ? encodeListCursor(after) : null };
  }

  /** A run still waiting in the queue (queued, or backing off after `retried`) is removed: `cancelled`. */
  async cancel(runId: string): Promise<AsyncRunView> {
    const view = await this.mustView(runId);
    if (view.state !== 'queued' && view.state !== 'retried') throw notCancellable(runId, view.state);
    const result = await this.cancelRun(runId, this.now()).catch((err: unknown) => { throw queueDown(err); });
    if (result === 'leased') throw notCancellable(runId, 'running');
    if (result === 'not_found') {
      // No job, yet the timeline (read again: a run that finished meanwhile wrote its final state
      // before its ack) still says waiting: an earlier cancel removed the job and its process died
      // (or its write failed) before `cancelled`. Nothing will run it: this cancel finishes it,
      // where it answered "is queued" for ever (reliability round 4, docs/dispatcher.md).
      const now = await this.mustView(runId);
      if (now.state !== 'queued' && now.state !== 'retried') throw notCancellable(runId, now.state);
      await this.timeline.transition(runId, 'cancelled', this.now(), `${CANCELLED_BY_REQUEST} (its job had already left the queue)`);
      return (await this.view(runId))!;
    }
    return (await this.view(runId))!;
  }

  /** A failed run's payload, queued again as a new run (it runs the version active now). */
  async replay(runId: string): Promise<{ runId: string; replayOf: string }> {
    const view = await this.mustView(runId);
    if (view.state !== 'failed') throw new PlatformError('RUN_NOT_REPLAYABLE', `run ${runId} ${view.state === 'succeeded' ? 'succeeded' : `is ${view.state}`}; only failed runs are replayed`, { runId, state: view.state });
    const dead = await this.queue.getDead(runId).catch((err: unknown) => { throw queueDown(err); });
    if (dead === null) throw new PlatformError('RUN_NOT_REPLAYABLE', `the payload of run ${runId} is no longer kept`, { runId, state: view.state });
    // Dead-lettered as a deleted function's (ADR 0218: its job was of another incarnation than the
    // one under its key): its request was never this function's, the same workspace's or another
    // tenant's under a recycled workspace name, whatever the times say (red team round 42).
    if (dead.reason === 'function_deleted') throw new PlatformError('RUN_NOT_REPLAYABLE', `run ${runId} was of a function deleted since (function_deleted): its request is not replayed into the function now under its name`, { runId, state: view.state });
    const created = await this.accept(dead.function, dead.payload, null, runId);
    return { runId: created.runId, replayOf: runId };
  }

  private async accept(fn: string, payload: Buffer, idempotencyKey: string | null, replayOf: string | null, fingerprint?: string): Promise<{ runId: string; created: boolean }> {
    const runId = randomUUID();
    // Never dated before the function it was accepted for (a wall clock stepped back since it was
    // created): such a run was listed as a deleted function's (RUN_NOT_FOUND) and its job
    // dead-lettered `function_deleted` without running (chaos round 1, ADR 0218).
    const bornAt = this.bornOf?.(fn);
    const acceptedAt = Math.max(this.now(), bornAt ?? 0);
    let accepted: EnqueueResult;
    try {
      const job = { runId, function: fn, payload, ...(idempotencyKey !== null ? { idempotencyKey } : {}), ...(fingerprint !== undefined ? { fingerprint } : {}), ...(bornAt !== undefined ? { bornAt } : {}) };
      accepted = await this.acceptRun({ runId, function: fn, acceptedAt, replayOf, trigger: triggerOf(payload), ...(bornAt !== undefined ? { bornAt } : {}) }, job);
    } catch (err) {
      throw queueDown(err);
    }
    if (accepted.mismatch === true) {
      throw new PlatformError('IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was sent before (within its window, 24 h by default) with a different request: another method, path, query or body; send a new key for a new request',
        { field: 'headers.idempotency-key', function: fn });
    }
    if (accepted.created) this.onAccepted?.();
    return { runId: accepted.runId, created: accepted.created };
  }

  private async mustView(runId: string): Promise<AsyncRunView> {
    const view = await this.view(runId);
    if (view === null) throw new PlatformError('RUN_NOT_FOUND', `no async run ${runId}`, { field: 'runId' });
    return view;
  }
}

function notCancellable(runId: string, state: string): PlatformError {
  return new PlatformError('RUN_NOT_CANCELLABLE', `run ${runId} is ${state}; only a run waiting in the queue can be cancelled`, { runId, state });
}

function queueDown(err: unknown): PlatformError {
  if (err instanceof PlatformError) return err;
  // Queue errors carry plain messages; anything else (the driver's own words) stays out of the answer.
  const why = isQueueError(err) ? `${err.message} (${err.code})` : isDiskFull(err) ? "the state directory's disk is full" : isStoreLocked(err) ? 'another process holds a lock on the run state (async.db)' : redisRefusal(err) ?? 'the run state store did not answer';
  return new PlatformError('ASYNC_QUEUE_UNAVAILABLE', `the async queue failed: ${why}`);
}

/** The trigger recorded in a queued envelope (`async` for a payload that is not one). */
function triggerOf(payload: Buffer): QueuedTrigger {
  try {
    return decodeEnvelope(payload).trigger;
  } catch {
    return 'async';
  }
}

/**
 * What makes two async requests "the same" for an idempotency key: function, method, path, query
 * and body (headers are left out: tracing ids and dates differ between honest retries). Each part
 * is length-prefixed, so no two different requests hash the same input.
 */
export function requestFingerprint(fn: string, call: Pick<AsyncCall, 'method' | 'path' | 'rawQuery' | 'body'>): string {
  const h = createHash('sha256');
  for (const part of [fn, call.method, call.path, call.rawQuery]) {
    const bytes = Buffer.from(part, 'utf8');
    h.update(`${bytes.length}:`).update(bytes);
  }
  h.update(`${call.body.length}:`).update(call.body);
  return `sha256:${h.digest('hex')}`;
}
