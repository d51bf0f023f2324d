/**
 * Dead letters go with their run's retention (ops round 1): a dead letter is replayable only while
 * its run is (replay reads the run's view first), yet every failed run's payload stayed for ever:
 * in async.db, outside the run store's size cap, and in Redis's memory (the dead stream).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openRedisQueue, openSqliteAsync, type Queue } from '../../controlplane/async/index.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { serverSkip, startRedis } from '../helpers/servers.js';

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

describe('redis queue retention: dead letters', { skip: serverSkip('redis-server') }, () => {
  it('a queue opened with deadRetentionMs deletes the dead letters put before its cutoff and their index entries, and keeps the newer ones', async () => {
    const server = await startRedis();
    after(() => server.destroy());
    const prefix = `d${randomUUID().slice(0, 8)}`;
    const open = async (options: { deadRetentionMs?: number; now?: () => number } = {}): Promise<Queue> => {
      const client = connectRedis(server.url);
      await redisReady(client);
      return openRedisQueue({ client, ownsClient: true, prefix, ...options });
    };
    const queue = await open();
    after(() => queue.close());
    const dead = async (): Promise<string> => {
      const runId = randomUUID();
      await queue.enqueue({ runId, function: 'f', payload: Buffer.alloc(1000, 1) });
      const [job] = await queue.claim('c', 1);
      assert.equal(job?.runId, runId);
      await queue.deadLetter(job!, 'max_attempts: failed');
      return runId;
    };
    const old = await dead();
    // The cutoff lies after the old entry's id (Redis's clock at its XADD) and before the new one's.
    const probe = connectRedis(server.url);
    await redisReady(probe);
    const redisMs = async (): Promise<number> => {
      const [s, us] = await probe.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };
    // The queue prunes by Redis's clock whatever this process's (ops round 4: queue/redis-clock.ts):
    // the retention is chosen so that its cutoff, at the pruner's open, lies between the two, with
    // 3 s to spare for a slow open.
    const start = await redisMs();
    while ((await redisMs()) <= start + 1) await new Promise((r) => setTimeout(r, 2));
    const cutoff = await redisMs();
    while ((await redisMs()) <= cutoff + 3_000) await new Promise((r) => setTimeout(r, 20));
    const kept = await dead();
    assert.equal((await queue.stats()).dead, 2);
    const retention = (await redisMs()) - cutoff;
    probe.disconnect();
    // A wall clock an hour off changes nothing: the cutoff is Redis's time less the retention.
    const pruner = await open({ deadRetentionMs: retention, now: () => Date.now() - 3_600_000 });
    after(() => pruner.close());
    for (let i = 0; i < 500 && (await queue.getDead(old)) !== null; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await queue.getDead(old), null);
    assert.notEqual(await queue.getDead(kept), null);
    assert.deepEqual((await queue.listDead()).map((d) => d.runId), [kept]);
    assert.equal((await queue.stats()).dead, 1);
  });
});
