/**
 * A deleted function's series leave the metrics registry (red team 6, December 2026): the gateway's
 * families and any other family with a `function` label in the same registry (prom-client Counter,
 * Gauge, Histogram: found in their `hashMap`, so a prom-client upgrade that moves it fails here),
 * and a call of the deleted function that began before the delete is not counted when it ends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { GatewayMetrics } from '../../gateway/metrics.js';
import type { InvocationPool } from '../../gateway/pool.js';
import { functionLabelsOf } from '../../protocol/index.js';

const pool = { stats: () => ({ generic: 0, spawning: 0, specializing: 0, warm: 0, busy: 0, queued: 0, functions: {} }) } as unknown as InvocationPool;

describe('gateway metrics: forgetting a deleted function', () => {
  it('removes its series from every family of the registry, keeps the others\', and does not count its calls that began before', async () => {
    const registry = new Registry();
    const metrics = new GatewayMetrics(pool, { registry, processMetrics: false });
    const labels = functionLabelsOf(registry);
    const attempts = new Counter({ name: 'fp_test_attempts_total', help: 'h', labelNames: ['function', 'outcome'], registers: [registry] });
    const lag = new Histogram({ name: 'fp_test_lag_seconds', help: 'h', labelNames: ['function'], buckets: [1], registers: [registry] });
    for (const fn of ['gone.ws', 'kept.ws']) {
      metrics.observe(labels.of(fn), 'ok', true, 0.01);
      attempts.inc({ function: fn, outcome: 'succeeded' });
      lag.observe({ function: fn }, 0.5);
    }
    const before = (await metrics.render()).body;
    assert.ok(before.includes('function="gone.ws"'));
    const startedBefore = Date.now() - 1;
    labels.forget('gone.ws');
    const after = (await metrics.render()).body;
    assert.equal(after.includes('gone.ws'), false, after);
    for (const family of ['fp_invocations_total', 'fp_invocation_duration_seconds_count', 'fp_cold_starts_total', 'fp_test_attempts_total', 'fp_test_lag_seconds_count']) {
      assert.ok(after.split('\n').some((l) => l.startsWith(family) && l.includes('function="kept.ws"')), `${family} of another function kept`);
    }
    // A call of the deleted function still draining ends now: not counted; a call of a new one under the key is.
    metrics.observe('gone.ws', 'ok', false, 0.01, startedBefore);
    assert.equal((await metrics.render()).body.includes('gone.ws'), false);
    metrics.observe('gone.ws', 'ok', false, 0.01, Date.now() + 1);
    assert.match((await metrics.render()).body, /fp_invocations_total\{function="gone\.ws",status="ok",cold="false"\} 1\n/);
  });
});
