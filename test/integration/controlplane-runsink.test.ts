/**
 * Run records on their way to the embedded store: batched writes, read-your-writes while pending,
 * a failing store (bounded buffer, drops counted, nothing thrown at the caller), and retention.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { RunRetention } from '../../controlplane/runs/retention.js';
import { StoreRunSink } from '../../controlplane/runs/store-sink.js';
import { openStore, type Store } from '../../controlplane/store/index.js';
import { run } from '../conformance/fixtures.js';

async function freshStore(t: TestContext): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-sink-'));
  const store = await openStore({ kind: 'embedded', stateDir: dir });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return store;
}

describe('StoreRunSink', () => {
  it('writes runs in batches off the caller, and finds a pending one before it is written', async (t) => {
    const store = await freshStore(t);
    const sink = new StoreRunSink(store.runs, { flushIntervalMs: 10_000, maxBatch: 100 });
    const runs = Array.from({ length: 250 }, (_, i) => run({ function: 'batch', startedAt: 1_700_000_000_000 + i }));
    for (const r of runs) sink.record(r);
    assert.equal(sink.pending, 250);
    assert.equal(sink.pendingRun(runs[7]!.runId)?.runId, runs[7]!.runId);
    assert.equal(await store.runs.get(runs[7]!.runId), null, 'nothing written yet: the caller never waits for the store');
    await sink.flush();
    assert.equal(sink.pending, 0);
    const page = await store.runs.list({ function: 'batch', limit: 1000 });
    assert.equal(page.items.length, 250);
    assert.deepEqual(sink.dropped(), { store_overflow: 0, store_error: 0 });
    await sink.close();
  });

  it('writes on its own timer', async (t) => {
    const store = await freshStore(t);
    const sink = new StoreRunSink(store.runs, { flushIntervalMs: 20 });
    const r = run({ function: 'timer' });
    sink.record(r);
    for (let i = 0; (await store.runs.get(r.runId)) === null; i++) {
      assert.ok(i < 100, 'not written within 2 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await sink.close();
  });

  it('keeps a bounded buffer while the store fails, counts what it drops, and never throws', async (t) => {
    const store = await freshStore(t);
    const logs: string[] = [];
    const sink = new StoreRunSink(store.runs, { flushIntervalMs: 10_000, maxBuffered: 20, maxBackoffMs: 50, log: (l) => logs.push(l) });
    await store.close(); // every write now fails with STORE_CLOSED
    for (let i = 0; i < 30; i++) sink.record(run({ function: 'down' }));
    await sink.flush();
    assert.equal(sink.pending, 20);
    assert.equal(sink.dropped()['store_overflow'], 10);
    assert.ok(logs.some((l) => l.includes('could not write')));
    await sink.close();
    assert.deepEqual(sink.dropped(), { store_overflow: 10, store_error: 20 });
    sink.record(run());
    assert.equal(sink.dropped()['store_error'], 21, 'records after close are counted, not kept');
  });
});

describe('RunRetention', () => {
  it('prunes runs that started before now - retention, keeps the rest', async (t) => {
    const store = await freshStore(t);
    const now = 1_800_000_000_000;
    const day = 24 * 3_600_000;
    await store.runs.record([run({ function: 'ret', startedAt: now - 8 * day }), run({ function: 'ret', startedAt: now - 6 * day }), run({ function: 'ret', startedAt: now - 1000 })]);
    const retention = new RunRetention(store.runs, { retentionMs: 7 * day, intervalMs: 60_000, now: () => now });
    assert.equal(await retention.pruneNow(), 1);
    const left = await store.runs.list({ function: 'ret' });
    assert.equal(left.items.length, 2);
    await retention.stop();
  });
});
