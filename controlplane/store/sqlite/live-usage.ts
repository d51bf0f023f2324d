/**
 * LiveUsageStore on SQLite (embedded; metrics/live-state.ts). Hours and totals come from the
 * durable hourly rollups (`usage_rollups`, written a few seconds after the calls, so they survive a
 * crash too); minute buckets and the last success from `usage_live`, written at a graceful stop.
 */
import type { Tally } from '../metrics/histogram.js';
import type { LiveSeed, LiveSnapshot, LiveUsageStore } from '../metrics/live-state.js';
import { fromJson, type SqliteContext } from './context.js';
import { COLUMNS, tallyOf, type RollupRow } from './usage-history.js';

export function sqliteLiveUsage(ctx: SqliteContext): LiveUsageStore {
  const { db } = ctx;
  const hours = db.prepare(`SELECT function, ${COLUMNS} FROM usage_rollups WHERE hour >= ?`);
  const totals = db.prepare('SELECT function, sum(count) AS invocations, sum(errors) AS errors, sum(cold) AS cold_starts FROM usage_rollups GROUP BY function');
  const live = db.prepare('SELECT function, minutes, last_success FROM usage_live');
  const clear = db.prepare('DELETE FROM usage_live');
  const put = db.prepare('INSERT INTO usage_live (function, minutes, last_success) VALUES (?, ?, ?)');
  const replace = db.transaction((snapshots: LiveSnapshot[]) => {
    clear.run();
    for (const s of snapshots) put.run(s.function, JSON.stringify(s.minutes), s.lastSuccess === null ? null : JSON.stringify(s.lastSuccess));
  });
  return {
    async load(hoursSince, minutesSince) {
      ctx.check();
      const seeds = new Map<string, LiveSeed>();
      const seed = (fn: string): LiveSeed => {
        let s = seeds.get(fn);
        if (s === undefined) seeds.set(fn, (s = { function: fn, minutes: [], hours: [], totals: { invocations: 0, errors: 0, coldStarts: 0 }, lastSuccess: null }));
        return s;
      };
      for (const row of totals.all() as { function: string; invocations: number; errors: number; cold_starts: number }[]) {
        seed(row.function).totals = { invocations: row.invocations, errors: row.errors, coldStarts: row.cold_starts };
      }
      for (const row of hours.all(hoursSince) as (RollupRow & { function: string })[]) seed(row.function).hours.push([row.hour, tallyOf(row)]);
      for (const row of live.all() as { function: string; minutes: string; last_success: string | null }[]) {
        const s = seed(row.function);
        s.minutes = fromJson<[number, Tally][]>(row.minutes).filter(([index]) => index >= minutesSince);
        s.lastSuccess = row.last_success === null ? null : fromJson<{ runId: string; at: number }>(row.last_success);
      }
      return [...seeds.values()];
    },
    async save(snapshots) {
      ctx.check();
      replace.immediate(snapshots);
    },
  };
}
