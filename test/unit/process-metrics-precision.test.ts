/**
 * The event-loop delay monitor behind `nodejs_eventloop_lag_*` samples every 50 ms, not
 * prom-client's default 10 ms (ADR 0268): the default woke an idle platform ~100 times a second.
 * Each sample is the time between two ticks, so an idle loop's p50 reads the precision itself
 * (0.010 s at the default): a loaded machine only makes it later, never shorter.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { EVENT_LOOP_MONITORING_PRECISION_MS, processRegistry } from '../../gateway/process-metrics.js';

describe('process metrics: the event-loop monitor precision', () => {
  it('samples every 50 ms (an idle p50 of at least 0.045 s, not 0.010 s)', async () => {
    assert.equal(EVENT_LOOP_MONITORING_PRECISION_MS, 50);
    const registry = processRegistry();
    await registry.getSingleMetricAsString('nodejs_eventloop_lag_seconds'); // resets the histogram
    await sleep(600);
    const values = await registry.getMetricsAsJSON();
    const read = (name: string): number => {
      const metric = values.find((m) => m.name === name) as { values: { value: number }[] } | undefined;
      assert.ok(metric, name);
      return metric.values[0]!.value;
    };
    assert.ok(read('nodejs_eventloop_lag_p50_seconds') >= 0.045, `p50 ${read('nodejs_eventloop_lag_p50_seconds')}`);
  });
});
