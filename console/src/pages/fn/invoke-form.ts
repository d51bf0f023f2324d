/**
 * The Invoke tab's request as typed and its last answer, per workspace and function, for as long
 * as the page lives: the tab is mounted anew at each visit, so a payload typed, sent, and the run
 * followed through the answer's "run" link came back as the preset's sample after Back (console
 * round 3). In memory only (never storage: headers may hold a function's invoke token); forgotten
 * at sign-out, so the next token signed in in this tab does not get them.
 *
 * A call still on its way when the tab is left keeps its answer here when it arrives, and a tab
 * mounted meanwhile waits for it (`inFlight`): it was dropped with the unmounted tab (dx round 4).
 */
import type { InvokeAnswer } from '../../api.js';
import { onSessionChange } from '../../auth.js';

export interface InvokeForm {
  mode: 'sync' | 'async';
  method: string;
  path: string;
  headers: string;
  payload: string;
  caseName: string;
  result: InvokeAnswer | null;
  queued: string | null;
  /** The API's refusal of the last send (an ApiError), or null. */
  error: unknown;
}

/** How a send ended: the answer of a sync call, the run id of a queued one, or the API's refusal. */
export interface Sent {
  result: InvokeAnswer | null;
  queued: string | null;
  error: unknown;
}

const forms = new Map<string, InvokeForm>();
const inFlight = new Map<string, Promise<Sent>>();
/** Bumped at sign-out: an answer to a send of the session before is not kept for the next one. */
let session = 0;
onSessionChange((now) => {
  if (now === null) {
    forms.clear();
    inFlight.clear();
    session++;
  }
});

export function keptForm(workspace: string, fn: string): InvokeForm | undefined {
  return forms.get(`${workspace}/${fn}`);
}

export function keepForm(workspace: string, fn: string, form: InvokeForm): void {
  forms.set(`${workspace}/${fn}`, form);
}

/**
 * Sends with `call` and keeps how it ended in the form of `workspace`/`fn` when it ends, whether the
 * tab that sent it is still shown or not; the promise is `pendingSend`'s until then.
 */
export function sendKept(workspace: string, fn: string, call: () => Promise<Sent>): Promise<Sent> {
  const key = `${workspace}/${fn}`;
  const from = session;
  const sent: Promise<Sent> = call().then((outcome) => {
    // The latest send's answer only (a test case's Run may send while another is on its way).
    if (inFlight.get(key) !== sent) return outcome;
    inFlight.delete(key);
    const form = forms.get(key);
    if (from === session && form !== undefined) forms.set(key, { ...form, ...outcome });
    return outcome;
  });
  inFlight.set(key, sent);
  return sent;
}

/** The send of `workspace`/`fn` still on its way (the tab was left and is shown again), if any. */
export function pendingSend(workspace: string, fn: string): Promise<Sent> | undefined {
  return inFlight.get(`${workspace}/${fn}`);
}
