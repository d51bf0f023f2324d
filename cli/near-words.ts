/**
 * Words near a mistyped one: `; did you mean "show"?` for a verb, `"--dry-run"` for an option. No
 * imports, so the argument parser can use it (cli/suggest.ts, which lists the workspace's names,
 * needs the client).
 */

/** Levenshtein distance (names are short: 63 characters at most). */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** `; did you mean "show"?` when `word` is one or two edits from one of `words` (a typed verb), else ''. */
export function didYouMean(word: string, words: readonly string[]): string {
  const near = words.filter((w) => w !== word && editDistance(w, word) <= Math.min(2, Math.max(1, word.length - 2)))
    .sort((a, b) => editDistance(a, word) - editDistance(b, word));
  return near[0] !== undefined ? `; did you mean ${JSON.stringify(near[0])}?` : '';
}
