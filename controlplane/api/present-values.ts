/** Setting values as answers show them (limits and the retry policy in ms): ./present.ts and ./setting-tags.ts. */
import type { z } from 'zod';
import { DEFAULT_RETRY_POLICY } from '../async/index.js';
import type { FunctionLimits, FunctionRecord, FunctionRetry } from '../store/index.js';
import type { limitsView } from './answers.js';

/** Limits as answers show them: the numbers, and the rate limit only when there is one. */
export function limitsOf(l: FunctionLimits): z.output<typeof limitsView> {
  const out: z.output<typeof limitsView> = {
    timeoutMs: l.timeoutMs, memoryBytes: l.memoryBytes, concurrency: l.concurrency, maxInstances: l.maxInstances, minWarm: l.minWarm, maxQueue: l.maxQueue,
  };
  if (l.rate !== undefined) {
    out.rate = { requests: l.rate.requests, periodMs: l.rate.periodMs };
    out.burst = l.burst ?? l.rate.requests;
  }
  return out;
}

/** The function's retry policy in ms; the defaults for a record written before it had one. */
export function retryOf(r: FunctionRecord): FunctionRetry {
  return { ...DEFAULT_RETRY_POLICY, ...r.retry };
}

