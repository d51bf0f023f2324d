/**
 * Steps of the wall clock, seen by the embedded queue (reliability round 9). The queue keeps wall
 * times (a job's `not_before`, a lease's end, an idempotency key's expiry): a clock stepped back
 * an hour (NTP correcting a clock that ran ahead, `date -s`) held every retry and delayed job
 * scheduled before the step for that hour, and a lease of a process that died with it; a step
 * forward past the lease (30 s) ran every attempt in flight a second time at once. The queue now
 * moves its stored times by each step it sees, so a retry due in 1 s is still due in 1 s. A step
 * is the wall clock's advance minus the monotonic clock's since the last look. Each queue object
 * looks for itself: the state lock keeps one platform process (one queue) per async.db; two
 * processes sharing the file would each move its times by the same step.
 */

/** Smaller differences are not steps (NTP slews; reading the two clocks is not atomic). */
export const CLOCK_STEP_MS = 1_000;

export class ClockSteps {
  private wall: number;
  private mono: number;

  constructor(private readonly now: () => number, private readonly monotonic: () => number) {
    this.wall = now();
    this.mono = monotonic();
  }

  /** The wall clock's step since the last look, in ms (positive: forward); 0 under CLOCK_STEP_MS. */
  step(): number {
    const wall = this.now();
    const mono = this.monotonic();
    const step = wall - this.wall - (mono - this.mono);
    this.wall = wall;
    this.mono = mono;
    return Math.abs(step) >= CLOCK_STEP_MS ? Math.round(step) : 0;
  }

  /** A step that could not be applied (the file was locked): the next look sees it again. */
  unseen(step: number): void {
    this.wall -= step;
  }
}
