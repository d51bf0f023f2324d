/**
 * The order in which scripts/test.sh starts its test files: those named in test/slowest-first.txt
 * first, in that file's order (slowest first), then every other file in path order. Files are
 * started two at a time (`--test-concurrency`), each when a slot frees: a 130 s file started last
 * ran alone at the end of the run while the other slot was idle.
 */

/** The file names (`e2e/console-edges`, tier and name without `.test.js`) that slowest-first.txt lists, in its order. */
export function slowestFirst(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split(/\s+/)[0]!);
}

/** `files` (paths ending in `<tier>/<name>.test.js`) reordered: the listed ones first, in the list's order; the rest in path order. */
export function orderTestFiles(files: readonly string[], slowest: readonly string[]): string[] {
  const rank = new Map(slowest.map((name, i) => [name, i]));
  const rankOf = (file: string): number | undefined => {
    const m = /([^/]+\/[^/]+)\.test\.js$/.exec(file);
    return m === null ? undefined : rank.get(m[1]!);
  };
  const listed = files.filter((f) => rankOf(f) !== undefined).sort((a, b) => rankOf(a)! - rankOf(b)!);
  const rest = files.filter((f) => rankOf(f) === undefined).sort();
  return [...listed, ...rest];
}
