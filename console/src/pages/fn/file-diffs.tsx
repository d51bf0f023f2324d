/** Line diffs of changed files (diff.ts), as Deploy… and Compare show them. */
import type { JSX } from 'preact';
import { diffLines } from '../../diff.js';
import { shownText } from '../../format.js';
import type { Changes } from '../../workspace.js';

export function FileDiffs({ before, after, changes }: { before: ReadonlyMap<string, string>; after: ReadonlyMap<string, string>; changes: Changes }): JSX.Element {
  return (
    <div class="diff" role="region" aria-label="Diff" data-testid="diff">
      {[...changes.added, ...changes.modified, ...changes.removed].map((path) => (
        <section key={path} class="diff-file">
          <h3>{changes.added.includes(path) ? '+ ' : changes.removed.includes(path) ? '− ' : '~ '}{shownText(path)}</h3>
          {diffLines(before.get(path) ?? '', after.get(path) ?? '').map((hunk, i) => (
            <pre key={i} class="hunk">{hunk.map((l, k) => <span key={k} class={`dl d${l.kind === '+' ? 'add' : l.kind === '-' ? 'del' : 'ctx'}`}>{`${l.kind} ${shownText(l.text)}\n`}</span>)}</pre>
          ))}
        </section>
      ))}
    </div>
  );
}
