/** A line diff (longest common subsequence) as unified hunks, for "deploy with the diff first". */

export interface DiffLine {
  kind: ' ' | '+' | '-';
  text: string;
}

/** The lines of `a` → `b` with 3 lines of context around each change; [] when equal. */
export function diffLines(a: string, b: string, context = 3): DiffLine[][] {
  if (a === b) return [];
  const x = a === '' ? [] : a.split('\n');
  const y = b === '' ? [] : b.split('\n');
  const n = x.length;
  const m = y.length;
  // LCS lengths from the end; fine for source files (n·m cells). Past ~4M cells: whole-file replace.
  if (n * m > 4_000_000) return [[...x.map((text) => ({ kind: '-' as const, text })), ...y.map((text) => ({ kind: '+' as const, text }))]];
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const all: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      all.push({ kind: ' ', text: x[i]! });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) all.push({ kind: '+', text: y[j++]! });
    else all.push({ kind: '-', text: x[i++]! });
  }
  // Ranges of `all` around each change, merged when their context overlaps.
  const ranges: [number, number][] = [];
  all.forEach((line, k) => {
    if (line.kind === ' ') return;
    const lo = Math.max(0, k - context);
    const hi = Math.min(all.length - 1, k + context);
    const last = ranges[ranges.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = hi;
    else ranges.push([lo, hi]);
  });
  return ranges.map(([lo, hi]) => all.slice(lo, hi + 1));
}
