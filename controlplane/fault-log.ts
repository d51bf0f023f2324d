/**
 * The operator's log for faults that repeat: one line per kind of fault per interval, with a count.
 * Loops that meet a store or queue fault once per item (the dispatcher once per run and per lease,
 * the cron scheduler once per trigger and per tick, the metrics once per scrape) wrote a line each:
 * a Redis out of memory for a minute made ~50 lines a minute for 30 runs (reliability round 10),
 * and a cron trigger every second one line a second per trigger, which buried the one line that
 * said what was wrong (ops round 4, docs/adr/0162-operator-round-4.md).
 *
 * The first line of a kind is written at once, as before. The same kind again within `intervalMs`
 * is counted, not written; at the end of the interval one line says how many came and names a
 * few of the items they concerned (runs, triggers). While the fault lasts that is one line per
 * interval; once it stops, its kind is forgotten and its next occurrence is written at once.
 * `close` writes what is counted and not yet told.
 */
import { redisRefusal } from './async/index.js';
import type { SinkTarget } from './store/index.js';
import { redisOffline } from './store/production/redis-words.js';

export interface FaultLogOptions {
  /** Default 60 s. */
  intervalMs?: number;
}

/** Items named in a summary line; the rest are only counted. */
const NAMED = 5;
/** Kinds counted at once; past it (a message that varies per item), faults count under OTHER. */
const MAX_KINDS = 32;
const OTHER = 'other repeated faults';

interface Counted {
  /** Occurrences since the last line of this kind. */
  count: number;
  subjects: Set<string>;
  /** A subject came that the line cannot name (past NAMED). */
  unnamed: boolean;
  /** When this interval began (Date.now). */
  since: number;
  timer: NodeJS.Timeout;
}

export class FaultLog {
  private readonly intervalMs: number;
  private readonly kinds = new Map<string, Counted>();

  constructor(private readonly log: (line: string) => void, options: FaultLogOptions = {}) {
    this.intervalMs = options.intervalMs ?? 60_000;
  }

  /**
   * A fault of `kind` (the same words for the same fault: no run id, no time) met while handling
   * `subject` (a run id, a trigger; may be empty). `line` is what the operator reads when it is
   * the first of its kind.
   */
  report(kind: string, line: string, subject = ''): void {
    if (!this.kinds.has(kind) && this.kinds.size >= MAX_KINDS) kind = OTHER;
    const seen = this.kinds.get(kind);
    if (seen !== undefined) {
      seen.count++;
      if (subject !== '' && !seen.subjects.has(subject)) {
        if (seen.subjects.size < NAMED) seen.subjects.add(subject);
        else seen.unnamed = true;
      }
      return;
    }
    this.log(line);
    this.kinds.set(kind, { count: 0, subjects: new Set(), unnamed: false, since: Date.now(), timer: this.arm(kind) });
  }

  /** Whether `kind` is being counted (its next occurrence is not written). */
  counting(kind: string): boolean {
    return this.kinds.has(kind);
  }

  /** Writes the counts not yet told and forgets every kind. */
  close(): void {
    for (const kind of [...this.kinds.keys()]) this.tell(kind, false);
  }

  private arm(kind: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.tell(kind, true), this.intervalMs);
    timer.unref();
    return timer;
  }

  /** The summary of one kind's interval; the kind stays counted for another interval only when it came again in this one. */
  private tell(kind: string, again: boolean): void {
    const seen = this.kinds.get(kind);
    if (seen === undefined) return;
    clearTimeout(seen.timer);
    if (seen.count === 0) {
      this.kinds.delete(kind);
      return;
    }
    const more = seen.unnamed ? ', …' : '';
    const which = seen.subjects.size > 0 ? ` (${[...seen.subjects].join(', ')}${more})` : '';
    this.log(`${kind}: ${seen.count} more time${seen.count === 1 ? '' : 's'}${which} in the last ${Math.max(1, Math.round((Date.now() - seen.since) / 1000))} s; each is counted, not logged, while it goes on`);
    if (!again) {
      this.kinds.delete(kind);
      return;
    }
    seen.count = 0;
    seen.subjects.clear();
    seen.unnamed = false;
    seen.since = Date.now();
    seen.timer = this.arm(kind);
  }
}

/** An error for the operator's log: its message, and what Redis refused when it did (an `EXECABORT` alone names no cause). */
export function errorWords(err: unknown): string {
  const offline = redisOffline(err);
  if (offline !== null) return `Redis ${offline}`;
  const message = err instanceof Error ? err.message : String(err);
  const refusal = redisRefusal(err);
  return refusal === null || message.startsWith('OOM') ? message : `${message} (${refusal})`;
}

/**
 * What becomes of a run whose timeline, ack or lease could not be written: it stays in the queue,
 * so it is delivered again once its lease ends. Before ops round 2 the line said only Redis's
 * error, and an operator could not tell a lost run from one that would run again (and twice).
 */
const RUN_FAULT_OUTCOME = 'not lost: a run whose state could not be written is delivered again after its lease, so it may run twice (at least once)';

/**
 * The dispatcher's `onError`: a failed claim is told once per outage by the dispatcher itself; a
 * run's failure (its timeline, ack, lease) once per kind an interval, naming a few runs.
 */
export function dispatcherFaults(log: (line: string) => void, faults: FaultLog): (err: unknown, runId: string | null) => void {
  return (err, runId) => {
    if (runId === null) log(`dispatcher: could not claim a run: ${errorWords(err)}`);
    else faults.report(`dispatcher: runs failed: ${errorWords(err)} (${RUN_FAULT_OUTCOME})`, `dispatcher: run ${runId}: ${errorWords(err)} (${RUN_FAULT_OUTCOME})`, runId);
  };
}

const SINK_WORDS: Record<SinkTarget, string> = { runs: 'run records', metrics: 'run metrics', history: 'usage rollups' };

/**
 * The run sink's outages, told once each way: the first failed write of a target ("they wait in
 * memory …"), then its first good write after ("written again after N s, M writes failed
 * meanwhile"). Before (ops round 4) the first was said and the end never: an operator who read
 * "could not write run records" could not tell from the log whether they were written since.
 */
export function sinkOutages(log: (line: string) => void): { onError(target: SinkTarget, err: unknown, failures: number): void; onWrite(target: SinkTarget, ok: boolean): void } {
  const failing = new Map<SinkTarget, { since: number; failures: number }>();
  return {
    onError(target, err, failures) {
      const seen = failing.get(target);
      if (seen !== undefined) seen.failures++;
      else failing.set(target, { since: Date.now(), failures: 1 });
      if (failures === 1) log(`controlplane: could not write ${SINK_WORDS[target]}; they wait in memory and are retried until it works: ${errorWords(err)}`);
    },
    onWrite(target, ok) {
      const seen = failing.get(target);
      if (!ok || seen === undefined) return;
      failing.delete(target);
      log(`controlplane: ${SINK_WORDS[target]} are written again after ${((Date.now() - seen.since) / 1000).toFixed(1)} s (${seen.failures} write${seen.failures === 1 ? '' : 's'} failed meanwhile)`);
    },
  };
}

/**
 * The run sink's refused records (ADR 0173): a store refused what a batch held, not an outage. The
 * batch is split without a word (the rest is written at once); a record written reduced, or dropped
 * when even that was refused, is a fault of its kind, told once an interval with a count. The error's
 * words are not in the kind (they may quote the record): only the destination and what was done.
 */
export function sinkRefusals(faults: FaultLog): (target: SinkTarget, err: unknown, count: number, action: 'split' | 'reduced' | 'dropped') => void {
  return (target, err, count, action) => {
    if (action === 'split') return;
    const done = action === 'reduced' ? 'written reduced (without its logs and error text)' : 'dropped (even its reduced form was refused)';
    faults.report(`controlplane: the store refused ${SINK_WORDS[target]}: ${action}`, `controlplane: the store refused ${count === 1 ? 'one of the' : `${count}`} ${SINK_WORDS[target]} as it was; ${count === 1 ? 'it was' : 'they were'} ${done}, and nothing else waits for it: ${errorWords(err).slice(0, 300)}`);
  };
}
