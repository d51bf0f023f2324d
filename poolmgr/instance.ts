/**
 * An instance: one runtime process bound to one function version for the rest of its life.
 * It specializes its process, runs calls on it (correlating replies by message id), enforces
 * the per-call timeout, and turns every way a process can fail into errors on the calls it held.
 * Capacity decisions (who gets a slot, what happens next) belong to the pool, its owner.
 *
 * Invariants:
 * - `inflight` counts taken slots: calls waiting for the specialization plus calls sent.
 * - The runtime starts calls in the order they were sent, at most `concurrency` at a time, so
 *   the first `concurrency` calls of `order` are the running ones; the others are pipelined
 *   (sent, not started: docs/adr/0005-pipelined-dispatch.md). A call's timeout is armed when it
 *   starts, and a call that never started is handed back to the pool if the process dies.
 * - Once `gone`, the instance takes no call, holds no call, and the owner has been told once.
 * - A process whose specialization failed or timed out is killed, never reused.
 */
import { boundedLogLines, declaredLength, formatMemoryBytes, LogBudget, shownMessageType, isOutOfFiles, isPlatformError, OUT_OF_FILES_MESSAGE, STREAM_WINDOW_BYTES, WS_INBOUND_MEMORY_DIVISOR, WS_INBOUND_WINDOW_BYTES, type LogLine, type RuntimeMessage, type WireContext, type WireEvent, type WireResponse } from '../protocol/index.js';
import type { Call, StartKind } from './call.js';
import { CallTable } from './call-table.js';
import { CLIENT_PACED_MIN_TIMEOUT_MS } from './crash-budget.js';
import type { FunctionGroup } from './group.js';
import { fromCause, fromWireError, hostError } from './outcome.js';
import { ResponseBody, type BodyChannel } from './response-body.js';
import { describeExit, type KillCause, type ProcessExit, type ProcessListener, type RuntimeProcess } from './runtime-process.js';
import type { InvocationError } from './types.js';

export type InstanceState = 'starting' | 'ready' | 'dead';

/** What the pool learns from an instance. */
export interface InstanceOwner {
  /** A call finished and the instance (not gone) has a free slot. */
  slotFreed(inst: Instance): void;
  /** The instance is gone: failed to start, crashed, killed or retired. Called once. */
  instanceGone(inst: Instance): void;
  /** Calls sent to an instance that died before they started: lease them again, first in line. */
  requeue(calls: Call[]): void;
  /** The instance takes no more calls (a call on it timed out while others run); it goes once they end. */
  stopRouting(inst: Instance): void;
  /** The instance loaded its function (`forked`: it was forked from the version's template instead) in `initMs`. */
  specialized(inst: Instance, initMs: number, forked: boolean, notForkable: string | null): void;
}

export interface InstanceTimings {
  initTimeoutMs: number;
  shutdownGraceMs: number;
  /** CLIENT_PACED_MIN_TIMEOUT_MS unless set (PoolConfig). */
  clientPacedMinTimeoutMs?: number;
}

const SHUTDOWN_CAUSE: KillCause = { code: 'SHUTTING_DOWN', class: null, type: 'Shutdown', message: 'the instance was shut down' };
const TIMED_OUT_CAUSE: KillCause = { code: 'RUNTIME_CRASHED', class: 'crash', type: 'Killed', message: 'the runtime process was killed because another call on it timed out' };

// One reusable invoke message: encodeFrame packs synchronously, so no call ever sees another's fields.
const CONTEXT: WireContext = { requestId: '', timeoutMs: 0, attempt: 1 };
const INVOKE: { t: 'invoke'; id: number; event: WireEvent | null; context: WireContext } = {
  t: 'invoke', id: 0, event: null, context: CONTEXT,
};

/**
 * How often a call may go back to the pool because its runtime died before it was given the
 * function. A zygote that dies takes every runtime it forked at once (the pool's ready ones and the
 * ones still booting), so a call can meet several dead runtimes in a row before the restarted zygote
 * forks a live one (with 2, a call failed so once in a full suite run: zygotes.test.ts,
 * "killing the zygote during refills").
 */
const MAX_RESPAWNS = 4;
/**
 * Frames an honest runtime never sends (a reply for no running call, a `health` nobody asked for, a
 * log batch with no line or with lines the host dropped, an empty chunk that ends nothing) that a
 * live instance may send before it is killed (RUNTIME_PROTOCOL_ERROR). User code can write frames
 * on the runtime's socket, and every frame costs the host's one event loop a decode: a flood of
 * small ones (~500 000 a second) made every other function's calls wait (docs/security.md, "The
 * runtime's channel"). A few are let through: a frame can race a call's end.
 */
const MAX_UNASKED_FRAMES = 16;

/** How a load ended (Instance.watchLoad). */
export type LoadOutcome =
  /** `notForkable`: why the version can have no template (the runtime's words, at most 1000 characters). */
  | { ok: true; initMs: number; logs: readonly LogLine[]; notForkable: string | null }
  /** `ran`: the function was given to the runtime (else the runtime died before: nothing of it ran). */
  | { ok: false; initMs: number; logs: readonly LogLine[]; error: InvocationError; ran: boolean };

let instanceSeq = 0;
const NO_BYTES = new Uint8Array(0);

export class Instance implements ProcessListener {
  private readonly seq = ++instanceSeq;
  private knownId: string | null = null;
  state: InstanceState = 'starting';
  inflight = 0;
  /** performance.now() of the last finished call (or of readiness). */
  lastUsed = 0;
  /** Set by drain(): finishes the calls it holds, takes no more, then shuts down. */
  draining = false;
  /**
   * Set when it ends: the error it ended with, when the function's doing ended it (it was given the
   * function, and the platform did not shut it down: an exit, a signal, the OOM killer, a timeout
   * kill, a failed load). Counted in the start budget after crashes (poolmgr/crash-budget.ts).
   */
  crashedWith: InvocationError | null = null;
  /** The call's error that ends it, when one does (a fatal error, a timeout): what `crashedWith` names instead of the kill. */
  private endedFor: InvocationError | null = null;
  /**
   * Its runtime is killed for a call's timeout reached while that call's streamed body was still
   * going out: the pace was its client's (a reader that stopped, an event stream read to its
   * deadline), so it spends no start budget after crashes: any caller could otherwise mark a public
   * function crash-looping (red team round 29; ADR 0158). Only under a timeout of at least
   * CLIENT_PACED_MIN_TIMEOUT_MS: a function streaming a piece and hanging under a short one churned
   * boxes with no budget (red team round 30; ADR 0167).
   */
  private endedAtClientsPace = false;
  /** A call timed out here while others ran: it drains as above, and is killed (not shut down) at the end. */
  private condemned = false;
  private gone = false;
  /** Sent calls not yet ended, by message id (not a Map: ./call-table.ts says why). */
  private readonly running = new CallTable<Call>();
  /** Calls sent and not finished, in send order; the first `concurrency` of them are running. */
  private readonly order: Call[] = [];
  private waiting: Call[] = [];
  private specializeId = -1;
  /** performance.now() when the specialize frame was queued. */
  private specializeSentAt = 0;
  private initTimer: NodeJS.Timeout | undefined;
  /** The lines the load streamed so far (loadLogs), and their budget, until it ends. */
  private loadStreamed: LogLine[] | null = null;
  private loadBudget: LogBudget | null = null;
  /** Unix ms when this instance was made: no line of its load is stamped before it (cleanLogLine). */
  private readonly madeAt = Date.now();
  /** loadEnded ran: the calls have the load's lines. */
  private loadReported = false;
  /** The load's lines as loadEnded gave them to the calls (for a start check's report). */
  private endedLines: readonly LogLine[] = [];
  /** A start check waiting for the load's end (watchLoad). */
  private loadWatcher: ((outcome: LoadOutcome) => void) | null = null;
  /**
   * One timer for the handler timeouts of every call running here, instead of one per call
   * (issue 11: a Timeout made and cleared per call). Armed when a call starts and none is armed;
   * when it fires it times out a call past its deadline, or re-arms for the earliest one still
   * running, or stops. A call that ends leaves it armed: it fires at most once per timeout.
   */
  private callTimer: NodeJS.Timeout | undefined;
  /** Refused forks and thread starts seen so far (cgroup pids.events), to attribute new ones to a call. */
  private tasksLimitHits = 0;
  /** Frames of the kinds MAX_UNASKED_FRAMES counts, so far. */
  private unasked = 0;

  constructor(
    readonly group: FunctionGroup,
    /** 'template' once its runtime says it was forked from the version's template (docs/adr/0030-function-templates.md). */
    public kind: Exclude<StartKind, 'warm'>,
    private readonly proc: RuntimeProcess,
    private readonly owner: InstanceOwner,
    private readonly timings: InstanceTimings,
  ) {
    proc.listener = this;
    // A pool process already said hello; a fresh one specializes once it does.
    proc.ready.then(() => this.specialize(), () => {});
  }

  /** `i<n>-p<pid>`: the host pid of its runtime (a forked runtime's keeper says its pid just after the fork). */
  get id(): string {
    if (this.knownId !== null) return this.knownId;
    const id = `i${this.seq}-p${this.proc.pid}`;
    if (this.proc.pid !== 0) this.knownId = id;
    return id;
  }

  /**
   * Every call it holds has answered in full and only finishes (a `yield` dependency's teardown, a
   * background task): its slot frees soon. docs/adr/0045-finishing-calls.md.
   */
  get finishing(): boolean {
    if (this.state !== 'ready' || this.draining || this.inflight === 0 || this.inflight !== this.running.size) return false;
    for (const call of this.running.values()) if (!call.answered) return false;
    return true;
  }

  /**
   * Calls may wait here beyond its slots (pipelined): not while it holds a WebSocket connection, which
   * may hold its slot for the function's whole timeout (docs/adr/0126-websockets.md).
   */
  get pipelinable(): boolean {
    for (const call of this.order) if (call.websocket) return false;
    return true;
  }

  /** performance.now() when its longest-running call began (Infinity: none running). */
  get busySince(): number {
    const first = this.order[0];
    return first !== undefined && first.started ? first.startedAt : Infinity;
  }

  /** Takes a slot for `call` and waits for the specialization to run it. */
  join(call: Call): void {
    this.inflight++;
    call.start = this.kind;
    call.cold = true;
    call.instance = this;
    // Once the specialize frame is out, the invoke goes right behind it: the runtime reads both
    // in one wake-up and a cold start costs one round trip, not two.
    if (this.specializeId >= 0) this.send(call);
    else this.waiting.push(call);
  }

  /** Takes a slot for `call` on this ready instance and sends it (maybe pipelined). The warm hot path. */
  run(call: Call): void {
    this.inflight++;
    this.send(call);
  }

  /** Shuts an idle instance down gracefully (reaped or drained); a condemned one is killed. */
  retire(): void {
    if (this.gone) return;
    if (this.condemned) {
      this.discard(TIMED_OUT_CAUSE);
      return;
    }
    this.markGone(fromCause(SHUTDOWN_CAUSE));
    void this.proc.shutdown(this.timings.shutdownGraceMs, SHUTDOWN_CAUSE);
  }

  /** Kills the process now; every call it holds fails with `cause`. */
  discard(cause: KillCause): void {
    if (this.gone) return;
    this.markGone(fromCause(cause));
    this.proc.kill(cause);
  }

  /**
   * Its function was paused or deleted (Pool.endConnections): the WebSocket calls it holds fail with
   * `error` now (the gateway closes each 1001) and the runtime is told each caller left (`cancel`);
   * the instance, draining, shuts down once nothing else runs on it.
   */
  endConnections(error: InvocationError): void {
    if (this.gone) return;
    for (const call of [...this.running.values()]) {
      if (!call.websocket) continue;
      this.running.delete(call.msgId);
      this.forget(call, false); // its slot in the runtime stays taken until the app sees the cancel
      this.proc.send({ t: 'cancel', id: call.msgId });
      this.inflight--;
      call.finish(null, error, [], performance.now() - call.startedAt);
    }
    if (this.draining && this.inflight === 0 && this.state === 'ready') this.retire();
  }

  /**
   * The caller of a running call went away before its answer: the runtime is told, as it is told
   * when a streamed body's client leaves (`cancel`); an ASGI app then sees `http.disconnect`.
   */
  callerLeft(call: Call): void {
    if (!this.gone && this.running.get(call.msgId) === call) this.proc.send({ t: 'cancel', id: call.msgId });
  }

  /**
   * Called by the call timer (checkTimeouts): the call fails with FUNCTION_TIMEOUT and the process,
   * where its handler may still run, is killed: at once when nothing else runs there, else once
   * the calls running beside it have ended (each within its own timeout), taking no new ones
   * meanwhile, unless calls are pipelined behind them. Before, those calls failed with it
   * (RUNTIME_CRASHED): one slow call of a `concurrency: 4` function cost three others their
   * answers (helper round, 2026-12-05).
   */
  timedOut(call: Call, timeoutMs: number): void {
    if (!this.running.delete(call.msgId)) return;
    this.forget(call, false); // its slot in the runtime stays taken by the handler: nothing behind it starts
    this.inflight--;
    // Others that began (the first concurrency - 1 of those left; the timed-out call held a slot).
    // Calls pipelined behind them would wait for the slot its handler still holds: then it goes
    // now, as before, and they are handed to another instance, never having started.
    const left = this.order.length;
    const others = left > 0 && left <= this.group.limits.concurrency - 1 && this.state === 'ready';
    // A process stopped from outside (SIGSTOP, a tracer) ran none of the call meanwhile: said, not
    // left to read as the function's slowness (chaos round 4, ADR 0233). The code stays: part of
    // the call may have run, and a retry runs it again as after any timeout.
    const stalled = this.proc.stalled();
    const error = hostError('FUNCTION_TIMEOUT', 'timeout', 'Timeout',
      `the function did not finish within ${timeoutMs} ms${stalled === null ? '' : ` (${stalled} when the time ran out: not the function's doing)`}; its runtime process ${others ? 'is killed once the calls running beside it end' : 'was killed'}`);
    this.endedFor = error;
    this.endedAtClientsPace = call.body !== null && !call.body.done && timeoutMs >= (this.timings.clientPacedMinTimeoutMs ?? CLIENT_PACED_MIN_TIMEOUT_MS);
    call.finish(null, error, [], timeoutMs);
    if (!others) {
      this.discard(TIMED_OUT_CAUSE);
      return;
    }
    if (this.condemned) return;
    this.condemned = true;
    this.draining = true;
    this.owner.stopRouting(this);
  }

  onMessage(_proc: RuntimeProcess, msg: RuntimeMessage): void {
    switch (msg.t) {
      case 'result': {
        const call = this.running.get(msg.id);
        if (call === undefined) return this.unaskedFrame(msg.t); // a reply to a call that already ended (a timeout raced it) or never was
        this.running.delete(msg.id);
        this.forget(call);
        if (!validResponse(msg.response) || call.responded) {
          this.protocolViolation(call, 'the runtime sent a result without a valid response');
          return;
        }
        const response = msg.response;
        // An ASGI app that raised answers with its own 500 and reports the exception beside it.
        const appError = typeof msg.error === 'object' && msg.error !== null ? this.classify(fromWireError(msg.error, this.group.mask)) : null;
        this.complete(call, response, appError, msg.logs, msg.handlerMs);
        return;
      }
      case 'error': {
        if (msg.id === this.specializeId) {
          this.initFailed(fromWireError(msg.error, this.group.mask), msg.logs);
          return;
        }
        const call = this.running.get(msg.id);
        if (call === undefined) return this.unaskedFrame(msg.t);
        this.running.delete(msg.id);
        this.forget(call, msg.fatal !== true); // after a fatal error the runtime exits: nothing else starts
        if (msg.fatal !== true) {
          this.complete(call, null, this.classify(fromWireError(msg.error, this.group.mask)), msg.logs, msg.handlerMs);
          return;
        }
        // The runtime exits after a fatal error: discard first, so no queued call is handed to it.
        this.inflight--;
        const error = this.classify(fromWireError(msg.error, this.group.mask));
        this.endedFor = error;
        this.discard({ code: 'RUNTIME_CRASHED', class: 'crash', type: 'RuntimeExiting',
          message: 'the runtime process ended after a fatal error in another call' });
        call.finish(null, error, msg.logs, handlerMsOf(msg.handlerMs, call));
        return;
      }
      case 'logs': {
        if (msg.id === this.specializeId && this.state === 'starting') {
          this.loadLogs(msg.logs);
          return;
        }
        // Lines of a running call; a batch for a call that already ended (a reply raced it) is dropped.
        const call = this.running.get(msg.id);
        if (call === undefined || !call.addLogs(msg.logs)) this.unaskedFrame(msg.t);
        return;
      }
      case 'response':
      case 'chunk':
      case 'end':
        this.onStreamed(msg);
        return;
      case 'wsack': {
        // The app of a WebSocket call took its client's messages: more may go (ResponseBody.message).
        const call = this.running.get(msg.id);
        if (call === undefined || call.body === null) return this.unaskedFrame(msg.t); // ended meanwhile
        if (!call.body.taken(msg.bytes)) this.breach(call, 'the runtime acknowledged more WebSocket bytes than it was sent');
        else this.inboundFreed();
        return;
      }
      case 'specialized':
        if (msg.id === this.specializeId && this.state === 'starting') {
          this.becomeReady(msg.logs, msg.initMs, msg.forked === true, typeof msg.notForkable === 'string' ? msg.notForkable.slice(0, 1000) : null);
        }
        else this.unaskedFrame(msg.t);
        return;
      case 'health': // the host never asks for one
        this.unaskedFrame(msg.t);
        return;
      default:
        this.discard({ code: 'RUNTIME_PROTOCOL_ERROR', class: 'protocol_error', type: 'ProtocolError',
          message: `the runtime sent an unknown message type ${shownMessageType((msg as { t: unknown }).t)}` });
    }
  }

  /**
   * A response that goes out before its call ends (docs/runtime-protocol.md, "Streamed responses"):
   * the head (`response`), the body's pieces (`chunk`, within the window), the call's end (`end`).
   */
  private onStreamed(msg: Extract<RuntimeMessage, { t: 'response' | 'chunk' | 'end' }>): void {
    const call = this.running.get(msg.id);
    if (call === undefined) return this.unaskedFrame(msg.t); // the call already ended (a timeout raced it), or never was
    if (msg.t === 'response') {
      const response = msg.response;
      if (call.responded || !validResponse(response) || response.body.byteLength > STREAM_WINDOW_BYTES) {
        this.breach(call, 'the runtime sent an invalid or second response for a call');
        return;
      }
      if (msg.more !== true) {
        call.respond(response, null);
        return;
      }
      // The first bytes go through the body too, so its consumer sees one sequence of pieces.
      const body = new ResponseBody(new CallChannel(this, this.proc, msg.id), call.websocket ? undefined : declaredLength(response.headers));
      body.push(response.body, true);
      call.respond({ status: response.status, headers: response.headers, body: NO_BYTES, ...(response.latin1 === true ? { latin1: true } : {}) }, body);
      return;
    }
    if (msg.t === 'chunk') {
      if (call.body === null || !(msg.body instanceof Uint8Array)) {
        this.breach(call, 'the runtime sent a body chunk for a call without a streamed response');
      } else if (msg.body.byteLength === 0 && msg.more !== false) {
        this.unaskedFrame('an empty chunk'); // ends nothing: the runtime never sends one
      } else if (!call.body.push(msg.body, msg.more !== false)) {
        this.breach(call, `the runtime sent more than ${STREAM_WINDOW_BYTES} unacknowledged body bytes`);
      }
      return;
    }
    if (!call.responded) {
      this.breach(call, "the runtime ended a call that sent no response with 'end'");
      return;
    }
    this.running.delete(msg.id);
    this.forget(call);
    this.complete(call, null, null, msg.logs, msg.handlerMs);
  }

  /** A frame an honest runtime never sends: past MAX_UNASKED_FRAMES of them the process is killed. */
  private unaskedFrame(what: string): void {
    if (this.gone || ++this.unasked <= MAX_UNASKED_FRAMES) return;
    this.discard({ code: 'RUNTIME_PROTOCOL_ERROR', class: 'protocol_error', type: 'ProtocolError',
      message: `the runtime sent more than ${MAX_UNASKED_FRAMES} frames nobody asked for (the last: ${shownMessageType(what)})` });
  }

  /** A running call's runtime broke the protocol: the call fails and the process is killed. */
  private breach(call: Call, message: string): void {
    this.running.delete(call.msgId);
    this.forget(call, false);
    this.protocolViolation(call, message);
  }

  onExit(_proc: RuntimeProcess, exit: ProcessExit): void {
    if (this.gone) return;
    // A runtime that died before it was given the function (a spawn that failed, a zygote killed
    // mid-fork): nothing of the function ran, so the calls waiting for it try another runtime.
    this.markGone(this.deathError(exit), !this.given());
  }

  private specialize(): void {
    if (this.gone) return;
    const spec = this.group.spec;
    let box;
    try {
      box = this.proc.place(this.group.placement());
    } catch (err) {
      // The function cannot be boxed here (its code is outside the code roots, no uid left): never run it unboxed.
      // Out of file descriptors (reliability round 5: 500 INTERNAL_ERROR naming the uid claim's path): retryable, said plainly.
      const outOfFiles = !isPlatformError(err) && isOutOfFiles(err);
      const code = isPlatformError(err) ? err.code : outOfFiles ? 'RUNTIME_UNAVAILABLE' : 'INTERNAL_ERROR';
      this.discard({ code, class: null, type: 'PlacementFailed', message: outOfFiles ? OUT_OF_FILES_MESSAGE : (err as Error).message });
      return;
    }
    this.specializeId = this.proc.nextId();
    this.specializeSentAt = performance.now();
    const initLimitMs = this.initLimitMs();
    this.proc.send(box === null ? { t: 'specialize', id: this.specializeId, fn: spec, initLimitMs } : { t: 'specialize', id: this.specializeId, fn: spec, box, initLimitMs });
    this.initTimer = setTimeout(onInitTimeout, initLimitMs, this);
    const waiting = this.waiting;
    this.waiting = [];
    for (const call of waiting) this.send(call);
    // Written now, with the calls behind it, not at the end of this turn of the event loop: the
    // batching that pays off for warm calls would add the rest of the turn (0.15-0.8 ms measured)
    // to every cold start.
    this.proc.flush();
  }

  /**
   * How long its specialization may take: the platform's init timeout, or the function's own
   * timeout when that is longer (an ASGI lifespan startup that loads a model or warms a cache runs
   * here; uvicorn waits for any startup).
   */
  private initLimitMs(): number {
    return Math.max(this.timings.initTimeoutMs, this.group.limits.timeoutMs);
  }

  /** @internal the specialization timer fired. */
  initTimedOut(): void {
    if (this.state !== 'starting') return;
    if (!this.given()) {
      // It said its early hello and never `settled`: it hung in its own set-up (an at-fork hook, a
      // step of its box) and read nothing of the function. Not the function's failure: its calls
      // go to another runtime, as when such a runtime dies (reliability round 8; before, they failed
      // FUNCTION_INIT_FAILED "the function did not load", and a deploy's start check with them).
      const cause: KillCause = { code: 'RUNTIME_UNAVAILABLE', class: null, type: 'SpawnFailed', message: `the runtime did not set itself up within ${this.initLimitMs()} ms (it said hello, then nothing)` };
      this.markGone(fromCause(cause), true);
      this.proc.kill(cause);
      return;
    }
    const stalled = this.proc.stalled();
    if (stalled !== null) {
      // Its process was stopped (SIGSTOP, a tracer), not loading: the platform's fault, said so and
      // retryable, not FUNCTION_INIT_FAILED blaming the function's code (chaos round 4, ADR 0233).
      // Its calls fail rather than try another runtime: a function can stop itself, and each retry
      // would hold another runtime for the whole limit.
      this.loadEnded(null);
      this.discard({ code: 'RUNTIME_UNAVAILABLE', class: null, type: 'RuntimeStalled',
        message: `the runtime stopped answering while it loaded the function (${stalled}): the platform's doing, not the function's; try again` });
      return;
    }
    const said = this.loadEnded(null).some((line) => line.msg.startsWith('[platform] still loading after'));
    const message = `the function did not load within ${this.initLimitMs()} ms`
      + (said ? '; its log says where its load was shortly before' : '');
    this.discard({ code: 'FUNCTION_INIT_FAILED', class: 'init_error', type: 'InitTimeout', message });
  }

  /**
   * A batch of the load's lines, streamed while it runs (runtime/fp_runtime/loadwatch.py): kept for
   * the calls behind it, so a load that hangs or dies still shows what it printed. Taken through
   * one call's budget as they arrive (the runtime is untrusted: what it sends past the budget is
   * counted, never held); a batch an honest runtime would not send counts as unasked.
   */
  private loadLogs(raw: unknown): void {
    const budget = this.loadBudget ??= new LogBudget(undefined, this.madeAt, this.group.mask);
    const dropped = budget.dropped;
    const lines = budget.take(raw, false);
    for (const line of lines) (this.loadStreamed ??= []).push(line);
    if (lines.length === 0 || budget.dropped !== dropped) this.unaskedFrame('logs');
  }

  /** The load's lines: those streamed, then `rest` (its reply's), within one call's budget. */
  private loadLines(rest: unknown): LogLine[] {
    const budget = this.loadBudget;
    if (budget === null) return boundedLogLines(rest, this.madeAt, undefined, this.group.mask);
    const lines = (this.loadStreamed ?? []).concat(budget.take(rest, true));
    const notice = budget.notice();
    if (notice !== null) lines.push(notice);
    this.loadBudget = null;
    this.loadStreamed = null;
    return lines;
  }

  /** The load failed, timed out or its runtime died: every call behind it gets its init time and lines (once). */
  private loadEnded(rest: unknown): readonly LogLine[] {
    if (this.loadReported) return [];
    this.loadReported = true;
    const initLogs = this.loadLines(rest);
    this.endedLines = initLogs;
    const now = performance.now();
    for (const call of [...this.waiting, ...this.order]) {
      call.initMs = now - call.at;
      call.initLogs = initLogs;
    }
    return initLogs;
  }

  private becomeReady(logs: unknown, initMs: unknown, forked: boolean, notForkable: string | null): void {
    clearTimeout(this.initTimer);
    const now = performance.now();
    if (forked) this.kind = 'template';
    this.state = 'ready';
    this.lastUsed = now;
    // The calls sent behind the specialize frame (the first `concurrency` of them) started as soon
    // as the function had loaded, before its `specialized` reached us: their clock starts at the
    // frame's send plus the runtime's own load time (never later than now), not a reply's trip later.
    const loadMs = typeof initMs === 'number' && Number.isFinite(initMs) && initMs >= 0 ? initMs : null;
    const started = loadMs !== null ? Math.min(now, this.specializeSentAt + loadMs) : now;
    // The runtime's report is untrusted (user code can write frames): lines cleaned, within a budget of their own.
    const initLogs = this.loadLines(logs);
    const concurrency = this.group.limits.concurrency;
    for (let i = 0; i < this.order.length; i++) {
      const call = this.order[i]!;
      call.initMs = now - call.at;
      call.start = this.kind;
      // The load's lines, and the cold start itself, go with the call that started the instance,
      // once: copied into every call that waited for it, one lifespan's "startup complete" read as
      // 40 startups (helper round), and a burst of 8 calls on one instance as 8 cold starts.
      if (i === 0 && initLogs.length > 0) call.initLogs = initLogs;
      else if (i > 0) {
        call.initLogs = [];
        call.sharedStart = true;
      }
      if (i < concurrency) {
        call.sentAt = started;
        this.begin(call, started);
      }
    }
    this.owner.specialized(this, loadMs ?? 0, forked, notForkable);
    this.loadWatcher?.({ ok: true, initMs: loadMs ?? now - this.specializeSentAt, logs: initLogs, notForkable });
    this.loadWatcher = null;
  }

  /** How its load ends: ready (with its time and lines), or failed and gone (with the error and lines). */
  watchLoad(): Promise<LoadOutcome> {
    return new Promise((resolve) => {
      const earlier = this.loadWatcher;
      this.loadWatcher = (outcome) => {
        earlier?.(outcome);
        resolve(outcome);
      };
    });
  }

  private initFailed(error: InvocationError, logs: unknown): void {
    this.loadEnded(logs);
    if (this.gone) return;
    // The calls carry the runtime's own report (type, stack, file, line); the process is killed.
    this.markGone(error);
    this.proc.kill({ code: error.code, class: error.class, type: error.type, message: error.message });
  }

  private send(call: Call): void {
    const id = this.proc.nextId();
    const timeoutMs = this.group.limits.timeoutMs;
    call.msgId = id;
    call.instance = this;
    call.sentAt = performance.now();
    this.running.add(call);
    this.order.push(call);
    call.watchCaller();
    INVOKE.id = id;
    INVOKE.event = call.event;
    CONTEXT.requestId = call.event.requestId;
    CONTEXT.timeoutMs = timeoutMs;
    CONTEXT.attempt = call.attempt;
    if (call.websocket) this.proc.send({ t: 'wsopen', id, event: call.event, context: { ...CONTEXT } });
    else this.proc.send(INVOKE as { t: 'invoke'; id: number; event: WireEvent; context: WireContext });
    INVOKE.event = null;
    // If the process is already dying, send() wrote nothing and onExit will fail the call.
    if (this.state === 'ready' && this.order.length <= this.group.limits.concurrency) this.begin(call, call.sentAt);
  }

  /** The runtime starts `call` now (by its FIFO rule): its wait ends and its timeout starts. */
  private begin(call: Call, now: number): void {
    call.started = true;
    call.startedAt = now;
    call.queuedMs += now - call.sentAt;
    const timeoutMs = this.group.limits.timeoutMs;
    call.timeoutMs = timeoutMs;
    if (timeoutMs > 0 && this.callTimer === undefined) this.armCallTimer(timeoutMs);
  }

  /**
   * Not holding the process: while a call runs, its runtime's socket does; an idle instance's timer
   * left armed by its last call must not keep a stopping process up until it fires.
   */
  private armCallTimer(ms: number): void {
    this.callTimer = setTimeout(onCallTimers, ms, this);
    this.callTimer.unref();
  }

  /** @internal the call timer fired: a call past its timeout fails (and the process with it), else the timer re-arms or stops. */
  checkTimeouts(): void {
    this.callTimer = undefined;
    if (this.gone) return;
    const now = performance.now();
    let next = Infinity;
    for (const call of this.running.values()) {
      if (!call.started || call.done || call.timeoutMs <= 0) continue;
      const deadline = call.startedAt + call.timeoutMs;
      if (deadline <= now) {
        // The process is killed at once, or once the calls beside it have ended: each of those still
        // within its own timeout, so the timer goes on for them. It stopped here, and a call beside
        // a timed-out one ran on with no deadline (a stream or a WebSocket 25 s under a 4 s timeout,
        // recorded `succeeded`: oddfn round 2).
        this.timedOut(call, call.timeoutMs);
        if (this.gone) return;
        continue;
      }
      if (deadline < next) next = deadline;
    }
    if (next !== Infinity) this.armCallTimer(Math.max(1, Math.ceil(next - now)));
  }

  /** A sent call ended: the first pipelined call behind the running ones starts (unless told not to). */
  private forget(call: Call, startNext = true): void {
    const order = this.order;
    const at = order.indexOf(call);
    if (at < 0) return;
    // Usually the oldest (replies come about in order): `shift`, not a `splice` that makes an array of what it removed.
    if (at === 0) order.shift();
    else order.splice(at, 1);
    if (call.websocket && call.body !== null) this.inboundFreed(); // what its app had not taken is gone with it
    const concurrency = this.group.limits.concurrency;
    if (startNext && at < concurrency && order.length >= concurrency) this.begin(order[concurrency - 1]!, performance.now());
  }

  private complete(call: Call, response: WireResponse | null, error: InvocationError | null,
    logs: unknown, handlerMs: number | undefined): void {
    this.inflight--;
    this.lastUsed = performance.now();
    call.finish(response, error, logs, handlerMsOf(handlerMs, call));
    if (!this.gone) this.owner.slotFreed(this);
  }

  private protocolViolation(call: Call, message: string): void {
    this.inflight--;
    call.fail(hostError('RUNTIME_PROTOCOL_ERROR', 'protocol_error', 'ProtocolError', message));
    this.discard({ code: 'RUNTIME_PROTOCOL_ERROR', class: 'protocol_error', type: 'ProtocolError', message });
  }

  /** Fails every call held with `error`, then tells the owner, once. */
  private markGone(error: InvocationError, respawnWaiting = false): void {
    // Calls behind a specialization that never finished fail with it, unless the runtime died
    // before it was given the function (`respawnWaiting`: before the specialize was sent, or before
    // the runtime said `settled`): those go back to the pool, at most MAX_RESPAWNS times each. On a ready instance, calls that never started go back too.
    const wasReady = this.state === 'ready';
    // Ended while loading (it died: os._exit at import, the OOM killer; or broke the protocol):
    // what the load printed stays with the calls, with their init time.
    if (this.state === 'starting' && this.specializeId >= 0) this.loadEnded(null);
    if (this.state === 'starting') {
      const ran = this.given();
      this.loadWatcher?.({ ok: false, error, ran, initMs: ran ? performance.now() - this.specializeSentAt : 0, logs: [...this.endedLines] });
      this.loadWatcher = null;
    }
    // Decided on the host's own error (a runtime's report may name any code), named by the call's.
    // A frame refused because other workspaces' frames filled the platform's bound is not its doing
    // (its own workspace's share had room): it spends no start budget (ADR 0166).
    if (error.code !== 'SHUTTING_DOWN' && this.given() && !byOthersFrames(error) && !this.endedAtClientsPace) this.crashedWith = this.endedFor ?? error;
    this.gone = true;
    this.state = 'dead';
    clearTimeout(this.initTimer);
    clearTimeout(this.callTimer);
    this.callTimer = undefined;
    const waiting = this.waiting;
    this.waiting = [];
    const respawned: Call[] = [];
    for (const call of waiting) {
      if (respawnWaiting && call.respawns < MAX_RESPAWNS) {
        call.respawns++;
        respawned.push(call);
      } else {
        call.fail(error);
      }
    }
    // Pipelined calls never started: they go back to the pool instead of failing.
    const unstarted: Call[] = [];
    for (const call of this.order) if (wasReady && !call.started && !call.done) unstarted.push(call);
    for (const call of this.running.values()) {
      // Sent behind the specialize to a runtime that died before it read a message (an early hello,
      // no `settled`): never read, so they go back to the pool like the calls that waited.
      if (respawnWaiting && !wasReady && call.respawns < MAX_RESPAWNS) {
        call.respawns++;
        respawned.push(call);
      } else if (call.started || !wasReady) call.fail(error);
    }
    this.running.clear();
    this.order.length = 0;
    this.inflight = 0;
    this.owner.instanceGone(this);
    if (unstarted.length > 0 || respawned.length > 0) this.owner.requeue([...respawned, ...unstarted]);
  }

  /**
   * Names the limit behind a failure: an out-of-memory report says which limit, and a call that
   * failed while the box refused forks or threads at its task limit is FUNCTION_PROCESS_LIMIT;
   * refused while the box never reached its limit, the platform's total was (every workspace's
   * boxes together): PLATFORM_PROCESS_LIMIT, with no class, the platform's failure, not the
   * function's (red team of 2026-12-05, second round; docs/adr/0088-workspace-task-share.md).
   */
  private classify(error: InvocationError): InvocationError {
    if (error.code === 'FUNCTION_OUT_OF_MEMORY') return { ...error, message: this.memoryMessage(error.message) };
    if (error.code !== 'FUNCTION_ERROR') return error;
    const stats = this.proc.stats();
    if (stats.tasksLimitHits <= this.tasksLimitHits) return error;
    this.tasksLimitHits = stats.tasksLimitHits;
    if (stats.tasksPeak !== null && stats.tasksLimit !== null && stats.tasksPeak < stats.tasksLimit) {
      return {
        ...error, code: 'PLATFORM_PROCESS_LIMIT', class: null,
        message: `the platform's processes and threads, all functions together, were at their total: a fork or thread start was refused while the function had at most ${stats.tasksPeak} of its ${stats.tasksLimit}: ${error.message}`,
      };
    }
    return {
      ...error, code: 'FUNCTION_PROCESS_LIMIT', class: 'process_limit',
      message: `the function reached its limit of ${stats.tasksLimit ?? '?'} processes and threads (a fork or thread start was refused): ${error.message}`,
    };
  }

  /** The runtime's socket took client messages that waited in this process for it (RuntimeProcess.wsinBacklog). */
  onWsinWritten(): void {
    this.inboundFreed();
  }

  /** Client messages were taken, went with their call, or left this process for the runtime: the connections waiting for room may send. */
  private inboundFreed(): void {
    for (const call of this.running.values()) call.body?.roomMade();
  }

  /**
   * Whether `cost` more bytes of WebSocket client messages fit what this instance's apps have not
   * taken, all its connections together: a share of its memory limit (WS_INBOUND_MEMORY_DIVISOR,
   * at least one window), beyond one message when none waits (ADR 0194). A connection holding
   * `own` may also fill its part of that share (the share over `concurrency`) whatever the others
   * hold (ADR 0197): connections whose app took nothing filled the share, and another connection's
   * message waited with its app ready until the 1008 (red team round 32). At most twice the share.
   */
  inboundRoom(cost: number, own: number): boolean {
    let held = 0;
    for (const call of this.running.values()) held += call.body?.inboundBytes ?? 0;
    const memory = this.group.spec.memoryBytes;
    const limit = memory > 0 ? Math.max(WS_INBOUND_WINDOW_BYTES, memory / WS_INBOUND_MEMORY_DIVISOR) : Infinity;
    return held === 0 || held + cost <= limit || own + cost <= limit / Math.max(1, this.group.limits.concurrency);
  }

  private memoryMessage(detail: string): string {
    const limit = this.group.spec.memoryBytes;
    const head = limit > 0 ? `the function exceeded its memory limit of ${formatMemoryBytes(limit)}` : 'the function ran out of memory';
    return detail === '' ? head : `${head}: ${detail}`;
  }

  /**
   * The runtime was given the function: its specialize was sent and the runtime reads its messages
   * (settled). A runtime that says hello before it set itself up (ADR 0127) and dies in between
   * read nothing of the function: its calls try another runtime.
   */
  private given(): boolean {
    return this.specializeId >= 0 && this.proc.settled;
  }

  private deathError(exit: ProcessExit): InvocationError {
    // The kernel's OOM kill is the truth even when the pool saw the socket close first and named
    // it a lost connection (a busy machine may report the exit late).
    if (exit.oomKilled && (exit.cause === null || exit.cause.type === 'ConnectionLost')) {
      return hostError('FUNCTION_OUT_OF_MEMORY', 'out_of_memory', 'OutOfMemory', `${this.memoryMessage('')}; the kernel stopped it`);
    }
    if (exit.cause !== null) return fromCause(exit.cause);
    const how = describeExit(exit);
    if (this.state === 'ready') {
      return hostError('RUNTIME_CRASHED', 'crash', 'RuntimeExited', `the runtime process died during the call (${how})${crashCause(exit)}`);
    }
    if (!this.given()) {
      // Nothing of the function ran: what it wrote is the platform's (a box that could not be built).
      const last = this.proc.lastLine();
      return hostError('RUNTIME_UNAVAILABLE', null, 'SpawnFailed', `the runtime exited before it was given the function (${how})${last === '' ? '' : `: ${last}`}`);
    }
    return hostError('FUNCTION_INIT_FAILED', 'init_error', 'RuntimeExited', `the runtime exited while loading the function (${how})`);
  }
}

function validResponse(response: WireResponse | undefined): response is WireResponse {
  return typeof response === 'object' && response !== null && typeof response.status === 'number'
    && Array.isArray(response.headers) && response.body instanceof Uint8Array;
}

/** Where a streamed body's `ack`s and `cancel` go: its call's runtime. */
class CallChannel implements BodyChannel {
  constructor(private readonly inst: Instance, private readonly proc: RuntimeProcess, private readonly id: number) {}

  ack(bytes: number): void {
    this.proc.send({ t: 'ack', id: this.id, bytes });
  }

  cancel(): void {
    this.proc.send({ t: 'cancel', id: this.id });
  }

  message(body: Uint8Array): void {
    this.proc.send({ t: 'wsin', id: this.id, body });
  }

  backlog(): number {
    return this.proc.wsinBacklog;
  }

  instanceRoom(cost: number, own: number): boolean {
    return this.inst.inboundRoom(cost, own);
  }
}

/**
 * The handler time the runtime says, kept between 0 and the time the host saw the call run: the
 * function's code writes it (`time.perf_counter` replaced: `handler -1e+303 ms` in `runs <id>` and
 * its usage; red team round 44).
 */
function handlerMsOf(handlerMs: number | undefined, call: Call): number {
  if (typeof handlerMs !== 'number' || !Number.isFinite(handlerMs)) return 0;
  return Math.min(Math.max(handlerMs, 0), call.started ? performance.now() - call.startedAt : 0);
}

function onCallTimers(inst: Instance): void {
  inst.checkTimeouts();
}

function onInitTimeout(inst: Instance): void {
  inst.initTimedOut();
}

/**
 * What most likely ended a process that died during a call on its own (docs/errors.md,
 * RUNTIME_CRASHED): the runtime never exits by itself while a call runs, so an exit status is the
 * function's code ending the process (`os._exit`), and a crash signal is native code. Said in the
 * message because the component (`runtime`) read as the platform's fault to a newcomer.
 */
export function crashCause(exit: Pick<ProcessExit, 'exitCode' | 'signal'>): string {
  if (exit.signal === null && exit.exitCode !== null) return `: the function's code most likely ended its process (os._exit(${exit.exitCode}), or a library that exits)`;
  // A thread the function starts has a 1 MiB stack under a memory limit, and native code that
  // needs more (numpy's linalg.inv in a ThreadPoolExecutor worker) dies of SIGSEGV where uvicorn's
  // 8 MiB threads run it (apps round 8; docs/adr/0107-call-thread-stacks.md).
  if (exit.signal === 'SIGSEGV') return ': a crash in native code (a C extension or a library it loads), or a thread\'s stack too small for it (threads the function starts have 1 MiB: threading.stack_size(8 * 1024 * 1024) before starting them gives uvicorn\'s 8 MiB)';
  if (exit.signal === 'SIGBUS' || exit.signal === 'SIGILL' || exit.signal === 'SIGABRT' || exit.signal === 'SIGFPE') return ': a crash in native code (a C extension or a library it loads), or os.abort()';
  // A timer the function set with no handler for its signal (signal.alarm(5) as a timeout guard,
  // the handler forgotten or set on another thread): the default action ends the process, as it
  // would under uvicorn; the bare signal name read as the platform's fault (oddfn round).
  if (exit.signal === 'SIGALRM' || exit.signal === 'SIGVTALRM' || exit.signal === 'SIGPROF') {
    return `: a timer the function's code set (signal.alarm() or signal.setitimer()) went off with no handler for ${exit.signal}, whose default action ends the process; set one first with signal.signal(signal.${exit.signal}, handler), on the main thread (a sync handler with concurrency 1 or an async one)`;
  }
  if (exit.signal === 'SIGTERM' || exit.signal === 'SIGHUP' || exit.signal === 'SIGUSR1' || exit.signal === 'SIGUSR2' || exit.signal === 'SIGQUIT') {
    return `: the function's code most likely sent it (os.kill(os.getpid(), signal.${exit.signal}), or a library that signals its process), with no handler for it: its default action ends the process`;
  }
  return '';
}

/** Killed for a frame the platform's bound refused while its workspace's share had room (FrameJoins: other workspaces' frames). */
function byOthersFrames(error: InvocationError): boolean {
  return error.type === 'FramesOverBudget' && error.details?.['bound'] === 'platform';
}
