/**
 * The RunTimeline port: one conformance suite run against every implementation (in memory,
 * SQLite in a temp state directory, Redis on a real redis-server), then what only SQLite
 * promises: the history survives a reopen.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { RedisRunTimeline } from '../../controlplane/async/index.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';
import { MemoryRunTimeline, openSqliteTimeline, type AttemptRecord, type RunTimeline } from '../../controlplane/async/index.js';

const failedAttempt: AttemptRecord = {
  attempt: 1, startedAt: 1_000, durationMs: 12.5, cold: true, status: 'failed', errorCode: 'FUNCTION_ERROR',
  errorClass: 'user_error', error: { type: 'ValueError', message: 'boom', file: 'main.py', line: 3 },
};
const okAttempt: AttemptRecord = {
  attempt: 2, startedAt: 2_000, durationMs: 3, cold: false, status: 'succeeded', errorCode: null, errorClass: null, error: null,
};

function timelineConformance(name: string, open: () => Promise<{ timeline: RunTimeline; destroy: () => Promise<void> }>): void {
  describe(`run timeline conformance: ${name}`, () => {
    it('returns null for a run never recorded', async (t) => {
      const { timeline, destroy } = await open();
      t.after(destroy);
      assert.equal(await timeline.get(randomUUID()), null);
    });

    it('keeps transitions and attempts in order; the state is the last transition', async (t) => {
      const { timeline, destroy } = await open();
      t.after(destroy);
      const runId = randomUUID();
      await timeline.transition(runId, 'queued', 1);
      await timeline.transition(runId, 'running', 2, 'attempt 1');
      await timeline.attempt(runId, failedAttempt);
      await timeline.transition(runId, 'retried', 3, 'class:user_error');
      await timeline.transition(runId, 'running', 4, 'attempt 2');
      await timeline.attempt(runId, okAttempt);
      await timeline.transition(runId, 'succeeded', 5);
      const view = await timeline.get(runId);
      assert.ok(view);
      assert.equal(view.state, 'succeeded');
      assert.deepEqual(view.transitions, [
        { state: 'queued', at: 1, detail: null },
        { state: 'running', at: 2, detail: 'attempt 1' },
        { state: 'retried', at: 3, detail: 'class:user_error' },
        { state: 'running', at: 4, detail: 'attempt 2' },
        { state: 'succeeded', at: 5, detail: null },
      ]);
      assert.deepEqual(view.attempts, [failedAttempt, okAttempt]);
    });

    it('keeps `queued` first when its write lands after the run ran (another process claimed the job first)', async (t) => {
      const { timeline, destroy } = await open();
      t.after(destroy);
      const runId = randomUUID();
      // Production accepts a run as: job queued, then `queued` written. Another platform's dispatcher
      // may claim the job, run it and write its final state in between (reliability round 4).
      await timeline.transition(runId, 'running', 2, 'attempt 1');
      await timeline.attempt(runId, okAttempt);
      await timeline.transition(runId, 'succeeded', 3);
      await timeline.transition(runId, 'queued', 1);
      const view = await timeline.get(runId);
      assert.equal(view?.state, 'succeeded');
      assert.deepEqual(view?.transitions.map((x) => x.state), ['queued', 'running', 'succeeded']);
      assert.deepEqual(view?.attempts, [okAttempt]);
    });

    it('keeps runs apart and hands out copies', async (t) => {
      const { timeline, destroy } = await open();
      t.after(destroy);
      const [a, b] = [randomUUID(), randomUUID()];
      await timeline.transition(a, 'queued', 1);
      await timeline.transition(b, 'cancelled', 2);
      const view = await timeline.get(a);
      view?.transitions.push({ state: 'failed', at: 9, detail: null });
      assert.equal((await timeline.get(a))?.transitions.length, 1);
      assert.equal((await timeline.get(b))?.state, 'cancelled');
    });
  });
}

timelineConformance('memory', async () => {
  const timeline = new MemoryRunTimeline();
  return { timeline, destroy: () => timeline.close() };
});

timelineConformance('sqlite', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'fp-timeline-'));
  const timeline = await openSqliteTimeline({ stateDir });
  return { timeline, destroy: async () => { await timeline.close(); await rm(stateDir, { recursive: true, force: true }); } };
});

if (serverSkip('redis-server') === false) {
  let server: Promise<ServerProcess> | null = null;
  after(async () => { if (server !== null) await (await server).destroy(); });
  timelineConformance('redis', async () => {
    server ??= startRedis();
    const client = connectRedis((await server).url);
    await redisReady(client);
  await redisReady(client);
    const timeline = new RedisRunTimeline({ client, prefix: `t${randomBytes(4).toString('hex')}` });
    return { timeline, destroy: async () => { await timeline.close(); client.disconnect(); } };
  });
}

describe('sqlite run timeline', () => {
  it('survives a reopen of its state directory', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-timeline-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const first = await openSqliteTimeline({ stateDir });
    await first.transition('r1', 'running', 1);
    await first.attempt('r1', failedAttempt);
    await first.transition('r1', 'failed', 2, 'max_attempts');
    await first.close();
    const second = await openSqliteTimeline({ stateDir });
    t.after(() => second.close());
    const view = await second.get('r1');
    assert.equal(view?.state, 'failed');
    assert.deepEqual(view?.attempts, [failedAttempt]);
  });
});
