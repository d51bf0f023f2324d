/**
 * UsageHistory on SQLite (embedded): one `usage_rollups` row per function-hour, updated with the
 * batch's id in one transaction, so a batch counts whole, once, or not at all.
 */
import { emptyTally, HOUR_MS, mergeTally, type Tally } from '../metrics/histogram.js';
import { historyHours, hourSeries, rollupsOf, type UsageHistory } from '../metrics/history.js';
import { fromJson, type SqliteContext } from './context.js';

/** Batch ids are remembered this long (a retry comes within minutes). */
const BATCH_ID_TTL_MS = 24 * 60 * 60 * 1000;

export interface RollupRow {
  hour: number;
  count: number;
  errors: number;
  cold: number;
  sum_ms: number;
  latency: string;
  /** '[]' in rows written before migration 5 (merged as zeros). */
  cold_latency: string;
  init: string;
  scale_to_zero: number;
}

/** A row as a full Tally (histograms a row lacks are zeros). */
export function tallyOf(row: RollupRow): Tally {
  const tally = emptyTally();
  mergeTally(tally, { count: row.count, errors: row.errors, cold: row.cold, sumMs: row.sum_ms, latency: fromJson<number[]>(row.latency), coldLatency: fromJson<number[]>(row.cold_latency), init: fromJson<number[]>(row.init), scaleToZero: row.scale_to_zero });
  return tally;
}

export const COLUMNS = 'hour, count, errors, cold, sum_ms, latency, cold_latency, init, scale_to_zero';

export function sqliteUsageHistory(ctx: SqliteContext): UsageHistory {
  const { db } = ctx;
  const seen = db.prepare('INSERT OR IGNORE INTO usage_batches (batch_id, at) VALUES (?, ?)');
  const forgetOld = db.prepare('DELETE FROM usage_batches WHERE at < ?');
  const read = db.prepare(`SELECT ${COLUMNS} FROM usage_rollups WHERE function = ? AND hour = ?`);
  const write = db.prepare(
    `INSERT INTO usage_rollups (function, hour, count, errors, cold, sum_ms, latency, cold_latency, init, scale_to_zero) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (function, hour) DO UPDATE SET count = excluded.count, errors = excluded.errors, cold = excluded.cold, sum_ms = excluded.sum_ms,
       latency = excluded.latency, cold_latency = excluded.cold_latency, init = excluded.init, scale_to_zero = excluded.scale_to_zero`,
  );
  const pruneBefore = db.prepare('DELETE FROM usage_rollups WHERE hour < ?');
  const forgetFunction = db.prepare('DELETE FROM usage_rollups WHERE function = ?');
  const range = db.prepare(`SELECT ${COLUMNS} FROM usage_rollups WHERE function = ? AND hour BETWEEN ? AND ?`);
  const apply = db.transaction((rollups: ReturnType<typeof rollupsOf>, batchId: string, now: number) => {
    if (seen.run(batchId, now).changes === 0) return;
    forgetOld.run(now - BATCH_ID_TTL_MS);
    for (const { function: fn, hour, tally } of rollups.values()) {
      const row = read.get(fn, hour) as RollupRow | undefined;
      const merged = row === undefined ? emptyTally() : tallyOf(row);
      mergeTally(merged, tally);
      write.run(fn, hour, merged.count, merged.errors, merged.cold, merged.sumMs, JSON.stringify(merged.latency), JSON.stringify(merged.coldLatency), JSON.stringify(merged.init), merged.scaleToZero);
    }
  });
  return {
    async record(samples, batchId) {
      ctx.check();
      if (samples.length === 0) return;
      apply.immediate(rollupsOf(samples), batchId, ctx.now());
    },
    async usage(fn, window) {
      ctx.check();
      const now = ctx.now();
      const { first, last, from } = historyHours(window, now);
      const tally = emptyTally();
      for (const row of range.all(fn, first, last) as RollupRow[]) mergeTally(tally, tallyOf(row));
      return { from, to: now, tally };
    },
    async series(fn, window) {
      ctx.check();
      const now = ctx.now();
      const { first, last } = historyHours(window, now);
      const byHour = new Map<number, Tally>();
      for (const row of range.all(fn, first, last) as RollupRow[]) byHour.set(row.hour, tallyOf(row));
      return hourSeries(window, now, byHour);
    },
    async prune(cutoff) {
      ctx.check();
      pruneBefore.run(Math.floor(cutoff / HOUR_MS));
    },
    async forget(fn) {
      ctx.check();
      forgetFunction.run(fn);
    },
  };
}
