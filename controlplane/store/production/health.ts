/**
 * Whether the production store answers, as its callers met it: every guarded call (./unavailable.ts)
 * reports its outcome, and /readyz lists `STORE_UNAVAILABLE` (degraded) from the first call that
 * failed so until one succeeds. With nothing calling the store (no traffic), a /readyz that finds
 * the last outcome older than `probeEveryMs` reads the store once (`probe`, one small read that
 * reaches FerretDB's PostgreSQL too), so a store that went down while idle, or came back, is seen
 * without a caller. ADR 0210 (chaos round 8: PostgreSQL behind FerretDB killed, /readyz said
 * "ready" with no problem while every API call answered 503 and run records piled up in memory).
 */
import type { ReadinessProblem } from '../../../protocol/index.js';

/** At most one probe read per this long, and only when /readyz is asked. */
export const STORE_PROBE_EVERY_MS = 5000;

export class StoreHealth {
  /** When the first failing call of the current outage failed; null while the store answers. */
  private downSince: number | null = null;
  private why = '';
  private lastOutcomeAt = 0;
  private probing = false;
  /** The read `problem` makes when nothing else called the store lately (set by the store once open). */
  probe: (() => Promise<unknown>) | null = null;

  constructor(private readonly options: { now?: () => number; probeEveryMs?: number } = {}) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** A call answered (whatever its answer: a refusal is an answer). */
  answered(): void {
    this.downSince = null;
    this.lastOutcomeAt = this.now();
  }

  /** A call failed STORE_UNAVAILABLE; `why` is its message (plain: no address, no driver words). */
  unreachable(why: string): void {
    this.downSince ??= this.now();
    this.why = why;
    this.lastOutcomeAt = this.now();
  }

  /** For /readyz (no wait): the degraded problem while the store does not answer, or null. */
  problem(): ReadinessProblem | null {
    this.maybeProbe();
    if (this.downSince === null) return null;
    const seconds = Math.max(0, Math.round((this.now() - this.downSince) / 1000));
    return {
      code: 'STORE_UNAVAILABLE',
      message: `${this.why.replace(/; try again shortly$/, '')} (for ${seconds} s): API calls answer 503 STORE_UNAVAILABLE, run records and usage wait in memory (run records up to 10 000, also in the run journal) and are written once it answers; sync and async calls are served`,
      degraded: true,
    };
  }

  private maybeProbe(): void {
    const probe = this.probe;
    if (probe === null || this.probing || this.now() - this.lastOutcomeAt < (this.options.probeEveryMs ?? STORE_PROBE_EVERY_MS)) return;
    this.probing = true;
    // Its outcome is reported by the guard it goes through; nothing else to do with it here.
    probe().catch(() => {}).finally(() => {
      this.probing = false;
    });
  }
}
