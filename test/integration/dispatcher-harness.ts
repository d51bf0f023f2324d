/**
 * Shared pieces of the dispatcher tests: a scripted AttemptRunner (the seam the lead fills with
 * the gateway's invoke), outcomes, and polling. The queues and timelines used are the real ones.
 */
import type {
  AttemptJob, AttemptOutcome, AttemptOutcomeLabel, AttemptRunner, DeadLetterReason, DispatchMetrics, Queue, RunTimeline, RunTimelineView,
} from '../../controlplane/async/index.js';

export function success(): AttemptOutcome {
  return { ok: true, httpStatus: 200, errorCode: null, errorClass: null, cold: false, durationMs: 1, initMs: 0, handlerMs: 1 };
}

export function failure(httpStatus: number, errorClass: string | null, errorCode: string | null): AttemptOutcome {
  return {
    ok: false, httpStatus, errorCode, errorClass, cold: false, durationMs: 1, initMs: 0, handlerMs: 1,
    error: { type: 'RuntimeError', message: `failed with ${errorClass ?? httpStatus}` },
  };
}

/** A runner that answers with `script(job, signal)` and remembers every job it saw. */
export class ScriptedRunner implements AttemptRunner {
  readonly seen: AttemptJob[] = [];
  constructor(private readonly script: (job: AttemptJob, signal: AbortSignal) => AttemptOutcome | Promise<AttemptOutcome>) {}
  async run(job: AttemptJob, signal: AbortSignal): Promise<AttemptOutcome> {
    this.seen.push(job);
    return this.script(job, signal);
  }
}

/** Keeps what the dispatcher reported through its metrics port, in order. */
export class RecordedMetrics implements DispatchMetrics {
  readonly lags: number[] = [];
  readonly outcomes: AttemptOutcomeLabel[] = [];
  readonly dead: DeadLetterReason[] = [];
  claimed(_fn: string, lagSeconds: number): void {
    this.lags.push(lagSeconds);
  }
  attempt(_fn: string, outcome: AttemptOutcomeLabel): void {
    this.outcomes.push(outcome);
  }
  deadLettered(_fn: string, reason: DeadLetterReason): void {
    this.dead.push(reason);
  }
}

/** Polls the timeline until the run reaches a final state; throws after `timeoutMs`. */
export async function settled(timeline: RunTimeline, runId: string, timeoutMs = 15_000): Promise<RunTimelineView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await timeline.get(runId);
    if (view !== null && ['succeeded', 'failed', 'cancelled'].includes(view.state)) return view;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not settle: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The queue's counts once nothing is waiting or leased in it (at most 15 s). A run's final state is
 * written before its ack (or dead letter), so a settled run's job may still be leased a moment.
 */
export async function drained(queue: Queue): Promise<Awaited<ReturnType<Queue['stats']>>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stats = await queue.stats();
    if (stats.delayed + stats.ready + stats.leased === 0 || Date.now() > deadline) return stats;
    await delay(20);
  }
}
