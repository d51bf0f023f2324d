/**
 * A wall clock stepped back after a function was created (chaos round 1, ADR 0218): each async run
 * accepted then was dated before its function, so the dispatcher dead-lettered it as a deleted
 * function's (`function_deleted`) without running it, and `GET /runs/<id>` answered RUN_NOT_FOUND
 * for the id its 202 had given: of 353 runs accepted under faketime, 84 were lost so (embedded).
 * Now a run is never dated before the function it was accepted for. SQLite stores in a temp state
 * directory; Date.now is the stepped clock, set before the stores open (no step for them to see).
 * In production the run's job was also lost when the step came after it was queued: the Redis
 * queue hands its times out in the process's frame, which the step moves, so a job queued before
 * a step back looked older than its function (26 of 362 runs under faketime). The job now keeps
 * the incarnation it was accepted for, and the dispatcher compares that.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { AsyncRuns, Dispatcher, enqueueRun, MemoryRunTimeline, openRedisQueue, openSqliteAsync } from '../../controlplane/async/index.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';
import { ScriptedRunner, settled, success } from './dispatcher-harness.js';

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

describe('a Redis job queued before the wall clock stepped back', { skip: serverSkip('redis-server') }, () => {
  let redis: ServerProcess | undefined;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.destroy();
  });

  it('runs: the dispatcher compares the incarnation the job was accepted for, not its time, with the function\'s', async (t) => {
    let step = 0;
    const wall = (): number => Date.now() - step;
    const client = connectRedis(redis!.url);
    await redisReady(client);
    const queue = await openRedisQueue({ client, ownsClient: true, prefix: `c${randomBytes(4).toString('hex')}`, now: wall, monotonic: () => performance.now() });
    const timeline = new MemoryRunTimeline();
    const born = wall() - 1_000; // the function was created a second ago
    const runId = randomUUID();
    await enqueueRun(queue, timeline, { runId, function: 'fn', payload: Buffer.from('{}'), bornAt: born }, wall());
    step = 10 * 60_000; // then the clock is stepped back 10 minutes (NTP, a VM restored)
    const runner = new ScriptedRunner(() => success());
    const dispatcher = new Dispatcher({
      queue, timeline, runner, leaseMs: 5_000, pollMs: 20, graceMs: 1_000, now: wall,
      policies: { policyFor: () => ({}), createdAt: () => born },
      onError: () => {},
    });
    t.after(async () => { await dispatcher.stop(); await queue.close(); });
    dispatcher.start();
    const view = await settled(timeline, runId);
    assert.deepEqual(view.transitions.map((s) => [s.state, s.detail ?? null]).at(-1), ['succeeded', null], JSON.stringify(view.transitions));
    assert.equal(runner.seen.length, 1);
  });
});
