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
 * Now every time stored in Redis is on Redis's clock, read with `TIME` at open and every
 * SYNC_MS, and carried between reads by this process's monotonic clock (so a step of this
 * process's wall clock moves nothing). Times cross the queue's edge in the caller's own frame, its
 * wall clock (`now`): a caller's `notBefore = now() + backoff` is stored as Redis's now + backoff,
 * and a stored time is handed out as `now()` + (it − Redis's now). Two processes with skewed
 * clocks then agree on every due time and age; only a step of Redis's own clock moves them (and its
 * leases: XAUTOCLAIM measures idle time on it).
 */
import type { Redis } from 'ioredis';

/** How often Redis's clock is read again (a read that fails keeps the last one). */
export const SYNC_MS = 10_000;

export class RedisClock {
  /** Redis's time at the last read, and this process's monotonic time then. */
  private base: number;
  private mono: number;
  private timer: NodeJS.Timeout | null = null;

  private constructor(private readonly client: Redis, private readonly wall: () => number, private readonly monotonic: () => number, base: number) {
    this.base = base;
    this.mono = monotonic();
  }

  /** Reads Redis's clock once (throws when Redis does not answer), then every SYNC_MS. */
  static async open(client: Redis, wall: () => number, monotonic: () => number = () => performance.now()): Promise<RedisClock> {
    const clock = new RedisClock(client, wall, monotonic, await redisTime(client));
    clock.timer = setInterval(() => void clock.sync().catch(() => undefined), SYNC_MS);
    clock.timer.unref();
    return clock;
  }

  async sync(): Promise<void> {
    const before = this.monotonic();
    const time = await redisTime(this.client);
    const after = this.monotonic();
    // Redis read its clock somewhere in the round trip: taken as its middle.
    this.base = time;
    this.mono = (before + after) / 2;
  }

  /** Redis's time now. */
  now(): number {
    return Math.round(this.base + (this.monotonic() - this.mono));
  }

  /** A time of the caller's wall clock, on Redis's. */
  toRedis(local: number): number {
    return this.now() + (local - this.wall());
  }

  /** A time on Redis's clock, on the caller's wall clock. */
  toLocal(stored: number): number {
    return this.wall() + (stored - this.now());
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

async function redisTime(client: Redis): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
