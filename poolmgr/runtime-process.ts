/**
 * One Python runtime and its frame channel, started by a RuntimeHost (host/types.ts).
 * It knows the wire, not the pool: it waits for `hello`, writes one frame per message, hands every
 * later message to its listener, and reports its death exactly once, with the cause when the pool
 * killed it on purpose (timeout, protocol error, shutdown) or the exit code/signal otherwise.
 */
import type { Duplex } from 'node:stream';
import {
  encodeFrame, encodeInvokeFrame, FrameDecoder, FrameOverBudget, MAX_FRAME_BYTES, MAX_FRAME_ITEMS, PlatformError, PROTOCOL_VERSION, shownMessageType, WS_MESSAGE_COST_BYTES,
  type BoxSpec, type ErrorClass, type ErrorCode, type HostMessage, type RuntimeMessage, workspaceOfKey,
} from '../protocol/index.js';
import type { FrameJoins } from './frame-joins.js';
import type { HostedRuntime, Placement, RuntimeExit, RuntimeHost, RuntimeStats, SpawnHint } from './host/types.js';
import { readShared } from './shared-reads.js';

/** Why the host ended a process; callers turn it into the error of every call still on it. */
export interface KillCause {
  code: ErrorCode;
  class: ErrorClass | null;
  type: string;
  message: string;
  /** What the caller may see about it (FramesOverBudget: `bound`, whose frames filled it). */
  details?: Record<string, unknown>;
}

export interface ProcessExit extends RuntimeExit {
  /** Set when the pool killed or shut the process down; null for a death of its own. */
  cause: KillCause | null;
}

/** Receives a process's messages after `hello`, and its death. */
export interface ProcessListener {
  /**
   * A `chunk`'s body may be a view of a read buffer that is reused once this returns
   * (FrameDecoder.feed): a listener that keeps it keeps a copy.
   */
  onMessage(proc: RuntimeProcess, msg: RuntimeMessage): void;
  onExit(proc: RuntimeProcess, exit: ProcessExit): void;
  /** The kernel took a batch of WebSocket client messages (`wsinBacklog` is lower): a message refused for it may go now. */
  onWsinWritten?(proc: RuntimeProcess): void;
}

/** After the process exits, how long to wait for the socket to deliver its last frames (and, by default, the reverse). */
const SOCKET_DRAIN_MS = 100;

export class RuntimeProcess {
  /** Resolves at `hello`; rejects with a RUNTIME_UNAVAILABLE PlatformError. Always handled. */
  readonly ready: Promise<void>;
  /** Resolves once the process is gone and its death has been reported. */
  readonly exited: Promise<void>;
  listener: ProcessListener | null = null;
  /** False once the process is dying: nothing more is written to it. */
  alive = true;

  private readonly rt: HostedRuntime;
  private readonly socket: Duplex;
  private readonly decoder: FrameDecoder;
  /**
   * The workspace its frames count in (FrameJoins): once placed, or from its spawn when it is
   * spawned for a function. An instance forked from a template runs the function's code (the
   * template's import replaced the runtime's own functions) before it is placed: a frame it began
   * then counted in no workspace's share, for as long as it was held (red team round 15).
   */
  private workspace: string | null;
  private helloSeen = false;
  /** The hello came before the runtime set itself up (ADR 0127): `settled` says when it has. */
  private earlyHello = false;
  private settledSeen = false;
  /** A frame could not be decoded or broke the protocol: the process is being killed and nothing more it sends is read. */
  private refused = false;
  private socketClosed = false;
  private exit: RuntimeExit = { exitCode: null, signal: null, oomKilled: false };
  private exitSeen = false;
  private finished = false;
  private cause: KillCause | null = null;
  private lastId = 0;
  private timer: NodeJS.Timeout | undefined;
  private settleReady: [() => void, (err: Error) => void] | null = null;
  private settleExited: (() => void) | null = null;

  constructor(private readonly host: RuntimeHost, spawnTimeoutMs: number, private readonly registry: Set<RuntimeProcess>, hint?: SpawnHint,
    joins?: FrameJoins, workspace?: string) {
    this.workspace = workspace ?? null;
    this.decoder = new FrameDecoder(MAX_FRAME_BYTES, MAX_FRAME_ITEMS, joins?.account(() => this.workspace) ?? null);
    this.ready = new Promise<void>((resolve, reject) => { this.settleReady = [resolve, reject]; });
    this.ready.catch(() => {}); // the rejection is read by whoever awaits `ready`; never unhandled
    this.exited = new Promise<void>((resolve) => { this.settleExited = resolve; });
    this.rt = host.spawn({ onExit: (exit) => this.onChildExit(exit) }, hint);
    this.socket = host.connect(this.rt);
    registry.add(this);
    // One buffer reused for every read (poolmgr/shared-reads.ts); else Node's buffer per read, as 'data'.
    if (!readShared(this.socket, (bytes) => this.onBytes(bytes))) this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => this.onSocketClosed());
    this.socket.on('close', () => this.onSocketClosed());
    this.timer = setTimeout(() => {
      this.kill(unavailable(`the runtime did not say hello within ${spawnTimeoutMs} ms`));
    }, spawnTimeoutMs);
  }

  /**
   * The runtime said hello and set itself up: it reads its messages, so a death from now on may be
   * the function's (its load). False after an `early` hello until `settled` (reliability round 6:
   * a runtime killed between the two failed its calls FUNCTION_INIT_FAILED, none of the function run).
   */
  get settled(): boolean {
    return this.helloSeen && (!this.earlyHello || this.settledSeen);
  }

  /** The last line the process wrote on stderr or stdout (an exception's line, for messages), or ''. */
  lastLine(): string {
    return this.lastLines(1)[0] ?? '';
  }

  /** The last `n` lines of its output (stderr or stdout), each trimmed and at most 500 characters. */
  private lastLines(n: number): string[] {
    const text = this.host.lastOutput(this.rt).trim();
    return text === '' ? [] : text.split('\n').slice(-n).map((line) => line.trim().slice(0, 500));
  }

  /** The host pid of the runtime (a runtime forked by a zygote learns it just after the fork: 0 before). */
  get pid(): number {
    return this.rt.pid;
  }

  /** The host's handle of this runtime (a template's is passed back to the host to fork from it). */
  get hosted(): HostedRuntime {
    return this.rt;
  }

  /** The box for `fn` (null when the host does not sandbox); see RuntimeHost.place. */
  place(fn: Placement): BoxSpec | null {
    this.workspace = workspaceOfKey(fn.name);
    return this.host.place(this.rt, fn);
  }

  /** The runtime's resource use (cgroups), for classifying failures. */
  stats(): RuntimeStats {
    return this.host.stats(this.rt);
  }

  /** Why it cannot answer through no fault of its function's (stopped), or null (RuntimeHost.stalled). */
  stalled(): string | null {
    return this.host.stalled?.(this.rt) ?? null;
  }

  /** Files its box's processes hold, open or mapped (poolmgr/file-table.ts); null when its host cannot tell. */
  async heldFiles(): Promise<number | null> {
    return await this.host.heldFiles?.(this.rt) ?? null;
  }

  /** The inodes of the sockets its box's processes hold (poolmgr/platform-connections.ts); empty when its host cannot tell. */
  socketInodes(): string[] {
    return this.host.socketInodes?.(this.rt) ?? [];
  }

  /** The uid its box's processes run as when no other function's do (root mode); null otherwise. */
  boxUid(): number | null {
    return this.host.boxUid?.(this.rt) ?? null;
  }

  private pending: Buffer[] = [];
  /** What the `wsin` frames in `pending` count (their bodies and WS_MESSAGE_COST_BYTES each). */
  private pendingWsin = 0;
  /**
   * What the `wsin` frames written and not yet taken by the kernel count (as `pendingWsin`): a
   * runtime that reads nothing leaves them in this process, whatever it acknowledges (wsack).
   */
  private unwrittenWsin = 0;

  /** What the `wsin` frames not yet handed to the runtime's socket count (ResponseBody.message bounds it). */
  get wsinBacklog(): number {
    return this.pendingWsin + this.unwrittenWsin;
  }

  /** A fresh message id, unique for this process. */
  nextId(): number {
    return ++this.lastId;
  }

  /**
   * Queues one frame; every frame queued during one turn of the event loop goes out in a single
   * write (setImmediate runs right after the poll phase that produced them). Under load this turns
   * N pipelined calls into one syscall here and one read in the runtime. Returns false (and
   * writes nothing) when the process is dying.
   */
  send(msg: HostMessage): boolean {
    if (!this.alive) return false;
    if (this.pending.length === 0) setImmediate(flushFrames, this);
    if (msg.t === 'invoke') {
      // The one message of every call: written by hand (protocol/invoke-frame.ts), a large body not copied.
      for (const part of encodeInvokeFrame(msg.id, msg.event, msg.context)) this.pending.push(part);
    } else {
      if (msg.t === 'wsin') this.pendingWsin += msg.body.byteLength + WS_MESSAGE_COST_BYTES;
      this.pending.push(encodeFrame(msg));
    }
    return true;
  }

  /** Writes the frames queued by send() now (a cold start's specialize: poolmgr/instance.ts); else they go at the end of the turn. */
  flush(): void {
    const frames = this.pending;
    if (frames.length === 0) return;
    this.pending = [];
    const wsin = this.pendingWsin;
    this.pendingWsin = 0;
    if (!this.alive) return;
    // A batch with client messages says when the kernel took it (its last frame's callback: in order).
    // A message refused for this backlog waits for it to drain, not for the next one an app takes: an
    // app waiting for its client's message behind another connection's batch held it to the 1008 (red32).
    const written = wsin === 0 ? undefined : (): void => {
      this.unwrittenWsin -= wsin;
      this.listener?.onWsinWritten?.(this);
    };
    this.unwrittenWsin += wsin;
    if (frames.length === 1) {
      this.socket.write(frames[0]!, written);
      return;
    }
    // One writev of the frames as they are (corked), rather than a copy of them all into one buffer.
    this.socket.cork();
    const last = frames.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(frames[i]!);
    this.socket.write(frames[last]!, written);
    this.socket.uncork();
  }

  /** A dropped template: the host ends it once the instances forked from it are gone (RuntimeHost.retireTemplate). */
  retireTemplate(): void {
    this.host.retireTemplate?.(this.rt);
  }

  /**
   * Ends the process now with SIGKILL; the first cause given is the one reported. A protocol
   * error also ends what it says: nothing after the violation is read, not even the rest of the
   * same read (a result written behind it is not delivered).
   */
  kill(cause: KillCause): void {
    if (cause.class === 'protocol_error') this.refused = true;
    this.cause ??= cause;
    this.alive = false;
    if (!this.exitSeen) this.host.signal(this.rt, 'SIGKILL');
  }

  /** Why the platform ended it (the first cause given to kill() or shutdown()); null: it was not ended by the platform. */
  get endedBy(): KillCause | null {
    return this.cause;
  }

  /** Asks the runtime to exit, then SIGKILLs it after `graceMs`. Resolves when it is gone. */
  shutdown(graceMs: number, cause: KillCause): Promise<void> {
    if (this.finished || this.exitSeen) return this.exited;
    if (this.alive) {
      this.send({ t: 'shutdown', id: this.nextId() });
      this.flush();
    }
    this.cause ??= cause;
    this.alive = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.host.signal(this.rt, 'SIGKILL'), graceMs);
    return this.exited;
  }

  /** A read in the shared buffer (valid until this returns): its messages as they are decoded. */
  private onBytes(bytes: Buffer): void {
    if (this.finished || this.refused) return;
    try {
      this.decoder.feed(bytes, this.onFrame);
    } catch (err) {
      this.refuse(err);
    }
  }

  /** A read of Node's own (a socket that could not be read into the shared buffer). */
  private onData(chunk: Buffer): void {
    if (this.refused) return;
    let messages: unknown[];
    try {
      messages = this.decoder.push(chunk);
    } catch (err) {
      this.refuse(err);
      return;
    }
    for (const msg of messages) this.onFrame(msg);
  }

  /** A frame the decoder could not read: nothing after it can be (its length is unknown or false). */
  private refuse(err: unknown): void {
    this.refused = true;
    if (err instanceof FrameOverBudget) {
      // `details.bound`: 'platform' when other workspaces' frames filled the bound (not counted in
      // the start budget after crashes: docs/adr/0166-frames-refused-for-others-are-no-crash.md).
      this.kill({ code: 'GATEWAY_OVERLOADED', class: null, type: 'FramesOverBudget', message: err.message, details: { bound: err.bound === 'platform' ? 'platform' : 'workspace' } });
      return;
    }
    this.kill(protocolError(`malformed frame from the runtime: ${(err as Error).message}`));
  }

  private readonly onFrame = (msg: unknown): void => {
    if (this.finished || this.refused) return;
    if (typeof msg !== 'object' || msg === null || typeof (msg as { t?: unknown }).t !== 'string') {
      this.kill(protocolError('the runtime sent a message without a type'));
      return;
    }
    const m = msg as RuntimeMessage;
    if (m.t === 'hello') this.onHello(m);
    else if (!this.helloSeen) this.kill(protocolError(`the runtime sent ${shownMessageType(m.t)} before 'hello'`));
    else if (m.t === 'settled') this.settledSeen = true;
    else if (this.listener !== null) this.listener.onMessage(this, m);
  };

  private onHello(m: Extract<RuntimeMessage, { t: 'hello' }>): void {
    if (this.helloSeen) return;
    if (m.v !== PROTOCOL_VERSION) {
      this.kill(unavailable(`the runtime speaks protocol v${String(m.v)}, the host v${PROTOCOL_VERSION}`));
      return;
    }
    this.helloSeen = true;
    this.earlyHello = m.early === true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.settleReady?.[0]();
    this.settleReady = null;
  }

  private onSocketClosed(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    if (this.exitSeen) {
      this.finish();
      return;
    }
    // Usually the exit follows at once (a remote host: within its exitReportMs) and names the code
    // or signal; if not, the process is killed.
    this.alive = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.kill({ code: 'RUNTIME_CRASHED', class: 'crash', type: 'ConnectionLost', message: 'the runtime closed its connection' });
    }, this.host.exitReportMs ?? SOCKET_DRAIN_MS);
  }

  private onChildExit(exit: RuntimeExit): void {
    this.exitSeen = true;
    this.exit = exit;
    this.alive = false;
    if (this.socketClosed) this.finish();
    else {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.finish(), SOCKET_DRAIN_MS);
    }
  }

  /** Reports the death once: rejects `ready` if still pending, tells the listener, resolves `exited`. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.alive = false;
    clearTimeout(this.timer);
    this.registry.delete(this);
    this.decoder.close();
    this.socket.destroy();
    this.host.destroy(this.rt);
    const exit: ProcessExit = { ...this.exit, cause: this.cause };
    if (this.settleReady !== null) {
      const output = this.lastLines(3).join(' | ');
      const why = this.cause?.message ?? `the runtime exited before saying hello (${describeExit(exit)})${output === '' ? '' : `: ${output}`}`;
      this.settleReady[1](new PlatformError('RUNTIME_UNAVAILABLE', why));
      this.settleReady = null;
    }
    this.listener?.onExit(this, exit);
    this.settleExited?.();
  }
}

/** "exit code 3" / "signal SIGKILL", for messages. */
export function describeExit(exit: Pick<ProcessExit, 'exitCode' | 'signal' | 'reason'>): string {
  const how = exit.signal !== null ? `signal ${exit.signal}` : exit.exitCode === null ? 'unknown exit status' : `exit code ${exit.exitCode}`;
  return exit.reason === undefined ? how : `${how}; ${exit.reason}`;
}

function unavailable(message: string): KillCause {
  return { code: 'RUNTIME_UNAVAILABLE', class: null, type: 'SpawnFailed', message };
}

function protocolError(message: string): KillCause {
  return { code: 'RUNTIME_PROTOCOL_ERROR', class: 'protocol_error', type: 'ProtocolError', message };
}

function flushFrames(proc: RuntimeProcess): void {
  proc.flush();
}
