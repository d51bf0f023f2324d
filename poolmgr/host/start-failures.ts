/**
 * The operator's line for runtimes that could not start (reliability round 8). A runtime that
 * ended before it took a function (out of pids, a box that could not be built, an interpreter that
 * cannot start) used to show only in callers' RUNTIME_UNAVAILABLE errors, and its cause (the
 * runtime's last stderr line) only with FP_DEBUG. Now the first failure of each cause is logged at
 * once, and the failures of that cause after it are counted and logged as one line per
 * WINDOW_MS while they go on: a host out of pids writes a line a minute, not one per cold start.
 *
 * The cause is the host's own text: nothing of a function runs before it is placed, so the last
 * line of a runtime that was never placed is the platform's (escaped, bounded all the same).
 */
import { escapeControls } from '../../protocol/index.js';

const WINDOW_MS = 60_000;
/** Causes counted at once; past it, failures count under "other causes". */
const MAX_CAUSES = 16;
const MAX_CAUSE_CHARS = 300;

interface Pending {
  count: number;
  since: number;
}

export class StartFailures {
  /** Causes seen in the current window: how many failures since the line that logged them. */
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  /** Failures noted since the host started (stats, tests). */
  total = 0;

  constructor(private readonly log: (line: string) => void, private readonly windowMs = WINDOW_MS) {}

  /** One runtime that ended before it took a function: `tail` its last output, `exit` how it ended. */
  note(tail: string, exit: string): void {
    this.total++;
    let cause = lastLine(tail) || 'no output';
    if (!this.pending.has(cause) && this.pending.size >= MAX_CAUSES) cause = 'other causes';
    const seen = this.pending.get(cause);
    if (seen !== undefined) {
      seen.count++;
      return;
    }
    this.pending.set(cause, { count: 0, since: Date.now() });
    this.log(`process host: a runtime could not start (${exit}): ${cause}`);
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), this.windowMs);
    this.timer.unref();
  }

  /** One line per cause that failed again in the window; a cause that did not is forgotten. */
  private flush(): void {
    this.timer = undefined;
    for (const [cause, seen] of [...this.pending]) {
      if (seen.count === 0) {
        this.pending.delete(cause);
        continue;
      }
      const secs = Math.max(1, Math.round((Date.now() - seen.since) / 1000));
      this.log(`process host: ${seen.count} more runtime${seen.count === 1 ? '' : 's'} could not start in the last ${secs} s: ${cause}`);
      seen.count = 0;
      seen.since = Date.now();
    }
    if (this.pending.size > 0) this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The last non-empty line of `text` ('' when none), escaped and bounded. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return escapeControls(lines[lines.length - 1] ?? '').slice(0, MAX_CAUSE_CHARS);
}
