/**
 * Usage bucket by bucket and the cold-start view across functions (docs/api.md, "Series and cold
 * starts"): `GET /functions/{name}/usage/series` and `GET /coldstarts`. Windows up to 24h come
 * from HotMetrics (minute buckets; hour buckets for 24h), 7d and 30d from the durable store's
 * hourly rollups, as for `/usage`.
 */
import { PlatformError } from '../../protocol/index.js';
import type { ServiceContext } from '../service/context.js';
import { getFunction } from '../service/functions.js';
import { emptyTally, isHistoryWindow, isStoreError, mergeTally, percentile, shownState, splitPercentiles, type FunctionUsage, type HistoryWindow, type Tally, type TallySeries, type UsageWindow } from '../store/index.js';
import { coldStartsAnswer, usageSeriesAnswer } from './answers-console.js';
import { json } from './http.js';
import { operation } from './router.js';
import { usageQuery } from './schemas.js';
import { functionParam } from './validate.js';

/** One bucket as the API shows it. */
export function pointOf(at: number, t: Tally) {
  return {
    at,
    invocations: t.count,
    errors: t.errors,
    coldStarts: t.cold,
    scaleToZero: t.scaleToZero,
    p50Ms: percentile(t.latency, 0.5),
    p95Ms: percentile(t.latency, 0.95),
    p99Ms: percentile(t.latency, 0.99),
    ...splitPercentiles(t),
  };
}

/** A function's buckets over the window, from wherever that window is kept. */
async function seriesOf(ctx: ServiceContext, name: string, window: UsageWindow | HistoryWindow): Promise<TallySeries> {
  try {
    if (!isHistoryWindow(window)) return await ctx.metrics.series(name, window);
    const history = ctx.store.usageHistory;
    if (history === undefined) throw new PlatformError('METRICS_UNAVAILABLE', 'this store keeps no usage history; use a window up to 24h');
    return await history.series(name, window);
  } catch (err) {
    throw unavailable(ctx, name, err);
  }
}

async function liveOf(ctx: ServiceContext, name: string): Promise<FunctionUsage> {
  try {
    return await ctx.metrics.usage(name, '1m');
  } catch (err) {
    throw unavailable(ctx, name, err);
  }
}

function unavailable(ctx: ServiceContext, name: string, err: unknown): unknown {
  if (err instanceof PlatformError || (isStoreError(err) && (err.code === 'STORE_CLOSED' || err.code === 'STORE_UNAVAILABLE'))) return err;
  ctx.log(`controlplane: metrics of ${name} could not be read: ${err instanceof Error ? err.message : String(err)}`);
  return new PlatformError('METRICS_UNAVAILABLE', 'the metrics could not be read; try again shortly');
}

export const usageSeries = operation(
  {
    id: 'usageSeries', tag: 'usage', role: 'viewer', summary: "A function's usage bucket by bucket over a window (for charts)",
    query: usageQuery,
    answers: { 200: { description: 'One point per minute (per hour for 24h, 7d, 30d), oldest first', schema: usageSeriesAnswer } },
    errors: ['METRICS_UNAVAILABLE'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const { window } = input.query();
    await getFunction(call.ctx, key);
    const s = await seriesOf(call.ctx, key, window);
    return json(200, { function: name, window, from: s.from, to: s.to, stepMs: s.stepMs, points: s.buckets.map((b) => pointOf(b.at, b.tally)) });
  },
);

function numbersOf(t: Tally, warmInstances: number) {
  const split = splitPercentiles(t);
  return {
    invocations: t.count,
    coldStarts: t.cold,
    coldStartRatio: t.count === 0 ? 0 : t.cold / t.count,
    ...split,
    coldPenaltyMs: split.coldP50Ms !== null && split.warmP50Ms !== null ? split.coldP50Ms - split.warmP50Ms : null,
    scaleToZero: t.scaleToZero,
    warmInstances,
  };
}

export const coldStarts = operation(
  {
    id: 'coldStarts', tag: 'usage', role: 'viewer', summary: "Cold starts across the workspace's functions: rate, cold vs warm latency, init time, warm instances, scale-to-zero",
    query: usageQuery,
    answers: { 200: { description: 'Every function, their sum, and the merged series', schema: coldStartsAnswer } },
    errors: ['METRICS_UNAVAILABLE', 'SECRETS_KEY_UNKNOWN', 'SECRET_DECRYPT_FAILED'],
  },
  async (call, input) => {
    const { window } = input.query();
    const ctx = call.ctx;
    const records = await ctx.store.functions.list({ workspace: call.scope.workspace });
    await ctx.warm.report().catch(() => undefined);
    const rows = await Promise.all(records.map(async (fn) => ({ fn, series: await seriesOf(ctx, fn.name, window), live: await liveOf(ctx, fn.name) })));
    const total = emptyTally();
    let warmTotal = 0;
    let frame: TallySeries | null = rows[0]?.series ?? null;
    // Merged by bucket start: two reads may straddle a minute boundary.
    const merged = new Map<number, Tally>();
    const functions = rows.map(({ fn, series, live }) => {
      const t = emptyTally();
      let lastColdAt: number | null = null;
      for (const b of series.buckets) {
        mergeTally(t, b.tally);
        let m = merged.get(b.at);
        if (m === undefined) merged.set(b.at, (m = emptyTally()));
        mergeTally(m, b.tally);
        if (b.tally.cold > 0) lastColdAt = b.at;
      }
      mergeTally(total, t);
      warmTotal += live.warmInstances;
      const state = shownState(live.state, fn.activeVersion);
      return { function: call.scope.short(fn.name), state, minWarm: fn.limits.minWarm, maxInstances: fn.limits.maxInstances, ...numbersOf(t, live.warmInstances), lastColdAt };
    });
    functions.sort((a, b) => b.coldStarts - a.coldStarts || (b.coldP95Ms ?? 0) - (a.coldP95Ms ?? 0) || (a.function < b.function ? -1 : 1));
    // Without functions the frame is an empty function's (the window's buckets, all zero).
    frame ??= await seriesOf(ctx, '-', window);
    const points = frame.buckets.map((b) => pointOf(b.at, merged.get(b.at) ?? emptyTally()));
    return json(200, { window, from: frame.from, to: frame.to, stepMs: frame.stepMs, summary: { functions: records.length, ...numbersOf(total, warmTotal) }, functions, points });
  },
);
