/**
 * Compare: what changed between two versions of a function, for every role (read-only) — the code,
 * platform.yaml (its settings and triggers), requirements.txt, the entrypoint, files that are not
 * text. Offered beside each version against the active one, so a rollback or "Deploy vN" can be
 * read before it is done (console round 5: only a deploy of the draft showed a diff).
 */
import type { JSX } from 'preact';
import { Dialog, ErrorBox, Loading, useAsync } from '../../ui.js';
import { inlineText } from '../../format.js';
import { changesBetween, readVersion, versionTexts } from '../../workspace.js';
import { FileDiffs } from './file-diffs.js';

/** `pair`: the two versions (older first), or null when closed. */
export function CompareDialog({ name, pair, onClose }: { name: string; pair: [number, number] | null; onClose: () => void }): JSX.Element {
  const [from, to] = pair ?? [0, 0];
  const diff = useAsync(async () => {
    if (pair === null) return null;
    const [a, b] = await Promise.all([readVersion(name, from), readVersion(name, to)]);
    const [ta, tb] = await Promise.all([versionTexts(name, a), versionTexts(name, b)]);
    const shaA = new Map((a.files ?? []).map((f) => [f.path, f.sha256]));
    // Files not shown as text (binary, or over 1 MiB): changed when their digests differ.
    const other = [...new Set([...ta.binary, ...tb.binary].map((f) => f.path))].sort()
      .filter((path) => shaA.get(path) !== (b.files ?? []).find((f) => f.path === path)?.sha256);
    return { a, b, ta, tb, changes: changesBetween(ta.text, tb.text), other };
  }, [name, from, to, pair !== null]);
  const d = diff.data ?? null;
  const count = d === null ? 0 : d.changes.added.length + d.changes.modified.length + d.changes.removed.length + d.other.length;
  return (
    <Dialog title={`Compare version ${from} with version ${to}`} open={pair !== null} onClose={onClose}>
      {d === null ? (diff.error ? <ErrorBox error={diff.error} /> : <Loading what="Reading both versions" />) : (
        <div data-testid="compare">
          <p>From version {from} to version {to}: {count === 0 ? 'the same files.' : `${d.changes.added.length} added, ${d.changes.modified.length} modified, ${d.changes.removed.length} removed${d.other.length > 0 ? `, ${d.other.length} other file${d.other.length === 1 ? '' : 's'} changed` : ''}.`}</p>
          {d.a.entrypoint !== d.b.entrypoint ? <p data-testid="compare-entrypoint">Entrypoint: <code>{inlineText(d.a.entrypoint)}</code> → <code>{inlineText(d.b.entrypoint)}</code></p> : null}
          <FileDiffs before={d.ta.text} after={d.tb.text} changes={d.changes} />
          {d.other.length > 0 ? <ul aria-label="Other files changed">{d.other.map((p) => <li key={p}><code>{inlineText(p)}</code> (not text, or over 1 MiB: its content differs)</li>)}</ul> : null}
        </div>
      )}
    </Dialog>
  );
}
