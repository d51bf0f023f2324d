/**
 * The run sink with sampling on the embedded store (real SQLite): runs that are not kept in full
 * are still counted, every one, in the live metrics and in the hourly usage rollups.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryHotMetrics } from '../../controlplane/store/metrics/memory.js';
import { RecordingRunSink } from '../../controlplane/store/run-sink.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { run } from '../conformance/fixtures.js';
import { testKeyring } from '../helpers/keyring.js';

test('sampled-out runs have no record but count in the metrics and the rollups, exactly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-sampling-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const now = Date.now();
  const store = await openSqliteStore({ keyring: testKeyring(), stateDir: dir });
  t.after(() => store.close());
  const metrics = new MemoryHotMetrics();
  const sink = new RecordingRunSink({ runs: store.runs, metrics, history: store.usageHistory!, sampling: { keepPerMinute: 10, sampleOneIn: 50 } });
  const startedAt = now - (now % 60_000) + 1; // all in one minute
  const ok = Array.from({ length: 1000 }, () => run({ function: 'hot', startedAt }));
  const failed = Array.from({ length: 7 }, () => run({ function: 'hot', startedAt, status: 'failed', httpStatus: 500, errorCode: 'FUNCTION_ERROR' }));
  const cold = Array.from({ length: 3 }, () => run({ function: 'hot', startedAt, cold: true, start: 'pool' }));
  const asyncRuns = Array.from({ length: 2 }, () => run({ function: 'hot', startedAt, trigger: 'async' }));
  for (const r of [...ok.slice(0, 500), ...failed, ...cold, ...asyncRuns, ...ok.slice(500)]) sink.record(r);
  assert.ok(await sink.flush(10_000));

  // Kept in full: 10 (the minute's budget) + one in 50 of the other 990 successful warm runs (19) + all 12 others.
  const stored = await store.runs.list({ function: 'hot', limit: 1000 });
  assert.equal(stored.items.length, 10 + 19 + 12);
  assert.equal(sink.summarized, 1000 - 10 - 19);
  for (const r of [...failed, ...cold, ...asyncRuns]) assert.deepEqual(await store.runs.get(r.runId), r);
  assert.deepEqual(await store.runs.get(ok[0]!.runId), ok[0]);
  assert.equal(await store.runs.get(ok[20]!.runId), null);

  // Counted: every run, in both.
  const live = await metrics.usage('hot', '1h');
  assert.equal(live.invocations, 1012);
  assert.equal(live.errors, 7);
  assert.equal(live.coldStarts, 3);
  const rolled = await store.usageHistory!.usage('hot', '7d');
  assert.deepEqual([rolled.tally.count, rolled.tally.errors, rolled.tally.cold], [1012, 7, 3]);
  await sink.close();
});
