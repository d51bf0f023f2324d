/**
 * The Settings tab's forms as typed and not saved yet, per workspace and function, for as long as
 * the page lives: the tab is mounted anew at each visit, so a variable added, a timeout changed or
 * a secret typed, then a look at the Code tab's platform.yaml, came back as the saved values with
 * nothing said (console round 14). Kept with what each form was read from (its setting's tag), so
 * a save after a change made elsewhere meanwhile is refused as changed since (ADR 0159) instead of
 * undoing it. In memory only, as the Invoke tab's request (invoke-form.ts): never storage, since a
 * secret's value is in it; forgotten at sign-out.
 */
import { onSessionChange } from '../../auth.js';

/** A form's values as typed (`value`), with the setting's tag (`read`) and the values (`filled`) it was filled from. */
export interface KeptEdit {
  value: unknown;
  read: string;
  filled: unknown;
}

/** What a Settings tab keeps: its whole-setting forms (only those changed) and the secret typed. */
export type KeptSettings = { edits: Partial<Record<string, KeptEdit>>; secretName: string; secretValue: string };

const kept = new Map<string, KeptSettings>();
onSessionChange((now) => {
  if (now === null) kept.clear();
});

export function keptSettings(workspace: string, fn: string): KeptSettings | undefined {
  return kept.get(`${workspace}/${fn}`);
}

/** Keeps `settings` for the next visit of the tab, or forgets them when nothing in them is unsaved. */
export function keepSettings(workspace: string, fn: string, settings: KeptSettings): void {
  const key = `${workspace}/${fn}`;
  if (Object.keys(settings.edits).length > 0 || settings.secretName !== '' || settings.secretValue !== '') kept.set(key, settings);
  else kept.delete(key);
}
