/**
 * The Code tab's warnings: what the check (`POST /validate`) of the code in the editor warns of,
 * and what the upload of the version the console deployed answered (`warnings`, ADR 0248) that the
 * check did not say — the check sees the editor's text files only, the upload every file of the
 * version: a SQLite database shipped with it (read-only on the platform) was warned of by the
 * CLI's deploy, never by the console's (console round 11). Each warning is said once: one the
 * check says too (same file, line and text: the same validate.py finds the same) is not repeated.
 * An upload that checked nothing says why (`warningsSkipped`: the checks busy, a version over 4 MiB),
 * so no warnings is not read as none found; and the upload's warnings are not kept with the version
 * (ADR 0277), which the list says (console round 12).
 */
import type { JSX } from 'preact';
import type { Problem, Validation } from '../../api.js';
import { inlineText, shownText } from '../../format.js';
import type { DeployResult } from '../../workspace.js';

/** The warnings the upload of `version` answered, or why it checked nothing. */
export type UploadWarnings = DeployResult;

const key = (p: Problem): string => JSON.stringify([p.file, p.line, p.message]);

export function CodeWarnings({ check, uploaded }: { check: Validation | null; uploaded: UploadWarnings | null }): JSX.Element | null {
  const checked = check?.warnings ?? [];
  const said = new Set(checked.map(key));
  const more = (uploaded?.warnings ?? []).filter((p) => !said.has(key(p)));
  const all = [...checked, ...more];
  const skipped = uploaded?.warningsSkipped;
  const unchecked = skipped === undefined ? null : (
    <p class="muted" data-testid="upload-unchecked">Version {uploaded!.version}'s upload checked nothing for warnings: {shownText(skipped)}. <code>fastapi-platform validate</code> in the function's folder checks every file.</p>
  );
  if (all.length === 0) return unchecked;
  const line = (p: Problem): string => `${p.file === null ? '(bundle)' : inlineText(p.file)}${p.line !== null ? `:${p.line}` : ''} ${shownText(p.message)}`;
  return (
    // Open when the check warns (console round 14: closed, the warning that told why the deploy would fail went unseen).
    <details data-testid="code-warnings" open={checked.length > 0}>
      <summary>{all.length} warning{all.length === 1 ? '' : 's'}</summary>
      <ul>
        {checked.map((p, i) => <li key={`c${i}`}>{line(p)}</li>)}
        {more.map((p, i) => <li key={`u${i}`}>{line(p)} <span class="muted">(said by version {uploaded!.version}'s upload)</span></li>)}
      </ul>
      {more.length > 0 ? <p class="muted hint">The upload's warnings are said here once: they are not kept with the version (a reload shows only the check's); <code>fastapi-platform validate</code> says them again.</p> : null}
      {unchecked}
    </details>
  );
}
