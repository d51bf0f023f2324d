/**
 * UsageHistory on MongoDB: collection `usage_rollups`. Each batch writes one document per
 * function-hour it touches, `_id` `<function>/<hour>/<batchId>`, with one unordered `insertMany`.
 * Inserts only: FerretDB 1.24 loses concurrent `$inc`s on one document and concurrent upserts of
 * one `_id` can fail with E11000 (docs/stores.md, "FerretDB gaps"), while a unique-`_id` insert is
 * atomic. So two gateways never contend, and a retried batch finds its `_id`s taken (duplicate-key
 * errors, ignored): counted once. A read merges a function's documents over the window's hours.
 */
import { emptyTally, HOUR_MS, mergeTally, type Tally } from '../metrics/histogram.js';
import { historyHours, hourSeries, rollupsOf, type UsageHistory } from '../metrics/history.js';
import type { MongoContext, UsageRollupDoc } from './context.js';
import { duplicateIndexes } from './runs.js';

export function mongoUsageHistory(ctx: MongoContext): UsageHistory {
  const col = ctx.col.usageRollups;
  // Documents written before the cold-start fields existed have none: merged as zeros.
  const readHours = (fn: string, first: number, last: number) =>
    col.find({ function: fn, hour: { $gte: first, $lte: last } }, { projection: { hour: 1, count: 1, errors: 1, cold: 1, sumMs: 1, latency: 1, coldLatency: 1, init: 1, scaleToZero: 1 } });
  return {
    async record(samples, batchId) {
      ctx.check();
      if (samples.length === 0) return;
      const docs: UsageRollupDoc[] = [...rollupsOf(samples).values()].map(({ function: fn, hour, tally }) => ({
        _id: `${fn}/${hour}/${batchId}`,
        function: fn,
        hour,
        count: tally.count,
        errors: tally.errors,
        cold: tally.cold,
        sumMs: tally.sumMs,
        latency: tally.latency,
        coldLatency: tally.coldLatency,
        init: tally.init,
        scaleToZero: tally.scaleToZero,
      }));
      try {
        await col.insertMany(docs, { ordered: false });
      } catch (err) {
        // Only "already there" (this batch was written before) is fine.
        if (duplicateIndexes(err) === null) throw err;
      }
    },
    async usage(fn, window) {
      ctx.check();
      const now = ctx.now();
      const { first, last, from } = historyHours(window, now);
      const tally = emptyTally();
      for await (const doc of readHours(fn, first, last)) mergeTally(tally, doc);
      return { from, to: now, tally };
    },
    async series(fn, window) {
      ctx.check();
      const now = ctx.now();
      const { first, last } = historyHours(window, now);
      const byHour = new Map<number, Tally>();
      for await (const doc of readHours(fn, first, last)) {
        let tally = byHour.get(doc.hour);
        if (tally === undefined) byHour.set(doc.hour, (tally = emptyTally()));
        mergeTally(tally, doc);
      }
      return hourSeries(window, now, byHour);
    },
    async prune(cutoff) {
      ctx.check();
      await col.deleteMany({ hour: { $lt: Math.floor(cutoff / HOUR_MS) } });
    },
    async forget(fn) {
      ctx.check();
      await col.deleteMany({ function: fn });
    },
  };
}
