/**
 * A function that got `_other` while the labels were taken gets its own once one is free again
 * (red team round 26). The gateway kept the label it first found for a name (its cached children):
 * another workspace's functions filled the cap for a while, then were deleted, and this
 * workspace's function stayed `_other` in fp_invocations_total and the duration histogram until a
 * restart, dark for its workspace token and its alerts, while the async families already showed it
 * under its own name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { GatewayMetrics } from '../../gateway/metrics.js';
import type { InvocationPool } from '../../gateway/pool.js';
import { functionLabelsOf } from '../../protocol/index.js';

const pool = { stats: () => ({ generic: 0, spawning: 0, specializing: 0, warm: 0, busy: 0, queued: 0, functions: {} }) } as unknown as InvocationPool;

describe('function labels: a name that was _other while the cap was full', () => {
  it('takes its own label once another function\'s delete frees one; what it counted before stays under _other', async () => {
    const registry = new Registry();
    const metrics = new GatewayMetrics(pool, { registry, processMetrics: false, maxFunctions: 10 });
    const labels = functionLabelsOf(registry);
    // One workspace names 8 of 10 at most; two more take the last two (the fair share: protocol/metric-labels.ts).
    const squatters = [...Array.from({ length: 8 }, (_, i) => `squat-${i}.a1`), 'squat.a2', 'squat.a3'];
    for (const name of squatters) metrics.observe(name, 'ok', false, 0.001);
    assert.equal(labels.size, 10);
    metrics.observe('shop.victim', 'ok', false, 0.001); // the cap is full: _other
    assert.match((await metrics.render()).body, /fp_invocations_total\{function="_other",status="ok",cold="false"\} 1\n/);
    for (const name of squatters) labels.forget(name); // the squatter deletes them
    metrics.observe('shop.victim', 'ok', false, 0.001);
    metrics.observe('shop.victim', 'ok', false, 0.001);
    const body = (await metrics.render()).body;
    assert.match(body, /fp_invocations_total\{function="shop\.victim",status="ok",cold="false"\} 2\n/);
    assert.match(body, /fp_invocation_duration_seconds_count\{function="shop\.victim"\} 2\n/);
    assert.match(body, /fp_invocations_total\{function="_other",status="ok",cold="false"\} 1\n/);
    assert.equal(metrics.functionLabel('shop.victim'), 'shop.victim');
  });

  it('what it counted under _other before its label came back is not lost (counted since the last scrape)', async () => {
    const registry = new Registry();
    const metrics = new GatewayMetrics(pool, { registry, processMetrics: false, maxFunctions: 1 });
    metrics.observe('a', 'ok', false, 0.001);
    metrics.observe('b', 'ok', false, 0.001);
    metrics.observe('b', 'ok', false, 0.001); // no scrape in between: pending under _other
    functionLabelsOf(registry).forget('a');
    metrics.observe('b', 'ok', false, 0.001);
    const body = (await metrics.render()).body;
    assert.match(body, /fp_invocations_total\{function="_other",status="ok",cold="false"\} 2\n/);
    assert.match(body, /fp_invocations_total\{function="b",status="ok",cold="false"\} 1\n/);
  });
});
