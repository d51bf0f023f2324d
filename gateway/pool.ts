/**
 * The gateway's view of the pool manager: the verbs it uses and its isolation report. `PoolManager` (poolmgr/index.ts)
 * satisfies it structurally; tests of the gateway use the real PoolManager too.
 */
import type { FunctionVersion, InvocationResult, InvokeOptions, Isolation, PoolStats, StartHealth } from '../poolmgr/index.js';
import type { WireEvent } from '../protocol/index.js';

export type { FunctionStats, FunctionVersion, InvocationError, InvocationResult, InvokeOptions, PoolStats, StartHealth } from '../poolmgr/index.js';

export interface InvocationPool {
  /** Never rejects: failures come back in `result.error` with a registry code. */
  invoke(fn: FunctionVersion, event: WireEvent, opts?: InvokeOptions): Promise<InvocationResult>;
  stats(): PoolStats;
  /** How the pool isolates functions (shown by /readyz; mode 'off' is flagged there). */
  readonly isolation: Isolation;
  /**
   * Ends every call still running or waiting, now, with SHUTTING_DOWN (their runtimes are killed):
   * the gateway's grace is over. Each call's caller gets an answer and a run record.
   */
  abortCalls?(): void;
  /** How starting runtimes goes: failures so far and each zygote's state (null: not told). */
  startHealth?(): StartHealth | null;
}
