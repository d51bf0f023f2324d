/** What changed between two file lists of a function (pure; the stores and the CLI use it). */

/** A file as a version lists it: its path, its content's sha256 and whether it is deployed executable. */
export interface FileRef {
  path: string;
  sha256: string;
  executable?: boolean;
}

/** File paths that differ between two versions, each list sorted. */
export interface FileDiff {
  added: string[];
  modified: string[];
  removed: string[];
}

/**
 * Paths added, modified (same path, other content, or its executable flag changed: it is deployed
 * with another mode) and removed going from `previous` to `next`; each list sorted. A null
 * `previous` (first version) makes every file `added`.
 */
export function diffFiles(previous: readonly FileRef[] | null, next: readonly FileRef[]): FileDiff {
  const key = (f: FileRef): string => (f.executable === true ? `${f.sha256}+x` : f.sha256);
  const before = new Map((previous ?? []).map((f) => [f.path, key(f)]));
  const added: string[] = [];
  const modified: string[] = [];
  for (const file of next) {
    const old = before.get(file.path);
    if (old === undefined) added.push(file.path);
    else if (old !== key(file)) modified.push(file.path);
    before.delete(file.path);
  }
  const removed = [...before.keys()];
  return { added: added.sort(), modified: modified.sort(), removed: removed.sort() };
}
