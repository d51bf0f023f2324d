/**
 * The platform's ceilings on a function's limits (FP_MAX_FUNCTION_INSTANCES, …_MEMORY_BYTES,
 * …_TIMEOUT_MS): the one rule and message, used where a deploy is refused (the control plane,
 * `INVALID_FIELD`) and where the code is checked (`POST /validate`, the console's editor, and the
 * CLI's `validate`, which, not contacting the platform, checks the defaults). The manifest schema
 * has only static bounds. docs/adr/0067-newcomer-round-5-leftovers.md.
 */
import { formatDurationMs, formatMemoryBytes } from './units.js';

export interface LimitCeilings {
  /** The highest limits.maxInstances a function may have. */
  maxFunctionInstances: number;
  /** The highest limits.memory (bytes). */
  maxFunctionMemoryBytes: number;
  /** The longest limits.timeout (ms). */
  maxFunctionTimeoutMs: number;
}

/** The platform's defaults (platform/config.ts). */
export const DEFAULT_LIMIT_CEILINGS: Readonly<LimitCeilings> = Object.freeze({
  maxFunctionInstances: 50,
  maxFunctionMemoryBytes: 4096 * 1024 * 1024,
  maxFunctionTimeoutMs: 3_600_000,
});

export interface CeilingIssue {
  /** The manifest key path. */
  field: 'limits.maxInstances' | 'limits.memory' | 'limits.timeout';
  /** The ceiling passed. */
  limit: number;
  message: string;
}

/** Every limit above its ceiling, in the manifest's order of checks (none: []). */
export function ceilingIssues(limits: { maxInstances?: number; memoryBytes?: number; timeoutMs?: number }, ceilings: LimitCeilings): CeilingIssue[] {
  const { maxFunctionInstances, maxFunctionMemoryBytes, maxFunctionTimeoutMs } = ceilings;
  const issues: CeilingIssue[] = [];
  if (limits.maxInstances !== undefined && limits.maxInstances > maxFunctionInstances) {
    issues.push({ field: 'limits.maxInstances', limit: maxFunctionInstances, message: `this platform allows at most ${maxFunctionInstances} instances per function (FP_MAX_FUNCTION_INSTANCES)` });
  }
  if (limits.memoryBytes !== undefined && limits.memoryBytes > maxFunctionMemoryBytes) {
    issues.push({ field: 'limits.memory', limit: maxFunctionMemoryBytes, message: `this platform allows at most ${formatMemoryBytes(maxFunctionMemoryBytes)} of memory per function (FP_MAX_FUNCTION_MEMORY_BYTES)` });
  }
  if (limits.timeoutMs !== undefined && limits.timeoutMs > maxFunctionTimeoutMs) {
    issues.push({ field: 'limits.timeout', limit: maxFunctionTimeoutMs, message: `this platform allows a timeout of at most ${formatDurationMs(maxFunctionTimeoutMs)} (FP_MAX_FUNCTION_TIMEOUT_MS)` });
  }
  return issues;
}
