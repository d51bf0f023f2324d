/**
 * The admission limiter port (docs/adr/0011-tenants.md, "Quotas (per workspace) and rate limits (per function)"): a function's
 * token bucket (`limits.rate`, `limits.burst`) and its workspace's calls per minute
 * (`invocationsPerMinute`), checked together for one call — both are taken or neither. Embedded:
 * in the process (./memory.ts). Production: shared in Redis (./redis.ts), taken by every process
 * in leases sized to the limits (./lease.ts, docs/adr/0022-limiter-leases.md): one round trip per
 * call for low limits (exact across processes), one per batch of up to 64 calls for high ones.
 * Chosen in platform/adapters.ts.
 */

/** A function's token bucket: `requests` per `periodMs` refill, `burst` tokens at most. */
export interface Bucket {
  /** The function key. */
  fn: string;
  requests: number;
  periodMs: number;
  burst: number;
}

export type LimitVerdict =
  | { ok: true }
  /** `rate`: the bucket is empty; `quota`: the workspace's calls of this minute are used up (`used` of them). */
  | { ok: false; reason: 'rate' | 'quota'; retryAfterMs: number; used: number };

export const ADMITTED: LimitVerdict = Object.freeze({ ok: true });

export interface AdmissionLimiter {
  /**
   * One call of a function of `workspace`: a token from `bucket` (null: no rate limit) and one of
   * the workspace's `perMinute` calls (null: no quota), atomically. Synchronous when it can be.
   */
  admit(workspace: string, bucket: Bucket | null, perMinute: number | null): LimitVerdict | Promise<LimitVerdict>;
  /** The calls admitted for `workspace` in the current minute (the contract card's use). */
  minuteCount(workspace: string): Promise<number>;
  close(): Promise<void>;
}
