/**
 * The Invoke tab's request as typed and its last answer, per workspace and function, for as long
 * as the page lives: the tab is mounted anew at each visit, so a payload typed, sent, and the run
 * followed through the answer's "run" link came back as the preset's sample after Back (console
 * round 3). In memory only (never storage: headers may hold a function's invoke token); forgotten
 * at sign-out, so the next token signed in in this tab does not get them.
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
}

const forms = new Map<string, InvokeForm>();
onSessionChange((session) => {
  if (session === null) forms.clear();
});

export function keptForm(workspace: string, fn: string): InvokeForm | undefined {
  return forms.get(`${workspace}/${fn}`);
}

export function keepForm(workspace: string, fn: string, form: InvokeForm): void {
  forms.set(`${workspace}/${fn}`, form);
}
