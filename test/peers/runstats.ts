/** What the platform recorded about the tier's calls (GET /api/v1/runs): cold starts and their cost, statuses, error codes. */
import type { PeerApi } from './deploy.js';

export interface RunStats {
  runs: number;
  cold: number;
  /** Specialization time of the cold runs (the app's import included), ms. */
  initMs: { p50: number; p90: number; max: number } | null;
  /** Handler time of every run, ms. */
  handlerMs: { p50: number; p99: number } | null;
  httpStatus: Record<string, number>;
  errorCodes: Record<string, number>;
}

interface RunItem {
  cold?: boolean;
  initMs?: number | null;
  handlerMs?: number | null;
  httpStatus?: number | null;
  errorCode?: string | null;
}

function pick(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export async function runStats(api: PeerApi): Promise<RunStats> {
  const items: RunItem[] = [];
  let cursor: string | null = null;
  do {
    const page = (await api.expect(200, 'GET', `/runs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)) as { items: RunItem[]; nextCursor: string | null };
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  const init = items.filter((r) => r.cold && typeof r.initMs === 'number').map((r) => r.initMs!).sort((a, b) => a - b);
  const handler = items.filter((r) => typeof r.handlerMs === 'number').map((r) => r.handlerMs!).sort((a, b) => a - b);
  const count = (values: (string | number | null | undefined)[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const v of values) if (v !== null && v !== undefined) out[String(v)] = (out[String(v)] ?? 0) + 1;
    return out;
  };
  return {
    runs: items.length,
    cold: items.filter((r) => r.cold).length,
    initMs: init.length ? { p50: pick(init, 0.5), p90: pick(init, 0.9), max: init[init.length - 1]! } : null,
    handlerMs: handler.length ? { p50: pick(handler, 0.5), p99: pick(handler, 0.99) } : null,
    httpStatus: count(items.map((r) => r.httpStatus)),
    errorCodes: count(items.map((r) => r.errorCode)),
  };
}
