/**
 * The async wing's metrics over a real SQLite queue (controlplane/async/metrics.ts): the queue
 * gauges read the queue once per scrape, sum functions past the label cap into `_other`, and a
 * queue that cannot answer leaves them empty for that scrape instead of failing it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { AsyncMetrics, openSqliteQueue, type Queue } from '../../controlplane/async/index.js';
import { functionLabelsOf, OTHER_FUNCTION } from '../../protocol/index.js';
import { parseExposition, valueOf } from '../helpers/prom-text.js';

async function withQueue(fn: (queue: Queue) => Promise<void>): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'fp-async-metrics-'));
  const queue = await openSqliteQueue({ stateDir });
  try {
    await fn(queue);
  } finally {
    await queue.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

describe('async metrics over the SQLite queue', () => {
  it('reads the queue once per scrape; past the label cap functions share _other', () =>
    withQueue(async (queue) => {
      let reads = 0;
      const counted: Queue = Object.create(queue, { functionStats: { value: () => (reads++, queue.functionStats()) } }) as Queue;
      const registry = new Registry();
      functionLabelsOf(registry, 1); // the platform's cap is 500; one makes the overflow visible
      const metrics = new AsyncMetrics({ registry, queue: counted });
      const t0 = Date.now();
      await queue.enqueue({ runId: 'a1', function: 'a', payload: Buffer.from('x') });
      await queue.enqueue({ runId: 'b1', function: 'b', payload: Buffer.from('x') });
      await queue.enqueue({ runId: 'c1', function: 'c', payload: Buffer.from('x'), notBefore: Date.now() + 60_000 });
      await queue.enqueue({ runId: 'c2', function: 'c', payload: Buffer.from('x') });
      await new Promise((r) => setTimeout(r, 50));
      metrics.attempt('a', 'succeeded');
      metrics.attempt('z', 'failed_retry');

      const m = parseExposition(await registry.metrics());
      assert.equal(reads, 1, 'both gauges share one read');
      assert.equal(valueOf(m, 'fp_async_queue_depth', { function: 'a', state: 'ready' }), 1);
      assert.equal(valueOf(m, 'fp_async_queue_depth', { function: OTHER_FUNCTION, state: 'ready' }), 2, 'b and c');
      assert.equal(valueOf(m, 'fp_async_queue_depth', { function: OTHER_FUNCTION, state: 'delayed' }), 1);
      const age = valueOf(m, 'fp_async_queue_oldest_age_seconds', { function: OTHER_FUNCTION })!;
      assert.ok(age >= 0.04 && age <= (Date.now() - t0) / 1000, `age ${age}`);
      assert.equal(valueOf(m, 'fp_async_attempts_total', { function: OTHER_FUNCTION, outcome: 'failed_retry' }), 1);
      await registry.metrics();
      assert.equal(reads, 2, 'a new scrape reads again');
    }));

  it('leaves the queue gauges empty when the queue cannot answer, and says why', () =>
    withQueue(async (queue) => {
      const errors: unknown[] = [];
      const registry = new Registry();
      new AsyncMetrics({ registry, queue, onError: (err) => errors.push(err) });
      await queue.enqueue({ runId: 'a1', function: 'a', payload: Buffer.from('x') });
      await queue.close();
      const m = parseExposition(await registry.metrics());
      assert.deepEqual(m.get('fp_async_queue_depth')?.samples, []);
      assert.deepEqual(m.get('fp_async_queue_oldest_age_seconds')?.samples, []);
      assert.equal((errors[0] as { code?: string }).code, 'QUEUE_CLOSED');
    }));
});
