/**
 * The embedded limiter: buckets and minute counters in this process's memory, so one platform
 * process is exact by construction (JavaScript runs one admission at a time). Buckets refill
 * continuously: `requests / periodMs` tokens a millisecond, up to `burst`; a wall clock stepped
 * back refills from the new time on (nothing for the step, no wait for the clock to catch up).
 */
import { ADMITTED, type AdmissionLimiter, type Bucket, type LimitVerdict } from './types.js';

const MINUTE_MS = 60_000;

interface BucketState {
  tokens: number;
  at: number;
}

export class MemoryLimiter implements AdmissionLimiter {
  private readonly buckets = new Map<string, BucketState>();
  private readonly minutes = new Map<string, { minute: number; count: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  admit(workspace: string, bucket: Bucket | null, perMinute: number | null): LimitVerdict {
    const now = this.now();
    let state: BucketState | undefined;
    let tokens = 0;
    if (bucket !== null) {
      state = this.buckets.get(bucket.fn);
      // The wall clock stepped back since the bucket was last taken from: it refills from now, not
      // from when the clock is back there (a drained bucket refused every call, "retry after 1 s",
      // for the length of the step: chaos round 9). The Redis limiter's script does the same.
      if (state !== undefined && now < state.at) state.at = now;
      tokens = state === undefined ? bucket.burst : Math.min(bucket.burst, state.tokens + Math.max(0, now - state.at) * (bucket.requests / bucket.periodMs));
      if (tokens < 1) return { ok: false, reason: 'rate', retryAfterMs: Math.ceil(((1 - tokens) * bucket.periodMs) / bucket.requests), used: 0 };
    }
    if (perMinute !== null) {
      const minute = Math.floor(now / MINUTE_MS);
      let counter = this.minutes.get(workspace);
      if (counter === undefined || counter.minute !== minute) {
        counter = { minute, count: 0 };
        this.minutes.set(workspace, counter);
      }
      if (counter.count >= perMinute) return { ok: false, reason: 'quota', retryAfterMs: (minute + 1) * MINUTE_MS - now, used: counter.count };
      counter.count++;
    }
    if (bucket !== null) {
      if (state === undefined) this.buckets.set(bucket.fn, { tokens: tokens - 1, at: now });
      else {
        state.tokens = tokens - 1;
        state.at = now;
      }
    }
    return ADMITTED;
  }

  async minuteCount(workspace: string): Promise<number> {
    const counter = this.minutes.get(workspace);
    return counter !== undefined && counter.minute === Math.floor(this.now() / MINUTE_MS) ? counter.count : 0;
  }

  async close(): Promise<void> {
    this.buckets.clear();
    this.minutes.clear();
  }
}
