/**
 * The embedded run store prunes large runs a few at a time (red team round 21, red24). A failing
 * function keeps 256 KiB of logs per run; 2 000 of them were one DELETE of ~230 ms on the event
 * loop, every other tenant's calls waiting behind it, each time the size cap pruned them. Counted
 * here in turns of the event loop during a prune, not in time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PRUNE_BYTES } from '../../controlplane/store/sqlite/runs.js';
import { run } from '../conformance/fixtures.js';
import { useSqliteStore } from '../helpers/sqlite-store.js';

const RUNS = 64;
const LOG = 'x'.repeat(256 * 1024);
const T0 = 1_700_000_000_000;

/** Turns of the event loop (setImmediate callbacks) while `action` runs. */
async function turnsDuring(action: () => Promise<number>): Promise<{ turns: number; result: number }> {
  let turns = 0;
  let stop = false;
  const tick = (): void => {
    if (stop) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await action();
  stop = true;
  return { turns, result };
}

describe('pruning runs with large logs on the embedded store', () => {
  const h = useSqliteStore('fp-run-prune-');

  async function fill(fn: string): Promise<void> {
    await h.store.runs.record(Array.from({ length: RUNS }, (_, i) => run({ function: fn, status: 'failed', startedAt: T0 + i, logs: [{ stream: 'stderr', ts: T0, msg: LOG }] })));
  }

  it('by the size cap: about a MiB of logs per step, the event loop served between steps', async () => {
    await fill('boom.tenant');
    const { turns, result } = await turnsDuring(() => h.store.runs.pruneOldest(RUNS));
    assert.equal(result, RUNS);
    const steps = Math.floor((RUNS * LOG.length) / PRUNE_BYTES);
    assert.ok(turns >= steps / 2, `${turns} turns of the event loop while ${RUNS} runs of 256 KiB were pruned (${steps} steps of at most ${PRUNE_BYTES} bytes expected)`);
  });

  it('by age: the same', async () => {
    await fill('old.tenant');
    const { turns, result } = await turnsDuring(() => h.store.runs.prune(T0 + RUNS));
    assert.equal(result, RUNS);
    assert.ok(turns >= Math.floor((RUNS * LOG.length) / PRUNE_BYTES) / 2, `${turns} turns`);
    assert.equal(await h.store.runs.count(), 0);
  });

  it('small runs still go 2 000 to a step', async () => {
    await h.store.runs.record(Array.from({ length: 3000 }, (_, i) => run({ function: 'small.tenant', startedAt: T0 + i })));
    const { turns, result } = await turnsDuring(() => h.store.runs.prune(T0 + 3000));
    assert.equal(result, 3000);
    assert.ok(turns <= 4, `${turns} turns for 3 000 small runs`);
  });
});
