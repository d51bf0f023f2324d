/**
 * The pool manager's public types. The gateway (and later the control plane) talk to the pool
 * only through `PoolManager` (poolmgr/index.ts) and these types.
 */
import type { Abortable, ErrorClass, ErrorCode, FunctionSpec, FunctionVersion, LogLine, WireContext, WireEvent, WireResponse } from '../protocol/index.js';

export interface InvokeOptions {
  /** Aborted when the client goes away; a queued call then leaves the queue. */
  signal?: Abortable;
  /** 1 for the first attempt (async retries come later). */
  attempt?: number;
  /** The call is a WebSocket connection (`wsopen`): its accepted response's body carries the messages both ways. */
  websocket?: boolean;
}

export interface InvocationError {
  code: ErrorCode;
  /** Present when the failure came from (or was classified as) a runtime failure class. */
  class: ErrorClass | null;
  type: string;
  message: string;
  stack?: string;
  file?: string;
  line?: number;
  /** What the caller may see about a refusal (QUOTA_EXCEEDED: the quota, its limit, its use, `retryAfterS`). */
  details?: Record<string, unknown>;
}

/** What one call produced. Never thrown: failures are in `error`, timings are always filled. */
export interface InvocationResult {
  /** True when this call had to specialize an instance (from the pool or a fresh spawn), or waited for one to be. */
  cold: boolean;
  /**
   * True for a cold call that waited for an instance another call's arrival started (a burst on a
   * function with `concurrency` > 1): it paid the start, but the start is that other call's, counted
   * once (`fp_cold_starts_total`, the usage's cold starts). False or absent otherwise.
   */
  sharedStart?: boolean;
  /**
   * 'warm' | 'pool' (specialized a pre-spawned runtime) | 'spawn' (started a new process first) |
   * 'template' (forked from the version's template, the module already imported: docs/adr/0030-function-templates.md).
   */
  start: 'warm' | 'pool' | 'spawn' | 'template';
  /** Time spent specializing (0 when warm). */
  initMs: number;
  /**
   * Time the handler ran, as measured by the runtime; for a call it never answered (crash, kill),
   * as measured by the host from the call's start; the timeout for a timed-out call; 0 if it never started.
   */
  handlerMs: number;
  /** Time waiting in the queue for a free slot. */
  queuedMs: number;
  response: WireResponse | null;
  error: InvocationError | null;
  /** Import-time lines (cold calls), then the lines streamed while it ran, then the reply's. */
  logs: LogLine[];
  instanceId: string | null;
  /**
   * `response`'s body, when the runtime streams it (docs/runtime-protocol.md, "Streamed responses");
   * `response.body` is then empty. Absent: the body is whole in `response.body`.
   */
  body?: BodyReader;
  /**
   * Present when the response came before the call ended (a streamed body, or background tasks
   * after a complete response): how the call ended. `handlerMs` and `logs` above are then the
   * ones at the response; the end's replace them. Never rejects.
   */
  after?: Promise<CallEnd>;
}

/** How a call that responded early ended. */
export interface CallEnd {
  /** Null: the app finished; else why not (its own error, a timeout, a crash). */
  error: InvocationError | null;
  /** The call's whole log (as InvocationResult.logs). */
  logs: LogLine[];
  /** From the call's start to its end (the stream and background tasks included). */
  handlerMs: number;
  /** Body bytes the runtime sent. */
  bytes: number;
}

/** What reads a streamed body: the gateway, which writes it to the client. */
export interface BodyConsumer {
  /** A piece of the body. Return false when the client's connection is backed up: nothing more
   * is delivered until `resume()`; the piece itself was taken. `data` may be reused once this
   * returns (ResponseBody.push): a consumer that keeps the bytes keeps a copy. */
  chunk(data: Uint8Array): boolean;
  /** The body is complete. */
  end(): void;
  /** The body will never be complete (the call failed or the client went away): drop the connection. */
  abort(): void;
  /** A WebSocket call's client message refused (BodyReader.message) may fit now. */
  room?(): void;
}

export interface BodyReader {
  /** The last piece arrived from the runtime. */
  readonly done: boolean;
  /** Starts delivery to `consumer` (once); pieces that arrived before are delivered at once. */
  pipe(consumer: BodyConsumer): void;
  /** Delivery goes on after a `chunk` returned false. */
  resume(): void;
  /** The client's connection took `bytes` of the body: the runtime may send as many more. */
  ack(bytes: number): void;
  /** The client went away (or the server will not send the body): the app sees `http.disconnect`. */
  cancel(): void;
  /**
   * A WebSocket call's client message to its app (kind byte and payload: docs/runtime-protocol.md,
   * "WebSockets"). False, and not sent, when the app has not taken a window of them yet
   * (WS_INBOUND_WINDOW_BYTES, WS_INBOUND_WINDOW_MESSAGES) or its instance's share is full (ADR
   * 0194): the consumer's `room` says when to try again; `force` sends it anyway (the client's close).
   */
  message(data: Uint8Array, force?: boolean): boolean;
}

export interface PoolStats {
  /** Generic runtimes ready to specialize. */
  generic: number;
  /** Generic runtimes being spawned. */
  spawning: number;
  specializing: number;
  warm: number;
  busy: number;
  queued: number;
  /** Keyed by `name@version`. */
  functions: Record<string, FunctionStats>;
  /**
   * Scale-to-zero events by function name since the pool started (monotonic): the idle reaper
   * stopped the last instance of the function's serving version (not a drain on deploy or pause).
   */
  scaledToZero: Record<string, number>;
}

export interface FunctionStats {
  name: string;
  version: string;
  specializing: number;
  warm: number;
  busy: number;
  queued: number;
  /** The version's template (docs/adr/0030-function-templates.md): starting, ready to fork, or none. */
  template: 'starting' | 'ready' | null;
}

export type { FunctionSpec, FunctionVersion, WireContext, WireEvent, WireResponse, LogLine };
