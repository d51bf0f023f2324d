/**
 * The pool manager's public types. The gateway (and later the control plane) talk to the pool
 * only through `PoolManager` (poolmgr/index.ts) and these types.
 */
import type { ErrorClass, ErrorCode, FunctionSpec, FunctionVersion, LogLine, WireContext, WireEvent, WireResponse } from '../protocol/index.js';

export interface InvokeOptions {
  /** Aborted when the client goes away; a queued call then leaves the queue. */
  signal?: AbortSignal;
  /** 1 for the first attempt (async retries come later). */
  attempt?: number;
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
  /** True when this call had to specialize an instance (from the pool or a fresh spawn). */
  cold: boolean;
  /** 'warm' | 'pool' (specialized a pre-spawned runtime) | 'spawn' (started a new process first). */
  start: 'warm' | 'pool' | 'spawn';
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
}

export type { FunctionSpec, FunctionVersion, WireContext, WireEvent, WireResponse, LogLine };
