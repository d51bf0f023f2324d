/**
 * Red team round 42: a run dead-lettered `function_deleted` (its job was of another incarnation
 * than the function now under its key, ADR 0218) was replayable: `replay` queued its request into
 * the function now under the key. The API hides such a run by time (accepted before the function
 * now under its key was created), but a run accepted for the deleted incarnation by a process that
 * had not heard of the delete yet, after the re-create, passed that check: its request (another
 * tenant's, under a recycled workspace name) then ran in the new function. Now such a run is never
 * replayed. SQLite stores in a temp state directory.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AsyncRuns, openSqliteAsync } from '../../controlplane/async/index.js';
import { isPlatformError } from '../../protocol/index.js';

describe('replaying an async run dead-lettered as a deleted function\'s', () => {
  let dir = '';
  let stores: Awaited<ReturnType<typeof openSqliteAsync>>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fp-replay-deleted-'));
    stores = await openSqliteAsync({ stateDir: dir, leaseMs: 30_000 });
  });
  after(async () => {
    await stores?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is refused (RUN_NOT_REPLAYABLE): its request never reaches the function now under its key; another failed run still replays', async () => {
    const runs = new AsyncRuns(stores.queue, stores.timeline, stores.runs, stores.accept, Date.now, stores.cancel);
    const failed = async (reason: string): Promise<string> => {
      const { runId } = await runs.submit('orders', { method: 'POST', path: '/', rawQuery: '', headers: [], body: Buffer.from('{"card":"4111"}') }, null);
      const [job] = await stores.queue.claim('c1', 1);
      assert.equal(job?.runId, runId);
      await stores.timeline.transition(runId, 'failed', Date.now(), reason);
      await stores.queue.deadLetter({ runId, consumer: job.consumer, token: job.token }, reason);
      return runId;
    };
    const deleted = await failed('function_deleted');
    // Before: 'queued again as run …' (the deleted function's request, run by the new one).
    const refused = await runs.replay(deleted).then(() => null, (err: unknown) => err);
    assert.ok(isPlatformError(refused) && refused.code === 'RUN_NOT_REPLAYABLE', `replayed: ${String(refused)}`);
    assert.match((refused as Error).message, /deleted since/);
    const plain = await failed('max_attempts');
    assert.equal((await runs.replay(plain)).replayOf, plain);
  });
});
