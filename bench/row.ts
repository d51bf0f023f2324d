/** One row of the bench's table: the figure, the platform and baseline values, the ratio and the target. */
import { formatRatio, formatValue, type Unit } from './report.js';

export interface ResultRow {
  figure: string;
  unit: Unit;
  platform: number | null;
  baseline: number | null;
  /** platform ÷ baseline. */
  ratio: number | null;
  target: string;
  met: boolean | null;
  cells: string[];
  note?: string;
}

export interface RowSpec {
  figure: string;
  unit: Unit;
  platform: number | null | undefined;
  platformWhat: string;
  baseline: number | null | undefined;
  baselineWhat: string;
  target?: string;
  /** Decides `met` from the platform value and the ratio. */
  check?: (platform: number, ratio: number | null) => boolean;
  extra?: string;
  note?: string;
}

export function row(spec: RowSpec): ResultRow {
  const platform = spec.platform ?? null;
  const baseline = spec.baseline ?? null;
  const ratio = platform !== null && baseline !== null && baseline !== 0 ? platform / baseline : null;
  const met = spec.check && platform !== null ? spec.check(platform, ratio) : null;
  const who = (what: string): string => (what ? ` (${what})` : '');
  return {
    figure: spec.figure,
    unit: spec.unit,
    platform,
    baseline,
    ratio,
    target: spec.target ?? '',
    met,
    cells: [
      spec.figure,
      platform === null ? '—' : `${formatValue(platform, spec.unit)}${who(spec.platformWhat)}`,
      baseline === null ? '—' : `${formatValue(baseline, spec.unit)}${who(spec.baselineWhat)}`,
      `${formatRatio(ratio)}${spec.extra ? `  ${spec.extra}` : ''}`,
      spec.target ?? '',
      met === null ? '' : met ? 'yes' : 'NO',
    ],
    ...(spec.note ? { note: spec.note } : {}),
  };
}

