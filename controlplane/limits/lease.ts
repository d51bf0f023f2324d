/**
 * Leases of a shared limiter (docs/adr/0022-limiter-leases.md): a process takes a small batch of
 * admissions (tokens of a function's bucket and calls of its workspace's minute, together) from
 * the shared state in one round trip and spends them here, synchronously, for at most
 * `windowMs`; what is left then goes back. The batch is sized from the limits so that a lease
 * never holds more than `windowMs` of the rate: a low limit (5/min, a quota of 50/min, a burst of
 * a few) leases one admission at a time and stays exact, as without leases. No I/O here: the
 * adapter (./redis.ts) gives the `LeaseSource`.
 */
import { ADMITTED, type Bucket, type LimitVerdict } from './types.js';

const MINUTE_MS = 60_000;
/** The most admissions one lease takes (beyond callers already waiting for it). */
export const MAX_LEASE = 64;
/** How long a process may hold leased admissions before it gives the rest back. */
export const LEASE_WINDOW_MS = 100;

/**
 * Admissions to take in one round trip for these limits: at most `windowMs` of the bucket's rate
 * and of the minute quota's rate, at most a quarter of the burst (so one process never takes the
 * whole bucket), at most MAX_LEASE; 1 (no lease: exact) when any of these is below 2.
 */
export function leaseSize(bucket: Bucket | null, perMinute: number | null, windowMs: number): number {
  let size = MAX_LEASE;
  if (bucket !== null) size = Math.min(size, (bucket.requests / bucket.periodMs) * windowMs, bucket.burst / 4);
  if (perMinute !== null) size = Math.min(size, (perMinute / MINUTE_MS) * windowMs);
  return size < 2 ? 1 : Math.floor(size);
}

/**
 * What the shared state answered to a take: `count` admissions (1 ≤ count ≤ want) valid for
 * `validMs` (to the end of the minute their quota calls were counted in), or a refusal, or
 * `open`: the shared state did not answer and the caller is admitted (the adapter's fail-open).
 */
export type Grant =
  | { kind: 'granted'; count: number; validMs: number; minute: number }
  | { kind: 'verdict'; verdict: LimitVerdict };

export interface LeaseSource {
  /** Up to `want` admissions of these limits, atomically from the shared state. */
  take(workspace: string, bucket: Bucket | null, perMinute: number | null, want: number): Promise<Grant>;
  /** Unspent admissions back: tokens to the bucket, calls to the minute `minute` if it is still the current one. */
  give(workspace: string, bucket: Bucket | null, perMinute: number | null, count: number, minute: number): Promise<void>;
}

/** Admissions held for one function (its bucket, with or without a quota) or one workspace (quota only). */
interface Held {
  readonly workspace: string;
  readonly bucket: Bucket | null;
  readonly perMinute: number | null;
  left: number;
  /** Local clock: spend before this. */
  until: number;
  /** The minute (of the shared clock) the held calls were counted in. */
  minute: number;
  timer: NodeJS.Timeout | null;
  /** A take in flight: it resolves to null (admissions added) or to the verdict of everyone waiting. */
  pending: Promise<LimitVerdict | null> | null;
  waiting: number;
}

const sameLimits = (held: Held, bucket: Bucket | null, perMinute: number | null): boolean =>
  held.perMinute === perMinute &&
  (held.bucket === bucket ||
    (held.bucket !== null && bucket !== null && held.bucket.requests === bucket.requests && held.bucket.periodMs === bucket.periodMs && held.bucket.burst === bucket.burst));

export interface LeaseLedgerOptions {
  windowMs?: number;
  now?: () => number;
}

/**
 * This process's leased admissions. `admit` answers synchronously while a lease lasts; callers
 * that arrive while a take is in flight wait for it (one round trip for all of them, which takes
 * at least as many admissions as are waiting), and a refusal of that take is their refusal.
 */
export class LeaseLedger {
  private readonly byFunction = new Map<string, Held>();
  private readonly byWorkspace = new Map<string, Held>();
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly source: LeaseSource, options: LeaseLedgerOptions = {}) {
    this.windowMs = options.windowMs ?? LEASE_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /** Null when these limits lease one admission at a time: the caller asks the shared state itself. */
  admit(workspace: string, bucket: Bucket | null, perMinute: number | null): LimitVerdict | Promise<LimitVerdict> | null {
    const map = bucket === null ? this.byWorkspace : this.byFunction;
    const key = bucket === null ? workspace : bucket.fn;
    let held = map.get(key);
    if (held !== undefined && !sameLimits(held, bucket, perMinute)) {
      // The limits changed: what was taken under the old ones goes back.
      map.delete(key);
      void this.expire(held, false);
      held = undefined;
    }
    if (held !== undefined && held.left > 0 && this.now() < held.until) {
      held.left--;
      return ADMITTED;
    }
    const size = leaseSize(bucket, perMinute, this.windowMs);
    if (held === undefined) {
      if (size === 1) return null;
      held = { workspace, bucket, perMinute, left: 0, until: 0, minute: -1, timer: null, pending: null, waiting: 0 };
      map.set(key, held);
    }
    return this.acquire(map, key, held, size);
  }

  /** Gives back every unspent admission (a process that stops). */
  async close(): Promise<void> {
    const all = [...this.byFunction.values(), ...this.byWorkspace.values()];
    this.byFunction.clear();
    this.byWorkspace.clear();
    await Promise.all(all.map((held) => this.expire(held, false)));
  }

  private async acquire(map: Map<string, Held>, key: string, held: Held, size: number): Promise<LimitVerdict> {
    held.waiting++;
    try {
      for (;;) {
        if (held.left > 0 && this.now() < held.until) {
          held.left--;
          return ADMITTED;
        }
        held.pending ??= this.take(held, size);
        const verdict = await held.pending;
        if (verdict !== null) return verdict;
      }
    } finally {
      held.waiting--;
      if (held.waiting === 0 && held.left === 0 && held.pending === null && map.get(key) === held) map.delete(key);
    }
  }

  private async take(held: Held, size: number): Promise<LimitVerdict | null> {
    // Expired admissions go back before new ones are taken.
    if (held.left > 0) void this.expire(held, true);
    const sent = this.now();
    let grant: Grant;
    try {
      grant = await this.source.take(held.workspace, held.bucket, held.perMinute, Math.max(size, held.waiting));
    } finally {
      held.pending = null;
    }
    if (grant.kind === 'verdict') return grant.verdict;
    held.left += grant.count;
    held.minute = grant.minute;
    // Never past the minute the calls were counted in (measured from before the take: earlier, never later).
    const validMs = held.perMinute === null ? this.windowMs : Math.min(this.windowMs, grant.validMs);
    held.until = sent + validMs;
    if (held.timer !== null) clearTimeout(held.timer);
    held.timer = setTimeout(() => void this.expire(held, true), Math.max(0, held.until - this.now()));
    held.timer.unref();
    return null;
  }

  /** Gives back what `held` has left; `forget`: drop it from its map once it is idle. */
  private async expire(held: Held, forget: boolean): Promise<void> {
    if (held.timer !== null) clearTimeout(held.timer);
    held.timer = null;
    const count = held.left;
    held.left = 0;
    if (forget && held.waiting === 0 && held.pending === null) {
      const map = held.bucket === null ? this.byWorkspace : this.byFunction;
      const key = held.bucket === null ? held.workspace : held.bucket.fn;
      if (map.get(key) === held) map.delete(key);
    }
    if (count === 0) return;
    try {
      await this.source.give(held.workspace, held.bucket, held.perMinute, count, held.perMinute === null ? -1 : held.minute);
    } catch {
      // Not given back (the shared state does not answer; the adapter logs that on its takes):
      // the limits are stricter by `count` for a moment, never looser.
    }
  }
}
