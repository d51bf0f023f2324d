/**
 * Words near a mistyped one: `; did you mean "show"?` for a verb, `"--dry-run"` for an option. No
 * imports, so the argument parser can use it (cli/suggest.ts, which lists the workspace's names,
 * needs the client).
 */

/**
 * Edit distance with two neighbouring letters swapped counted as one edit, as a typist makes it
 * (optimal string alignment): `lsit` is one edit from `list`, so it is named before `set`, two
 * plain edits away (plain Levenshtein counted the swap as two and named `set`; journey round 11).
 * Names are short: 63 characters at most.
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) next[j] = Math.min(next[j]!, before[j - 2]! + 1);
    }
    before = row;
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
