/** What changed between two file lists of a function (pure; used by the stores and the CLI). */
import type { FileChanges, FileEntry } from '../store/types.js';

/**
 * Paths added, modified (same path, different content) and removed going from `previous` to
 * `next`; each list sorted. A null `previous` (first version) makes every file `added`.
 */
export function diffFiles(previous: readonly FileEntry[] | null, next: readonly FileEntry[]): FileChanges {
  const before = new Map((previous ?? []).map((f) => [f.path, f.sha256]));
  const added: string[] = [];
  const modified: string[] = [];
  for (const file of next) {
    const old = before.get(file.path);
    if (old === undefined) added.push(file.path);
    else if (old !== file.sha256) modified.push(file.path);
    before.delete(file.path);
  }
  const removed = [...before.keys()];
  return { added: added.sort(), modified: modified.sort(), removed: removed.sort() };
}
