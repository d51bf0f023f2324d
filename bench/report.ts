/** The one table the bench prints, built from the sections' results. */

export type Unit = 'req/s' | 'us' | 'ms' | 's' | 'B' | 'MiB';

export function formatValue(value: number | null, unit: Unit): string {
  if (value === null || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 'req/s':
      return `${Math.round(value).toLocaleString('en-US')} req/s`;
    case 'us':
      return value >= 1_000 ? `${(value / 1000).toFixed(2)} ms` : `${Math.round(value)} µs`;
    case 'ms':
      return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(2)} ms`;
    case 's':
      return `${value.toFixed(1)} s`;
    case 'B':
      return `${value.toFixed(value >= 100 ? 0 : 1)} B`;
    case 'MiB':
      return `${value.toFixed(2)} MiB`;
  }
}

export function formatRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) return '—';
  if (ratio >= 1) return `${ratio.toFixed(2)}×`;
  return `${ratio.toFixed(3)}× (1/${(1 / ratio).toFixed(1)})`;
}

/** Plain-text table with a header, columns padded to width. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The same table as Markdown, for bench/README.md's results section. */
export function renderMarkdown(header: string[], rows: string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
