/**
 * The run store's size cap over a store whose size reading lags its deletes (ops round 3). FerretDB
 * on PostgreSQL reports a table's size as PostgreSQL's, which drops only once autovacuum has run
 * (its indexes never shrink): right after a prune the reading is what it was. The cap's check
 * measured again, pruned the next share, and again, 20 rounds: every run of a 4 MiB store went in
 * one check. A check now stops when a prune did not lower the reading; the next one measures again.
 * The lagging store is a stand-in: no PostgreSQL runs in the test tiers (the SQLite and FerretDB
 * stores, whose readings follow their deletes, are checked by test/conformance/store-runs.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunRetention } from '../../controlplane/runs/retention.js';
import type { RunStore } from '../../controlplane/store/index.js';

/** `runs` runs of `each` bytes; the reading is refreshed only by `vacuum()`, as autovacuum does. */
function laggingStore(runs: number, each: number) {
  let count = runs;
  let reading = runs * each;
  const store = {
    async bytes() { return reading; },
    async count() { return count; },
    async pruneOldest(n: number) { const gone = Math.min(n, count); count -= gone; return gone; },
    async prune() { return 0; },
  };
  return { runs: store as unknown as RunStore, left: () => count, vacuum: () => { reading = count * each; } };
}

describe('run retention: size cap over a lagging size reading', () => {
  it('prunes one share per check while the reading has not caught up, not every run', async () => {
    const store = laggingStore(1000, 4000); // 4 000 000 bytes
    const retention = new RunRetention(store.runs, { retentionMs: 3_650 * 86_400_000, intervalMs: 3_600_000, maxBytes: 2_000_000 });
    const first = await retention.capNow();
    // One share: (4 000 000 - 1 800 000) / 4 000 000 of 1000 runs.
    assert.equal(first, 550);
    assert.equal(store.left(), 450);
    // The reading has not moved: later checks take nothing until it grows past where it stuck.
    assert.equal(await retention.capNow(), 0);
    assert.equal(await retention.capNow(), 0);
    assert.equal(store.left(), 450);
    // Once it catches up (450 runs, 1 800 000 bytes: under the cap), nothing more goes either.
    store.vacuum();
    assert.equal(await retention.capNow(), 0);
    assert.equal(store.left(), 450);
    await retention.stop();
  });

  it('prunes again once a stuck reading grows past where it stuck', async () => {
    let count = 1000;
    let reading = 4_000_000;
    const runs = {
      async bytes() { return reading; },
      async count() { return count; },
      async pruneOldest(n: number) { const gone = Math.min(n, count); count -= gone; return gone; },
      async prune() { return 0; },
    } as unknown as RunStore;
    const retention = new RunRetention(runs, { retentionMs: 3_650 * 86_400_000, intervalMs: 3_600_000, maxBytes: 2_000_000 });
    assert.equal(await retention.capNow(), 550);
    // New runs filled the freed space: the reading is the same, the count back up.
    count = 1000;
    assert.equal(await retention.capNow(), 0);
    // Past it: the table grew, and what it grew by goes (1000 × 400 000 / 4 400 000), not a share
    // down to the target.
    reading = 4_400_000;
    assert.equal(await retention.capNow(), 91);
    await retention.stop();
  });
});
