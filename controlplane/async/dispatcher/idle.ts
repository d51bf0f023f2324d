/**
 * How a dispatcher's idle workers wait (docs/dispatcher.md, "Claiming"): one of them polls the
 * queue every poll interval for all of them, the others park until work shows up. A worker that
 * finds a job wakes one parked worker (there may be more jobs); `wake()` (a run this process just
 * accepted) ends the poll at once. So an idle dispatcher claims once per interval, not once per
 * worker, and a run accepted here starts without waiting for the next poll.
 */
export class IdleWorkers {
  private polling = false;
  private readonly parked: (() => void)[] = [];
  /** Ends the current poll's wait early; null when nobody polls. */
  private endPoll: (() => void) | null = null;

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.wakeAll(), { once: true });
  }

  /** An idle worker waits: `ms` if it is the poller, else until a job is found, wake() or stop. */
  async wait(ms: number): Promise<void> {
    if (this.signal.aborted) return;
    if (this.polling) {
      await new Promise<void>((resolve) => this.parked.push(resolve));
      return;
    }
    this.polling = true;
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.endPoll?.(), ms);
        this.endPoll = () => {
          clearTimeout(timer);
          this.endPoll = null;
          resolve();
        };
      });
    } finally {
      this.polling = false;
    }
  }

  /** A worker found a job: one parked worker claims too. */
  found(): void {
    this.parked.shift()?.();
  }

  /** Work may be waiting: the poller claims now, and one parked worker with it. */
  wake(): void {
    this.endPoll?.();
    this.found();
  }

  private wakeAll(): void {
    this.endPoll?.();
    for (const resolve of this.parked.splice(0)) resolve();
  }
}
