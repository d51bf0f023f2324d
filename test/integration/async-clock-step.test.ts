/**
 * A wall clock stepped back after a function was created (chaos round 1, ADR 0218): each async run
 * accepted then was dated before its function, so the dispatcher dead-lettered it as a deleted
 * function's (`function_deleted`) without running it, and `GET /runs/<id>` answered RUN_NOT_FOUND
 * for the id its 202 had given: of 353 runs accepted under faketime, 84 were lost so (embedded).
 * Now a run is never dated before the function it was accepted for. SQLite stores in a temp state
 * directory; Date.now is the stepped clock, set before the stores open (no step for them to see).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AsyncRuns, openSqliteAsync } from '../../controlplane/async/index.js';

describe('async runs accepted on a wall clock stepped back since their function was created', () => {
  const realNow = Date.now;
  const born = realNow();
  const STEP_MS = 10 * 60_000;
  let dir = '';
  let stores: Awaited<ReturnType<typeof openSqliteAsync>>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fp-clock-step-'));
    Date.now = () => realNow() - STEP_MS;
    stores = await openSqliteAsync({ stateDir: dir, leaseMs: 30_000 });
  });
  after(async () => {
    Date.now = realNow;
    await stores?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('dates the run and its job no earlier than the function: it is listed as the function\'s and its job is claimed to run', async () => {
    const runs = new AsyncRuns(stores.queue, stores.timeline, stores.runs, stores.accept, Date.now, stores.cancel);
    runs.bornOf = () => born;
    const { runId } = await runs.submit('f', { method: 'POST', path: '/', rawQuery: '', headers: [], body: Buffer.from('{}') }, null);
    const entry = await stores.runs.get(runId);
    // The API shows a run only when it was accepted since the function now under its key was created.
    assert.ok(entry !== null && entry.acceptedAt >= born, `accepted at ${entry?.acceptedAt}, the function created at ${born}`);
    const [job] = await stores.queue.claim('c1', 1);
    assert.equal(job?.runId, runId);
    // The dispatcher dead-letters a job enqueued before its function was created (function_deleted).
    assert.ok(job.enqueuedAt >= born, `enqueued at ${job.enqueuedAt}, the function created at ${born}`);
  });
});
