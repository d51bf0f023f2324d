/**
 * One saved test case in the Invoke tab's list: its name (loads it into the form), mode, request
 * line, Run and Delete. Delete is asked first, as every other delete of the console is, and a
 * refusal (TEST_CASE_NOT_FOUND: deleted elsewhere meanwhile) is said under its row: it was neither
 * asked nor said there, but in the Response panel, far from the row (console round 11).
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc, type TestCase } from '../../api.js';
import { can } from '../../auth.js';
import { keepFocusInPlace } from '../../focus-place.js';
import { ErrorBox } from '../../ui.js';

export function TestCaseRow({ fn, testCase: c, line, onLoad, onRun, onDeleted }: {
  fn: string;
  testCase: TestCase;
  /** The request's method and path as the row shows it. */
  line: string;
  onLoad: () => void;
  onRun: () => void;
  onDeleted: () => void;
}): JSX.Element {
  const [refused, setRefused] = useState<unknown>(null);
  const remove = async (): Promise<void> => {
    if (!confirm(`Delete the test case "${c.name}"? Its saved request goes with it.`)) return;
    setRefused(null);
    keepFocusInPlace();
    try {
      await api('DELETE', `/functions/${enc(fn)}/test-cases/${enc(c.name)}`);
      onDeleted();
    } catch (e) {
      setRefused(e);
    }
  };
  return (
    <li>
      <button type="button" class="link" onClick={onLoad}>{c.name}</button> <span class="tag">{c.mode}</span> <span class="muted">{line}</span>
      {can('invoker') ? <button type="button" class="small" onClick={onRun} aria-label={`Run ${c.name}`}>Run</button> : null}
      {can('deployer') ? <button type="button" class="small" onClick={() => void remove()} aria-label={`Delete ${c.name}`}>Delete</button> : null}
      {refused !== null ? <div class="case-error" data-testid="case-row-error"><ErrorBox error={refused} /></div> : null}
    </li>
  );
}
