/** The in-memory RunTimeline: for tests and single-process runs that need no history after a restart. */
import type { AsyncRunState } from '../../../protocol/index.js';
import type { AttemptRecord, RunTimeline, RunTimelineView } from './types.js';

export class MemoryRunTimeline implements RunTimeline {
  private readonly runs = new Map<string, RunTimelineView>();

  async transition(runId: string, state: AsyncRunState, at: number, detail?: string): Promise<void> {
    const run = this.entry(runId, state);
    const entry = { state, at, detail: detail ?? null };
    if (state === 'queued') run.transitions.unshift(entry); // the acceptance comes first (RunTimeline.transition)
    else run.transitions.push(entry);
    run.state = run.transitions.at(-1)!.state;
  }

  async attempt(runId: string, record: AttemptRecord): Promise<void> {
    const run = this.runs.get(runId);
    // An attempt without a transition first still belongs to the run; its state stays as it was.
    (run ?? this.entry(runId, 'running')).attempts.push(structuredClone(record));
  }

  async get(runId: string): Promise<RunTimelineView | null> {
    const run = this.runs.get(runId);
    return run === undefined ? null : structuredClone(run);
  }

  async close(): Promise<void> {}

  private entry(runId: string, state: AsyncRunState): RunTimelineView {
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = { state, attempts: [], transitions: [] };
      this.runs.set(runId, run);
    }
    return run;
  }
}
