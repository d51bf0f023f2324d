/**
 * A burst of calls waiting for one instance's start is one cold start (apps rounds 3 and 5 of
 * 2026-12-05: 8 calls on a new instance with `concurrency: 8` counted 8). Each such call is cold in
 * its latency (it paid the start), but the start, its init time and `fp_cold_starts_total` count
 * once, with the call that started the instance; the others carry `sharedStart`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { addSample, emptyTally, warmLatency } from '../../controlplane/store/metrics/histogram.js';
import { GatewayMetrics } from '../../gateway/metrics.js';
import type { InvocationPool } from '../../gateway/pool.js';

const pool = { stats: () => ({ generic: 0, spawning: 0, specializing: 0, warm: 0, busy: 0, queued: 0, functions: {} }) } as unknown as InvocationPool;

describe('cold starts: a start shared by a burst counts once', () => {
  it('in the usage tally: every waiting call in the cold latency, one start and one init time', () => {
    const tally = emptyTally();
    const base = { function: 'f', runId: 'r', startedAt: 0, durationMs: 20, status: 'succeeded' as const, cold: true, initMs: 15 };
    addSample(tally, base);
    for (let i = 0; i < 7; i++) addSample(tally, { ...base, sharedStart: true });
    addSample(tally, { ...base, cold: false, durationMs: 1 });
    assert.equal(tally.count, 9);
    assert.equal(tally.cold, 1);
    assert.equal(tally.coldLatency.reduce((a, b) => a + b, 0), 8);
    assert.equal(tally.init.reduce((a, b) => a + b, 0), 1);
    assert.equal(warmLatency(tally).reduce((a, b) => a + b, 0), 1, 'only the warm call is warm');
  });

  it('in fp_cold_starts_total: once; in fp_invocations_total{cold="true"}: every such call', async () => {
    const metrics = new GatewayMetrics(pool, { registry: new Registry(), processMetrics: false });
    metrics.observe('f.ws', 'ok', true, 0.02);
    for (let i = 0; i < 7; i++) metrics.observe('f.ws', 'ok', true, 0.02, undefined, true);
    const text = (await metrics.render()).body;
    assert.match(text, /^fp_cold_starts_total\{function="f\.ws"\} 1$/m);
    assert.match(text, /^fp_invocations_total\{function="f\.ws",status="ok",cold="true"\} 8$/m);
  });
});
