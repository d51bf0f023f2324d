/**
 * Whether runtimes start now (chaos round 3): with the host out of pids, every start failed
 * (`spawn … EAGAIN`) and every call that needed a new instance answered 503 RUNTIME_UNAVAILABLE,
 * while /readyz said `ready`. A streak of failed starts with none started since is told there
 * (degraded: warm instances still serve) until a runtime says hello again.
 */

/** Starts that must fail in a row before the pool says runtimes cannot start (one may be the function's own bad luck). */
export const FAILED_STARTS_TOLD = 3;

export interface StartsFailing {
  /** Unix ms of the first failed start of the streak. */
  since: number;
  /** Failed starts in a row. */
  failures: number;
}

export class StartStreak {
  private failures = 0;
  private firstAt = 0;

  /** A runtime said hello: the streak, if any, is over. */
  started(): void {
    this.failures = 0;
  }

  /** A runtime ended, or could not be made, before its hello. */
  failed(now = Date.now()): void {
    if (this.failures === 0) this.firstAt = now;
    this.failures++;
  }

  /** The streak, once FAILED_STARTS_TOLD starts failed in a row; null while runtimes start. */
  get failing(): StartsFailing | null {
    return this.failures >= FAILED_STARTS_TOLD ? { since: this.firstAt, failures: this.failures } : null;
  }
}
