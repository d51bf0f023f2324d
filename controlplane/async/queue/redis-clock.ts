/**
 * The production queue's clock: Redis's (ops round 4, docs/adr/0162-operator-round-4.md).
 *
 * The queue keeps wall times: a delayed job's due time (a retry's backoff), a job's enqueue time
 * (the dispatcher's max event age and its "enqueued before the function was created" check), a
 * dead letter's time. Each process wrote and compared them with its own wall clock, so two
 * processes whose clocks disagreed by D (or one whose clock was stepped by D) disagreed about them
 * by D: a process behind by an hour scheduled its retries an hour in the past, and the others ran
 * them at once (the backoff ignored: every attempt used up in a burst); a process ahead by an hour
 * held the retries it claimed for an hour; a job enqueued by a process behind by more than the max
 * event age (6 h) was dead-lettered `max_event_age` by the others without running, and one behind
 * by a few minutes made the others dead-letter its runs of a function created in those minutes
 * (`function_deleted`).
 *
 * Now every time stored in Redis is on Redis's clock. The queue keeps the offset of Redis's clock
 * from this process's wall clock, measured with `TIME` at open and every SYNC_MS (taken again only
 * when it moved by DRIFT_MS or more, so that a time handed in and read back is the same number),
 * and moved at once by a step of the wall clock (the wall clock's advance against the monotonic
 * clock's: ./clock-steps.ts), so a step of this process's clock moves nothing stored. Times cross
 * the queue's edge in the caller's own frame, its wall clock (`now`): a caller's
 * `notBefore = now() + backoff` is stored as that + the offset, and a stored time is handed out
 * less it. Two processes with skewed clocks then agree on every due time and age (to DRIFT_MS);
 * only a step of Redis's own clock moves them (and its leases: XAUTOCLAIM measures idle time on it).
 */
import type { Redis } from 'ioredis';
import { ClockSteps } from './clock-steps.js';

/** How often Redis's clock is read again (a read that fails keeps the last offset). */
export const SYNC_MS = 10_000;
/** A measured offset closer than this to the one in use is not taken (a slow round trip, rounding): the same bound as a step of the wall clock (clock-steps.ts). */
export const DRIFT_MS = 1_000;

export class RedisClock {
  /** Redis's time minus this process's wall clock, in ms. */
  private offset = 0;
  private readonly steps: ClockSteps;
  private timer: NodeJS.Timeout | null = null;

  private constructor(private readonly client: Redis, private readonly wall: () => number, monotonic: () => number) {
    this.steps = new ClockSteps(wall, monotonic);
  }

  /** Reads Redis's clock once (throws when Redis does not answer), then every SYNC_MS. */
  static async open(client: Redis, wall: () => number, monotonic: () => number = () => performance.now()): Promise<RedisClock> {
    const clock = new RedisClock(client, wall, monotonic);
    clock.offset = await clock.measure();
    clock.timer = setInterval(() => void clock.sync().catch(() => undefined), SYNC_MS);
    clock.timer.unref();
    return clock;
  }

  async sync(): Promise<void> {
    const measured = await this.measure();
    this.follow();
    if (Math.abs(measured - this.offset) >= DRIFT_MS) this.offset = measured;
  }

  /** Redis's time now. */
  now(): number {
    return this.toRedis(this.wall());
  }

  /** A time of the caller's wall clock, on Redis's. */
  toRedis(local: number): number {
    this.follow();
    return local + this.offset;
  }

  /** A time on Redis's clock, on the caller's wall clock. */
  toLocal(stored: number): number {
    this.follow();
    return stored - this.offset;
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** A step of the wall clock since the last look moves the offset the other way. */
  private follow(): void {
    this.offset -= this.steps.step();
  }

  /** Redis's time less the wall clock's, Redis's reading taken as the middle of the round trip. */
  private async measure(): Promise<number> {
    const before = this.wall();
    const [seconds, micros] = await this.client.time();
    const after = this.wall();
    return Math.round(Number(seconds) * 1000 + Number(micros) / 1000 - (before + after) / 2);
  }
}
