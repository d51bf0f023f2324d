/**
 * One invocation on its way through the pool: queued, waiting for a specialization, or running.
 * It settles exactly once, with a result (never a rejection). It is its own queue node, its own
 * abort listener (`handleEvent`) and its own timer argument, so the hot path allocates no closures.
 */
import { LogBudget, type Abortable, type LogLine, type LogTap, type WireEvent, type WireResponse } from '../protocol/index.js';
import type { FunctionGroup } from './group.js';
import type { Instance } from './instance.js';
import { hostError } from './outcome.js';
import type { ResponseBody } from './response-body.js';
import type { CallEnd, InvocationError, InvocationResult } from './types.js';
import type { Deadlined, QueueLinks, TimedWaitQueue } from './wait-queue.js';

export type StartKind = InvocationResult['start'];

/** Only ever read (concatenated), never handed out: each result gets its own logs array. */
const NO_LOGS: readonly LogLine[] = [];

export class Call implements QueueLinks<Call>, Deadlined {
  prev: Call | null = null;
  next: Call | null = null;
  queuedIn: TimedWaitQueue<Call> | null = null;

  readonly promise: Promise<InvocationResult>;
  start: StartKind = 'warm';
  cold = false;
  /** Cold, but the instance's start is another call's (InvocationResult.sharedStart). */
  sharedStart = false;
  initMs = 0;
  queuedMs = 0;
  /** performance.now() at arrival, then at the moment the call got a slot. */
  at: number;
  instance: Instance | null = null;
  /** Message id of the invoke frame on its instance. */
  msgId = 0;
  /** performance.now() when the invoke frame was sent. */
  sentAt = 0;
  /** The runtime has started it (it is among the first `concurrency` sent calls). */
  started = false;
  /**
   * While queued: performance.now() past which it fails with QueueTimeout (Infinity: no limit), and
   * that limit. One timer per queue watches them (TimedWaitQueue); the handler timeout is its
   * instance's (Instance.begin).
   */
  deadline = Infinity;
  private waitMs = 0;
  /** Once started: the handler timeout it runs under (0 = none), from `startedAt`. */
  timeoutMs = 0;
  /** performance.now() when the runtime started it (host's view): the handler time of a call it never answered. */
  startedAt = 0;
  /** When the call was accepted, wall clock (live lines carry it: LiveLines.startedAt). */
  private readonly acceptedAt = Date.now();
  /** Times it went back to the pool because its runtime died before being given the function. */
  respawns = 0;
  /** Logs of the specialization this call waited for, put in front of its own. */
  initLogs: readonly LogLine[] = NO_LOGS;
  done = false;
  /** Lines the runtime streamed (`logs` messages) while the call ran; null until the first batch. */
  private streamed: LogLine[] | null = null;
  /**
   * What the call's own lines (streamed batches and the reply's) may add up to. The runtime bounds
   * them itself; this bounds a runtime whose user code writes frames of its own on the socket
   * (protocol/runtime-reports.ts), and drops lines that are not lines.
   */
  private budget: LogBudget | null = null;
  /**
   * Lines of the call's log list (the run record's `logs`) accounted for so far, published live or
   * not: the `seq` of the next live batch. The init logs are accounted first, at the first batch.
   */
  private logged = 0;
  private initLogged = false;
  private settle!: (result: InvocationResult) => void;
  /** Set once the response went out before the call's end (respond()): how that end is told. */
  private ended: ((end: CallEnd) => void) | null = null;
  /** The streamed body of that response, if any. */
  body: ResponseBody | null = null;
  /** Bytes of an early response sent whole. */
  private responseBytes = 0;
  /** Queued for the slot of an instance that only finishes (pool.ts, awaitFinishing): counted in its group's `finishWaiters`. */
  awaitingFinish = false;
  /** Listening for its caller leaving while it runs (watchCaller). */
  private watching = false;

  constructor(
    readonly group: FunctionGroup,
    readonly event: WireEvent,
    readonly signal: Abortable | undefined,
    readonly attempt: number,
    now: number,
    /** Where lines go live while someone tails the function (protocol/live-logs.ts); null: nowhere. */
    private readonly tap: LogTap | null = null,
    /** A WebSocket connection (`wsopen`), not a request. */
    readonly websocket = false,
  ) {
    this.at = now;
    this.promise = new Promise<InvocationResult>((resolve) => { this.settle = resolve; });
  }

  /** Back to the pool after its instance died before running it (see Instance.markGone). */
  detach(now: number): void {
    this.instance = null;
    this.started = false;
    this.msgId = 0;
    // A call never sent (it waited for its runtime to start) has waited since it got its slot.
    this.queuedMs += now - (this.sentAt > 0 ? this.sentAt : this.at);
    this.at = now;
  }

  /**
   * A batch of the call's lines, sent while it runs (as the runtime sent it: untrusted, cleaned and
   * bounded here); the reply (if any) carries the lines after them. False when the batch is not what
   * an honest runtime sends (no line, or lines dropped): the instance counts it (MAX_UNASKED_FRAMES).
   */
  addLogs(raw: unknown): boolean {
    if (this.done) return true;
    const dropped = this.budget?.dropped ?? 0;
    const lines = this.takeLogs(raw, false);
    if (lines.length > 0) {
      const streamed = this.streamed ??= [];
      for (const line of lines) streamed.push(line);
      if (this.tap !== null) this.live(lines);
    }
    // What an honest runtime sends: a batch of at least one line, none of them dropped.
    return lines.length > 0 && (this.budget?.dropped ?? 0) === dropped;
  }

  /**
   * `raw` through the call's budget, made at the first line (issue 11: most calls log nothing, and a
   * budget per call was an object more each): no line, or no list, is nothing to keep or count, as
   * LogBudget.take would say.
   */
  private takeLogs(raw: unknown, reply: boolean): LogLine[] {
    if (!Array.isArray(raw) || raw.length === 0) return [];
    return (this.budget ??= new LogBudget(undefined, this.acceptedAt, this.group.mask)).take(raw, reply);
  }

  /** The response went out before the call's end (respond()). */
  get responded(): boolean {
    return this.ended !== null;
  }

  /** The whole response went out before the call's end: only its tail runs (a teardown, background tasks). */
  get answered(): boolean {
    return this.ended !== null && (this.body === null || this.body.done);
  }

  /**
   * The response went out before the call's end (a streamed body, or background tasks after a
   * complete one): the caller gets it now, with `after` telling how the call ended (finish()).
   */
  respond(response: WireResponse, body: ResponseBody | null): void {
    if (this.done || this.ended !== null) return;
    const after = new Promise<CallEnd>((resolve) => { this.ended = resolve; });
    this.body = body;
    this.responseBytes = response.body.byteLength;
    const result: InvocationResult = {
      cold: this.cold, sharedStart: this.sharedStart, start: this.start, initMs: this.initMs,
      handlerMs: this.started ? performance.now() - this.startedAt : 0,
      queuedMs: this.queuedMs, response, error: null, logs: [],
      instanceId: this.instance === null ? null : this.instance.id, after,
    };
    if (body !== null) result.body = body;
    this.settle(result);
  }

  /**
   * Settles the call; later calls are ignored (a reply can race a timeout or a crash). `raw`: the
   * reply's lines as the runtime sent them (cleaned and bounded with the streamed ones).
   */
  finish(response: WireResponse | null, error: InvocationError | null, raw: unknown, handlerMs: number): void {
    if (this.done) return;
    this.done = true;
    this.group.callEnded();
    if (this.queuedIn !== null) this.leaveQueue();
    if (this.watching) {
      this.watching = false;
      this.signal?.removeEventListener('abort', this);
    }
    const logs = this.takeLogs(raw, true);
    const notice = this.budget?.notice() ?? null;
    if (this.tap !== null) {
      // The rest of the record's lines, in the record's order: init logs (if not yet), the reply's, the notice.
      this.live(logs);
      if (notice !== null) this.live([notice]);
    }
    if (this.ended !== null) {
      // It responded already: a body not complete now never will be (its client's connection is dropped).
      this.body?.close();
      this.ended({
        error, handlerMs, bytes: this.body?.received ?? this.responseBytes,
        logs: this.streamed === null && this.initLogs.length === 0 && notice === null ? logs : this.allLogs(logs, notice),
      });
      return;
    }
    this.settle({
      cold: this.cold,
      sharedStart: this.sharedStart,
      start: this.start,
      initMs: this.initMs,
      handlerMs,
      queuedMs: this.queuedMs,
      response,
      error,
      logs: this.streamed === null && this.initLogs.length === 0 && notice === null ? logs : this.allLogs(logs, notice),
      instanceId: this.instance === null ? null : this.instance.id,
    });
  }

  /** Fails the call with what it streamed; a started call reports the time it ran as its handler time. */
  fail(error: InvocationError): void {
    this.finish(null, error, [], this.started ? performance.now() - this.startedAt : 0);
  }

  /** Specialization logs, then the streamed lines, then the reply's (`last`), then the platform's notice. */
  private allLogs(last: LogLine[], notice: LogLine | null): LogLine[] {
    const out = this.streamed === null ? this.initLogs.concat(last) : this.initLogs.concat(this.streamed, last);
    if (notice !== null) out.push(notice);
    return out;
  }

  /**
   * Accounts for the next lines of the record (the init logs first, once) and publishes them while
   * the function is tailed. Counted either way, so a tail that starts mid-call gets the right `seq`.
   */
  private live(lines: readonly LogLine[]): void {
    if (!this.initLogged) {
      this.initLogged = true;
      if (this.initLogs.length > 0) this.publish(this.initLogs);
    }
    if (lines.length > 0) this.publish(lines);
  }

  private publish(lines: readonly LogLine[]): void {
    const tap = this.tap!;
    const fn = this.group.fn;
    if (tap.wants(fn.name)) {
      tap.lines({ function: fn.name, version: fn.version, runId: this.event.requestId, attempt: this.attempt, seq: this.logged, lines, startedAt: this.acceptedAt });
    }
    this.logged += lines.length;
  }

  /** Waits in the group's queue for at most `waitMs` (0 = no limit of its own); `first` jumps the line. */
  enqueue(queue: TimedWaitQueue<Call>, waitMs: number, first = false): void {
    if (first) queue.unshift(this);
    else queue.push(this);
    if (waitMs > 0) {
      this.waitMs = waitMs;
      this.deadline = performance.now() + waitMs;
      queue.watch(this.deadline);
    }
    this.signal?.addEventListener('abort', this);
  }

  /** Deadlined: waited `waitMs` in the queue without getting a slot. */
  expire(): void {
    this.fail(this.group.quotaRefusal() ?? hostError('FUNCTION_BUSY', null, 'QueueTimeout', `no instance became free within ${this.waitMs} ms`));
  }

  /** Leaves the queue (to take a slot, or to fail); records the time spent waiting. */
  leaveQueue(now: number = performance.now()): void {
    if (this.awaitingFinish) {
      this.awaitingFinish = false;
      this.group.finishWaiters--;
    }
    this.deadline = Infinity;
    this.queuedIn?.remove(this);
    this.signal?.removeEventListener('abort', this);
    this.queuedMs += now - this.at;
    this.at = now;
  }

  /**
   * The caller went away (its Abortable fired). Queued, the call leaves the queue and fails; sent to
   * a runtime and not answered yet, the runtime is told (`cancel`: an ASGI app's `receive` returns
   * `http.disconnect`, as under uvicorn) and the call runs on to its end, which nobody reads.
   */
  handleEvent(): void {
    if (this.queuedIn !== null) {
      this.fail(hostError('CLIENT_CLOSED_REQUEST', null, 'Aborted', 'the caller went away while the call was queued'));
    } else if (!this.done && this.ended === null) {
      this.instance?.callerLeft(this);
    }
  }

  /** Listens for the caller leaving while the call runs (Instance.send); finish() stops listening. */
  watchCaller(): void {
    if (this.signal === undefined || this.watching || this.signal.aborted) return;
    this.watching = true;
    this.signal.addEventListener('abort', this);
  }
}

