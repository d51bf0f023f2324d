/**
 * The HotMetrics conformance suite: every adapter (in memory for the embedded default, Redis for
 * production) must pass all of it. An adapter's test file calls it at top level:
 *
 *   hotMetricsConformance('memory', async (now) => new MemoryHotMetrics({ now }));
 *
 * `open(now)` must return a fresh, isolated HotMetrics that reads time from `now` (a fake clock the
 * tests move); each test closes what it opened. Assertions are on numbers and codes, never messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketIndex, bucketLower, bucketUpper, type HotMetrics, type RunSample } from '../../controlplane/store/metrics/index.js';
import { rejectsWithCode, uniqueName } from './fixtures.js';

export type OpenHotMetrics = (now: () => number) => Promise<HotMetrics>;

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 55 min 45 s into an hour, so "50 minutes ago" is still this hour and "10 s ago" this minute. */
const NOW = Math.floor(1_900_000_000_000 / HOUR) * HOUR + 55 * MIN + 45_000;

let seq = 0;
function sample(fn: string, overrides: Partial<RunSample> = {}): RunSample {
  seq++;
  return { function: fn, runId: `run-${seq}`, startedAt: NOW - 1000, durationMs: 10, status: 'succeeded', cold: false, ...overrides };
}

async function withMetrics(open: OpenHotMetrics, fn: (m: HotMetrics, clock: { now: number }) => Promise<void>): Promise<void> {
  const clock = { now: NOW };
  const metrics = await open(() => clock.now);
  try {
    await fn(metrics, clock);
  } finally {
    await metrics.close();
  }
}

/** The estimate lies in the same histogram bucket as the true value (so within ~19 %). */
function assertSameBucket(estimate: number | null, truth: number, what: string): void {
  assert.notEqual(estimate, null, `${what} missing`);
  const i = bucketIndex(truth);
  assert.ok(estimate! > bucketLower(i) - 1e-9 && estimate! <= bucketUpper(i) + 1e-9, `${what}: ${estimate} not in (${bucketLower(i)}, ${bucketUpper(i)}] holding ${truth}`);
}

export function hotMetricsConformance(name: string, open: OpenHotMetrics): void {
  describe(`hot metrics conformance: ${name}`, () => {
    it('counts invocations, errors and cold starts, per window and in total', () =>
      withMetrics(open, async (m) => {
        const fn = uniqueName();
        const samples = Array.from({ length: 10 }, (_, i) => sample(fn, { status: i < 3 ? 'failed' : 'succeeded', cold: i >= 8, durationMs: 10 + i }));
        await m.record(samples.slice(0, 4));
        await m.record(samples.slice(4));
        const u = await m.usage(fn, '1m');
        assert.deepEqual([u.invocations, u.errors, u.coldStarts], [10, 3, 2]);
        assert.equal(u.errorRate, 0.3);
        assert.equal(u.coldStartRatio, 0.2);
        assert.ok(Math.abs(u.meanMs! - 14.5) < 1e-9);
        assert.deepEqual(u.totals, { invocations: 10, errors: 3, coldStarts: 2 });
        assert.equal(u.function, fn);
        assert.equal(u.window, '1m');
        assert.equal(u.to, NOW);
        const other = await m.usage(uniqueName(), '1h');
        assert.deepEqual([other.invocations, other.errors, other.coldStarts, other.errorRate, other.coldStartRatio], [0, 0, 0, 0, 0]);
        assert.deepEqual([other.p50Ms, other.p95Ms, other.p99Ms, other.meanMs, other.lastSuccess], [null, null, null, null, null]);
        assert.equal(other.state, 'cold');
        await m.record([]);
      }));

    it('computes p50/p95/p99 from merged buckets within one bucket of the true values', () =>
      withMetrics(open, async (m) => {
        const fn = uniqueName();
        // 1..1000 ms, shuffled, in batches: true p50 = 500, p95 = 950, p99 = 990.
        const durations = Array.from({ length: 1000 }, (_, i) => i + 1);
        for (let i = durations.length - 1; i > 0; i--) {
          const j = (i * 7919) % (i + 1);
          [durations[i], durations[j]] = [durations[j]!, durations[i]!];
        }
        for (let i = 0; i < durations.length; i += 250) {
          await m.record(durations.slice(i, i + 250).map((d, k) => sample(fn, { durationMs: d, startedAt: NOW - 1000 - ((i + k) % 40) * 1000 })));
        }
        const u = await m.usage(fn, '15m');
        assert.equal(u.invocations, 1000);
        assertSameBucket(u.p50Ms, 500, 'p50');
        assertSameBucket(u.p95Ms, 950, 'p95');
        assertSameBucket(u.p99Ms, 990, 'p99');
        assert.ok(u.p50Ms! <= u.p95Ms! && u.p95Ms! <= u.p99Ms!);
        assert.ok(Math.abs(u.meanMs! - 500.5) < 1e-6);
        // A constant latency stays inside its bucket at every quantile; sub-quarter-ms and huge values are clamped.
        const flat = uniqueName();
        await m.record([...Array.from({ length: 99 }, () => sample(flat, { durationMs: 42 })), sample(flat, { durationMs: 42 })]);
        const f = await m.usage(flat, '1m');
        for (const p of [f.p50Ms, f.p95Ms, f.p99Ms]) assertSameBucket(p, 42, 'constant');
        const edges = uniqueName();
        await m.record([sample(edges, { durationMs: 0 }), sample(edges, { durationMs: 10 * HOUR })]);
        const e = await m.usage(edges, '1m');
        assert.ok(e.p50Ms! >= 0 && e.p50Ms! <= 0.25);
        assert.equal(e.p99Ms, bucketLower(bucketIndex(10 * HOUR)));
      }));

    it('splits latency into cold and warm, keeps the cold runs\' init time, and counts scale-to-zero events apart from runs', () =>
      withMetrics(open, async (m) => {
        const fn = uniqueName();
        const warm = Array.from({ length: 20 }, () => sample(fn, { durationMs: 2 }));
        const cold = Array.from({ length: 5 }, () => sample(fn, { durationMs: 40, cold: true, initMs: 30 }));
        await m.record([...warm, ...cold]);
        await m.record([sample(fn, { kind: 'scale-to-zero', durationMs: 0 }), sample(fn, { kind: 'scale-to-zero', durationMs: 0, startedAt: NOW - 20 * MIN })]);
        const u = await m.usage(fn, '1h');
        assert.deepEqual([u.invocations, u.coldStarts, u.scaleToZero], [25, 5, 2]);
        assertSameBucket(u.coldP50Ms, 40, 'cold p50');
        assertSameBucket(u.coldP95Ms, 40, 'cold p95');
        assertSameBucket(u.warmP50Ms, 2, 'warm p50');
        assertSameBucket(u.warmP95Ms, 2, 'warm p95');
        assertSameBucket(u.initP50Ms, 30, 'init p50');
        assert.deepEqual(u.totals, { invocations: 25, errors: 0, coldStarts: 5 }, 'events are not runs');
        assert.equal((await m.usage(fn, '1m')).scaleToZero, 1);
        const quiet = await m.usage(uniqueName(), '1h');
        assert.deepEqual([quiet.coldP50Ms, quiet.warmP95Ms, quiet.initP95Ms, quiet.scaleToZero], [null, null, null, 0]);
      }));

    it('answers a window bucket by bucket, oldest first, empty buckets included', () =>
      withMetrics(open, async (m) => {
        const fn = uniqueName();
        await m.record([
          sample(fn, { startedAt: NOW - 1000 }),
          sample(fn, { startedAt: NOW - 1000, cold: true, initMs: 5, durationMs: 8 }),
          sample(fn, { startedAt: NOW - 10 * MIN, status: 'failed' }),
          sample(fn, { startedAt: NOW - 3 * HOUR }),
        ]);
        const hour = await m.series(fn, '1h');
        assert.equal(hour.stepMs, MIN);
        assert.equal(hour.buckets.length, 60);
        assert.equal(hour.from, hour.buckets[0]!.at);
        assert.equal(hour.buckets.at(-1)!.at, Math.floor(NOW / MIN) * MIN);
        assert.ok(hour.buckets.every((b, i) => i === 0 || b.at - hour.buckets[i - 1]!.at === MIN));
        assert.deepEqual([hour.buckets.at(-1)!.tally.count, hour.buckets.at(-1)!.tally.cold], [2, 1]);
        assert.deepEqual([hour.buckets.at(-11)!.tally.count, hour.buckets.at(-11)!.tally.errors], [1, 1]);
        assert.equal(hour.buckets.reduce((n, b) => n + b.tally.count, 0), 3);
        const day = await m.series(fn, '24h');
        assert.equal(day.stepMs, HOUR);
        assert.equal(day.buckets.length, 24);
        assert.equal(day.buckets.reduce((n, b) => n + b.tally.count, 0), 4);
        assert.equal(day.buckets.at(-4)!.tally.count, 1);
        const none = await m.series(uniqueName(), '15m');
        assert.equal(none.buckets.length, 15);
        assert.ok(none.buckets.every((b) => b.tally.count === 0));
      }));

    it('merges 1 m / 15 m / 1 h from minute buckets and 24 h from hour buckets', () =>
      withMetrics(open, async (m) => {
        const fn = uniqueName();
        const at = [10_000, 2 * MIN, 10 * MIN, 30 * MIN, 50 * MIN, 3 * HOUR, 20 * HOUR, 30 * HOUR];
        const durations = [10, 100, 1000, 5, 5, 5, 5, 5];
        await m.record(at.map((ago, i) => sample(fn, { startedAt: NOW - ago, durationMs: durations[i]!, status: i % 2 ? 'failed' : 'succeeded' })));
        const counts: Record<string, number> = {};
        for (const window of ['1m', '15m', '1h', '24h'] as const) counts[window] = (await m.usage(fn, window)).invocations;
        assert.deepEqual(counts, { '1m': 1, '15m': 3, '1h': 5, '24h': 7 });
        const w1 = await m.usage(fn, '1m');
        // A window covers at least all of it: its buckets and the current, partial one.
        assert.equal(w1.from, (Math.floor(NOW / MIN) - 1) * MIN);
        assertSameBucket(w1.p99Ms, 10, '1m p99');
        const w15 = await m.usage(fn, '15m');
        assert.equal(w15.from, (Math.floor(NOW / MIN) - 15) * MIN);
        assertSameBucket(w15.p99Ms, 1000, '15m p99');
        assertSameBucket(w15.p50Ms, 100, '15m p50');
        assert.equal(w15.errors, 1);
        const w24 = await m.usage(fn, '24h');
        assert.equal(w24.from, (Math.floor(NOW / HOUR) - 24) * HOUR);
        assert.deepEqual(w24.totals, { invocations: 8, errors: 4, coldStarts: 0 });
      }));

    it('sums warm reports from every reporter until they expire; paused wins over warm', () =>
      withMetrics(open, async (m, clock) => {
        const fn = uniqueName();
        await m.setWarm(fn, 'gateway-1', 2, 30_000);
        await m.setWarm(fn, 'gateway-2', 1, 60_000);
        let u = await m.usage(fn, '1m');
        assert.deepEqual([u.warmInstances, u.state], [3, 'warm']);
        await m.setWarm(fn, 'gateway-1', 0);
        assert.equal((await m.usage(fn, '1m')).warmInstances, 1);
        await m.setWarm(fn, 'gateway-1', 4, 30_000);
        clock.now += 31_000;
        u = await m.usage(fn, '1m');
        assert.deepEqual([u.warmInstances, u.state], [1, 'warm'], 'gateway-1 expired, gateway-2 still live');
        clock.now += 30_000;
        u = await m.usage(fn, '1m');
        assert.deepEqual([u.warmInstances, u.state], [0, 'cold']);
        await m.setWarm(fn, 'gateway-3', 2);
        await m.setPaused(fn, true);
        assert.equal((await m.usage(fn, '1m')).state, 'paused');
        await m.setPaused(fn, false);
        assert.equal((await m.usage(fn, '1m')).state, 'warm');
        await assert.rejects(m.setWarm(fn, 'g', -1), RangeError);
        await assert.rejects(m.setWarm(fn, 'g', 1.5), RangeError);
        await assert.rejects(m.usage(fn, '5m' as '1m'), RangeError);
      }));

    it('applies a batch id once: a retried batch is not counted twice', () =>
      withMetrics(open, async (m) => {
        const fn = uniqueName();
        const batch = [sample(fn), sample(fn, { status: 'failed' })];
        const id = `batch-${uniqueName()}`;
        await m.record(batch, { batchId: id });
        await m.record(batch, { batchId: id });
        assert.equal((await m.usage(fn, '1m')).totals.invocations, 2);
        await m.record(batch, { batchId: `${id}-other` });
        await m.record(batch);
        assert.deepEqual((await m.usage(fn, '1m')).totals, { invocations: 6, errors: 3, coldStarts: 0 });
      }));

    it('keeps the newest successful run, whatever order batches arrive in', () =>
      withMetrics(open, async (m) => {
        const fn = uniqueName();
        const newest = sample(fn, { startedAt: NOW - 1000 });
        await m.record([newest, sample(fn, { startedAt: NOW - 500, status: 'failed' })]);
        await m.record([sample(fn, { startedAt: NOW - 5000 })]);
        assert.deepEqual((await m.usage(fn, '1h')).lastSuccess, { runId: newest.runId, at: newest.startedAt });
        const later = sample(fn, { startedAt: NOW - 100 });
        await m.record([later]);
        assert.deepEqual((await m.usage(fn, '1m')).lastSuccess, { runId: later.runId, at: later.startedAt });
      }));

    it('keeps functions apart and forgets one completely', () =>
      withMetrics(open, async (m) => {
        const a = uniqueName();
        const b = uniqueName();
        await m.record([sample(a), sample(a, { status: 'failed' }), sample(b)]);
        await m.setWarm(a, 'gw', 1);
        await m.setPaused(a, true);
        assert.equal((await m.usage(a, '1m')).invocations, 2);
        assert.equal((await m.usage(b, '1m')).invocations, 1);
        await m.forget(a);
        const gone = await m.usage(a, '24h');
        assert.deepEqual([gone.invocations, gone.totals.invocations, gone.warmInstances, gone.state, gone.lastSuccess], [0, 0, 0, 'cold', null]);
        assert.equal((await m.usage(b, '24h')).invocations, 1);
      }));

    it('refuses calls after close with STORE_CLOSED; close is idempotent', async () => {
      const m = await open(() => NOW);
      await m.close();
      await m.close();
      await rejectsWithCode(m.record([sample(uniqueName())]), 'STORE_CLOSED');
      await rejectsWithCode(m.usage(uniqueName(), '1m'), 'STORE_CLOSED');
      await rejectsWithCode(m.setWarm(uniqueName(), 'g', 1), 'STORE_CLOSED');
    });
  });
}
