/**
 * Dead letters of the embedded async store go with their run's retention (ops round 1): a dead
 * letter is replayable only while its run is (replay reads the run's view first), yet every failed
 * run's payload stayed in async.db for ever, outside the run store's size cap.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteAsync } from '../../controlplane/async/index.js';

describe('embedded async retention: dead letters', () => {
  it('prunes a dead letter with its run, and keeps one whose run is still kept', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-dead-retention-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const stores = await openSqliteAsync({ stateDir, leaseMs: 30_000 });
    t.after(() => stores.close());
    const dead = async (acceptedAt: number): Promise<string> => {
      const runId = randomUUID();
      await stores.accept({ runId, function: 'f', acceptedAt, replayOf: null }, { runId, function: 'f', payload: Buffer.alloc(1000, 1) });
      const [job] = await stores.queue.claim('c', 1);
      assert.equal(job?.runId, runId);
      await stores.queue.deadLetter(job!, 'max_attempts: failed');
      return runId;
    };
    const old = await dead(Date.now() - 10_000);
    const kept = await dead(Date.now() + 60_000);
    assert.equal((await stores.queue.listDead()).length, 2);
    // A cutoff past the old run's acceptance and its death, before the kept run's acceptance.
    await stores.prune(Date.now() + 30_000);
    assert.equal(await stores.queue.getDead(old), null);
    assert.notEqual(await stores.queue.getDead(kept), null);
    assert.deepEqual((await stores.queue.listDead()).map((d) => d.runId), [kept]);
    assert.equal((await stores.queue.stats()).dead, 1);
  });
});
