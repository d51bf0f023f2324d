/**
 * The UsageHistory conformance suite (hourly usage rollups): the SQLite adapter (embedded) and the
 * MongoDB adapter (FerretDB here) must pass all of it. `open(now)` returns a fresh, isolated store
 * whose `usageHistory` reads time from `now`; the suite closes it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketIndex, bucketLower, bucketUpper, percentile, type RunSample, type Store, type UsageHistory } from '../../controlplane/store/index.js';
import { uniqueName } from './fixtures.js';

export type OpenHistoryStore = (now: () => number) => Promise<Store>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Half past an hour, so "now" is inside the current (partial) hour. */
const NOW = Math.floor(1_900_000_000_000 / HOUR) * HOUR + HOUR / 2;

let seq = 0;
function sample(fn: string, overrides: Partial<RunSample> = {}): RunSample {
  seq++;
  return { function: fn, runId: `hist-${seq}`, startedAt: NOW - 1000, durationMs: 10, status: 'succeeded', cold: false, ...overrides };
}

async function withHistory(open: OpenHistoryStore, fn: (h: UsageHistory) => Promise<void>): Promise<void> {
  const store = await open(() => NOW);
  try {
    assert.ok(store.usageHistory, 'the store keeps usage history');
    await fn(store.usageHistory);
  } finally {
    await store.close();
  }
}

function assertSameBucket(estimate: number | null, truth: number, what: string): void {
  assert.notEqual(estimate, null, `${what} missing`);
  const i = bucketIndex(truth);
  assert.ok(estimate! > bucketLower(i) - 1e-9 && estimate! <= bucketUpper(i) + 1e-9, `${what}: ${estimate} not in the bucket of ${truth}`);
}

export function usageHistoryConformance(name: string, open: OpenHistoryStore): void {
  describe(`usage history conformance: ${name}`, () => {
    it('counts invocations, errors, cold starts and latency across hours and batches', () =>
      withHistory(open, async (h) => {
        const fn = uniqueName();
        const samples = Array.from({ length: 10 }, (_, i) => sample(fn, { status: i < 3 ? 'failed' : 'succeeded', cold: i >= 8, durationMs: 10 + i, startedAt: NOW - i * 5 * HOUR }));
        await h.record(samples.slice(0, 4), 'b1');
        await h.record(samples.slice(4), 'b2');
        await h.record([sample(uniqueName())], 'b3');
        const { tally, from, to } = await h.usage(fn, '7d');
        assert.deepEqual([tally.count, tally.errors, tally.cold], [10, 3, 2]);
        assert.ok(Math.abs(tally.sumMs - 145) < 1e-9);
        assert.equal(tally.latency.reduce((a, b) => a + b, 0), 10);
        assert.equal(to, NOW);
        assert.equal(from, NOW - HOUR / 2 - (7 * 24 - 1) * HOUR);
        assert.equal((await h.usage(uniqueName(), '30d')).tally.count, 0);
      }));

    it('keeps cold latency, init time and scale-to-zero events, and answers hour by hour', () =>
      withHistory(open, async (h) => {
        const fn = uniqueName();
        await h.record([
          sample(fn, { durationMs: 50, cold: true, initMs: 20 }),
          sample(fn, { durationMs: 3 }),
          sample(fn, { startedAt: NOW - 5 * HOUR, durationMs: 3 }),
          sample(fn, { startedAt: NOW - 5 * HOUR, kind: 'scale-to-zero', durationMs: 0 }),
        ], `cold-${fn}`);
        const { tally } = await h.usage(fn, '7d');
        assert.deepEqual([tally.count, tally.cold, tally.scaleToZero], [3, 1, 1]);
        assertSameBucket(percentile(tally.coldLatency, 0.5), 50, 'cold p50');
        assertSameBucket(percentile(tally.init, 0.5), 20, 'init p50');
        const series = await h.series(fn, '7d');
        assert.equal(series.stepMs, HOUR);
        assert.equal(series.buckets.length, 7 * 24);
        assert.equal(series.buckets.at(-1)!.at, NOW - HOUR / 2);
        assert.deepEqual([series.buckets.at(-1)!.tally.count, series.buckets.at(-1)!.tally.cold], [2, 1]);
        assert.deepEqual([series.buckets.at(-6)!.tally.count, series.buckets.at(-6)!.tally.scaleToZero], [1, 1]);
        assert.equal((await h.series(fn, '30d')).buckets.length, 30 * 24);
        assert.equal((await h.series(uniqueName(), '7d')).buckets.every((b) => b.tally.count === 0), true);
      }));

    it('percentiles of merged buckets match a known distribution', () =>
      withHistory(open, async (h) => {
        const fn = uniqueName();
        // 1..1000 ms, spread over 40 hours and 4 batches: p50 = 500, p95 = 950, p99 = 990.
        const samples = Array.from({ length: 1000 }, (_, i) => sample(fn, { durationMs: i + 1, startedAt: NOW - (i % 40) * HOUR }));
        for (let b = 0; b < 4; b++) await h.record(samples.slice(b * 250, (b + 1) * 250), `p${b}`);
        const { tally } = await h.usage(fn, '7d');
        assertSameBucket(percentile(tally.latency, 0.5), 500, 'p50');
        assertSameBucket(percentile(tally.latency, 0.95), 950, 'p95');
        assertSameBucket(percentile(tally.latency, 0.99), 990, 'p99');
      }));

    it('a batch replayed under the same id counts once; another id counts again', () =>
      withHistory(open, async (h) => {
        const fn = uniqueName();
        const batch = [sample(fn), sample(fn, { startedAt: NOW - 2 * HOUR })];
        const id = `replay-${uniqueName()}`;
        await h.record(batch, id);
        await h.record(batch, id);
        await Promise.all([h.record(batch, id), h.record(batch, id)]);
        assert.equal((await h.usage(fn, '7d')).tally.count, 2);
        await h.record(batch, `${id}-again`);
        assert.equal((await h.usage(fn, '7d')).tally.count, 4);
      }));

    it('windows: 7d and 30d hold the hours they cover, nothing older or newer', () =>
      withHistory(open, async (h) => {
        const fn = uniqueName();
        const at = (ms: number): RunSample => sample(fn, { startedAt: ms });
        const hourStart = NOW - HOUR / 2;
        await h.record(
          [
            at(NOW), // current hour: both
            at(hourStart - (7 * 24 - 1) * HOUR), // first hour of 7d: both
            at(hourStart - 7 * DAY + 1), // just before 7d: 30d only
            at(hourStart - (30 * 24 - 1) * HOUR), // first hour of 30d
            at(hourStart - 30 * DAY - 1), // before 30d: neither
            at(hourStart + HOUR), // a later hour (clock skew): neither
          ],
          `w-${uniqueName()}`,
        );
        assert.equal((await h.usage(fn, '7d')).tally.count, 2);
        assert.equal((await h.usage(fn, '30d')).tally.count, 4);
        // Pruning at the start of the 7d window keeps exactly its hours.
        await h.prune(hourStart - (7 * 24 - 1) * HOUR);
        assert.equal((await h.usage(fn, '30d')).tally.count, 2);
      }));

    it('forget deletes every rollup of one function, and only of it (a deleted function, red team 5)', () =>
      withHistory(open, async (h) => {
        const gone = uniqueName();
        const kept = uniqueName();
        await h.record([sample(gone), sample(gone, { startedAt: NOW - 3 * DAY }), sample(kept)], `f-${uniqueName()}`);
        await h.forget(gone);
        assert.equal((await h.usage(gone, '30d')).tally.count, 0);
        assert.equal((await h.usage(kept, '30d')).tally.count, 1);
      }));
  });
}
