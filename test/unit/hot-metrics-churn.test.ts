/**
 * The embedded live metrics keep no state for deleted functions (soak1): the warm reporter's last
 * report of a deleted function (0 instances, sent once its drained instances stop, after the
 * delete's `forget`) made a new empty state, three Maps, for every name the platform ever
 * deleted, until a restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WarmReporter } from '../../controlplane/runs/warm-reporter.js';
import { MemoryHotMetrics } from '../../controlplane/store/index.js';

const CYCLES = 500;
/** The functions the embedded live metrics hold state for (a private field: what leaked). */
const held = (m: MemoryHotMetrics): number => (m as unknown as { fns: Map<string, unknown> }).fns.size;

describe('embedded live metrics: functions created and deleted again and again', () => {
  it(`${CYCLES} functions warm, deleted, then withdrawn by the warm reporter: the state held returns to baseline`, async () => {
    const metrics = new MemoryHotMetrics();
    let functions: Record<string, { name: string; warm: number; busy: number }> = { 'steady@1': { name: 'steady', warm: 1, busy: 0 } };
    const reporter = new WarmReporter({ stats: () => ({ functions }) }, metrics, 'proc-1', 10_000, () => {});
    await reporter.report();
    const baseline = held(metrics);
    for (let i = 0; i < CYCLES; i++) {
      const name = `pr-${i}`;
      functions = { ...functions, [`${name}@1`]: { name, warm: 1, busy: 0 } };
      await reporter.report();
      assert.equal((await metrics.usage(name, '1m')).warmInstances, 1);
      await metrics.forget(name); // DELETE /functions/pr-i
      const { [`${name}@1`]: _gone, ...rest } = functions;
      functions = rest; // its instance drained and stopped
      await reporter.report(); // withdraws it: 0
    }
    assert.equal(held(metrics), baseline);
    assert.equal((await metrics.usage('steady', '1m')).warmInstances, 1);
  });
});
