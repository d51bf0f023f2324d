/**
 * A deleted function's late series (red team round 26). Its async runs still queued are
 * dead-lettered after the delete (`function_deleted`), its running ones end (`failed_final`), a
 * scrape reads its draining instances: each asked FunctionLabels for its label again, after
 * `forget` had given it back. The name then held a label for ever (ADR 0153's give-back undone by
 * any delete with runs queued) and its new series stayed: a function created later under the key
 * showed the deleted one's dead letters and attempts as its own (measured on a platform:
 * /work/probe-red26/label-leak.sh). The control plane's registry says what exists now
 * (labelOnlyExisting); a name it does not hold goes to `_other`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { AsyncMetrics } from '../../controlplane/async/metrics.js';
import { GatewayMetrics } from '../../gateway/metrics.js';
import type { InvocationPool } from '../../gateway/pool.js';
import { functionLabelsOf, labelOnlyExisting, OTHER_FUNCTION } from '../../protocol/index.js';

const pool = { stats: () => ({ generic: 0, spawning: 0, specializing: 0, warm: 0, busy: 0, queued: 0, functions: {} }) } as unknown as InvocationPool;

/** A registry of metrics (the gateway's families remove a deleted function's series), its label cap told what exists by `live` (the control plane's function registry). */
function setUp(): { registry: Registry; metrics: AsyncMetrics; live: Set<string> } {
  const registry = new Registry();
  const live = new Set<string>();
  labelOnlyExisting(registry, (name) => live.has(name));
  new GatewayMetrics(pool, { registry, processMetrics: false });
  return { registry, metrics: new AsyncMetrics({ registry, queue: null }), live };
}

/** What deleteFunction does: out of the registry, then its series and label forgotten. */
function remove(registry: Registry, live: Set<string>, name: string): void {
  live.delete(name);
  functionLabelsOf(registry).forget(name);
}

describe('function labels: a deleted function\'s series after its delete', () => {
  it('its queued runs dead-lettered after the delete take no label and leave no series under its name', async () => {
    const { registry, metrics, live } = setUp();
    const labels = functionLabelsOf(registry);
    for (let i = 0; i < 500; i++) {
      const name = `pr-${i}`;
      live.add(name);
      metrics.attempt(name, 'succeeded');
      remove(registry, live, name);
      metrics.claimed(name, 0.5); // the next queued run, claimed after the delete
      metrics.deadLettered(name, 'function_deleted');
      metrics.attempt(name, 'failed_final'); // a run that was running as it went
    }
    assert.equal(labels.size, 0, 'no deleted name holds a label');
    live.add('fresh');
    assert.equal(labels.of('fresh'), 'fresh', 'a new function still gets its own label');
    const body = await registry.metrics();
    assert.equal(/function="pr-/.test(body), false, 'no series under a deleted name');
    assert.match(body, new RegExp(`fp_async_dead_letters_total\\{function="${OTHER_FUNCTION}",reason="function_deleted"\\} 500`));
  });

  it('a function created again under the key starts from zero, not from the deleted one\'s dead letters', async () => {
    const { registry, metrics, live } = setUp();
    live.add('leak-2');
    metrics.attempt('leak-2', 'succeeded');
    remove(registry, live, 'leak-2');
    for (let i = 0; i < 4; i++) metrics.deadLettered('leak-2', 'non_retryable');
    live.add('leak-2'); // created again (maybe by another tenant, in a workspace name recycled)
    const body = await registry.metrics();
    assert.equal(body.includes('function="leak-2"'), false, body.split('\n').filter((l) => l.includes('leak-2')).join('\n'));
  });
});
