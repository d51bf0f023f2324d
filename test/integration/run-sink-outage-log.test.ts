/**
 * The run sink's outage in the operator's log (ops round 4): the first failed write of run records
 * was said ("they wait in memory and are retried until it works") and its end never, so the log
 * could not tell whether they were written since. The control plane's wiring (fault-log.ts
 * `sinkOutages`) now says both, once each. A real embedded store whose platform.db another
 * connection holds the write lock of, then lets go.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { sinkOutages } from '../../controlplane/fault-log.js';
import { RecordingRunSink } from '../../controlplane/store/run-sink.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { run } from '../conformance/fixtures.js';
import { testKeyring } from '../helpers/keyring.js';

test('a run sink outage is logged when it begins and when the records are written again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fp-sink-outage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await openSqliteStore({ keyring: testKeyring(), stateDir: dir });
  t.after(() => store.close());
  const lines: string[] = [];
  const outages = sinkOutages((line) => lines.push(line));
  const sink = new RecordingRunSink({
    runs: store.runs,
    tuning: { lingerMs: 10, retryBaseMs: 20, retryMaxMs: 100 },
    onError: outages.onError,
    onWrite: (target, _count, _seconds, ok) => outages.onWrite(target, ok),
  });
  t.after(() => sink.close(1000));
  const holder = new Database(join(dir, 'platform.db'));
  holder.exec('BEGIN IMMEDIATE');
  sink.record(run({ function: 'f' }));
  for (const deadline = Date.now() + 30_000; lines.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
  holder.exec('ROLLBACK');
  holder.close();
  for (const deadline = Date.now() + 30_000; lines.length < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /^controlplane: could not write run records; they wait in memory/);
  assert.match(lines[1]!, /^controlplane: run records are written again after \d+\.\d s \(\d+ writes? failed meanwhile\)$/);
  assert.equal((await store.runs.list({})).items.length, 1);
});
