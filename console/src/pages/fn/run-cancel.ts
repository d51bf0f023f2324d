/**
 * Cancel of an async run waiting in the queue (`queued`, or `retried` and backing off), as
 * `runs cancel` does: one place for the question, the call and its refusal, used by a run's detail
 * and by each row of the Runs tab's queued list (console rounds 8 and 9).
 */
import { api, enc, type AsyncRun, type AsyncRunSummary } from '../../api.js';
import { keepFocusInPlace } from '../../focus-place.js';

/** The async states a run can be cancelled in: it still waits in the queue. */
export type WaitingState = 'queued' | 'retried';

export function waitingState(state: string): WaitingState | null {
  return state === 'queued' || state === 'retried' ? state : null;
}

/**
 * Asks first, then takes the run out of the queue. `said(null)` clears a previous refusal, `said(e)`
 * gives this one (RUN_NOT_CANCELLABLE: it started or ended meanwhile) to be shown where it was asked.
 * Resolves to 'dismissed' (nothing sent), 'cancelled' or 'refused'.
 */
export async function cancelRun(runId: string, state: WaitingState, said: (error: unknown) => void): Promise<'dismissed' | 'cancelled' | 'refused'> {
  if (!confirm(`Cancel run ${runId}? It leaves the queue and is not run${state === 'retried' ? ' again' : ''}: it ends cancelled, for good (call the function again to run it).`)) return 'dismissed';
  said(null);
  keepFocusInPlace();
  try {
    await api('POST', `/runs/${enc(runId)}/cancel`);
    return 'cancelled';
  } catch (e) {
    said(e);
    return 'refused';
  }
}

/**
 * What a run is now, as its row in the queued list shows it (state, since when, attempts), or null
 * when it cannot be read: after a refused Cancel the row showed the state it was listed in, with
 * its Cancel still offered (loose ends round 8).
 */
export async function rowNow(runId: string): Promise<Pick<AsyncRunSummary, 'state' | 'updatedAt' | 'attempts'> | null> {
  try {
    const { run } = await api<{ run: AsyncRun }>('GET', `/runs/${enc(runId)}`);
    const at = run.transitions.at(-1)?.at;
    return 'state' in run && at !== undefined ? { state: run.state, updatedAt: at, attempts: run.attempts.length } : null;
  } catch {
    return null;
  }
}
