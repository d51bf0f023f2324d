/**
 * Two production platforms (their own MongoDB databases) on one Redis with the same prefix by
 * mistake (reliability round 7, docs/adr/0130-one-redis-prefix-one-platform.md). They shared the
 * async queue: one platform's dispatcher ran its own function of the same name with the other's
 * payload. The prefix is now claimed by the database's id (`<p>:v1:owner`): a second platform is
 * refused at start, a running one claims again after Redis lost the claim, and one that finds
 * another platform's claim refuses async runs and is not ready.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { openRedisQueue } from '../../controlplane/async/queue/redis.js';
import { openRedis } from '../../controlplane/store/production/redis-client.js';
import { isPlatformError, redisKeys } from '../../protocol/index.js';
import { deployed, fnName, handlerReturning, sleep, until } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers } from './production-harness.js';

const inUse = (database: string) => (err: unknown): boolean => isPlatformError(err) && err.code === 'REDIS_PREFIX_IN_USE' && err.message.includes(`'${database}'`);

describe('one Redis prefix, one platform', { skip: productionSkip, timeout: 180_000 }, () => {
  const servers = useServers();

  it('refuses a platform with another database on a prefix in use (REDIS_PREFIX_IN_USE); another process of the same platform starts', async () => {
    const options = clusterOptions(servers);
    const a = await startNode(options);
    try {
      const same = await startNode(options, a.api.token);
      await same.close();
      // Before: it started, and its dispatcher took the first platform's runs.
      await assert.rejects(startNode({ ...options, mongoDatabase: `${options.mongoDatabase!}_other` }), inUse(options.mongoDatabase!));
    } finally {
      await a.close();
    }
  });

  it('claims the prefix again after Redis lost it (flushed, or restarted without persistence)', async () => {
    const options = clusterOptions(servers);
    const key = redisKeys(options.redisPrefix!).owner();
    const a = await startNode(options);
    const redis = await openRedis(servers.redis.url);
    try {
      const claim = await redis.get(key);
      assert.ok(claim !== null);
      await redis.del(key); // what FLUSHALL or a restart without persistence does to it
      await until('claimed again', async () => (await redis.get(key)) !== null, 30_000);
      assert.equal(await redis.get(key), claim);
      await assert.rejects(startNode({ ...options, mongoDatabase: `${options.mongoDatabase!}_other` }), inUse(options.mongoDatabase!));
    } finally {
      redis.disconnect();
      await a.close();
    }
  });

  it('refuses async runs and is not ready while another platform holds the prefix, and takes them again once it is free', async () => {
    const options = clusterOptions(servers);
    const key = redisKeys(options.redisPrefix!).owner();
    const a = await startNode(options);
    const redis = await openRedis(servers.redis.url);
    try {
      const name = fnName('owner');
      await deployed(a.api, name, handlerReturning('ok'));
      // Another platform took the prefix while Redis had lost this one's claim.
      await redis.set(key, JSON.stringify({ id: 'another-platform', database: "'elsewhere' at mongodb://db.example" }));
      await until('not ready', async () => (await fetch(`${a.url}/readyz`)).status === 503, 30_000);
      assert.match(await (await fetch(`${a.url}/readyz`)).text(), /REDIS_PREFIX_IN_USE/);
      const refused = await fetch(`${a.url}/async/${name}`, { method: 'POST', body: '{}' });
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'REDIS_PREFIX_IN_USE');
      await redis.del(key);
      await until('ready again', async () => (await fetch(`${a.url}/readyz`)).status === 200, 30_000);
      assert.equal((await fetch(`${a.url}/async/${name}`, { method: 'POST', body: '{}' })).status, 202);
    } finally {
      redis.disconnect();
      await a.close();
    }
  });

  it('takes no job from the queue while another platform holds the prefix (its jobs are that platform\'s)', async () => {
    const options = clusterOptions(servers);
    const key = redisKeys(options.redisPrefix!).owner();
    const a = await startNode(options);
    const redis = await openRedis(servers.redis.url);
    const queue = await openRedisQueue({ client: await openRedis(servers.redis.url), ownsClient: true, prefix: options.redisPrefix! });
    try {
      await redis.set(key, JSON.stringify({ id: 'another-platform', database: "'elsewhere' at mongodb://db.example" }));
      await until('not ready', async () => (await fetch(`${a.url}/readyz`)).status === 503, 30_000);
      // The other platform's job. Before, this process's dispatcher claimed it at its next poll (200 ms).
      await queue.enqueue({ runId: randomUUID(), function: fnName('theirs'), payload: new Uint8Array() });
      for (let i = 0; i < 20; i++) {
        await sleep(100);
        assert.deepEqual(await queue.stats(), { delayed: 0, ready: 1, leased: 0, dead: 0 }, `claimed after ${i * 100} ms`);
      }
      await redis.del(key); // its own again: it takes jobs again
      await until('claimed once the prefix is its own again', async () => (await queue.stats()).ready === 0, 30_000);
    } finally {
      await queue.close();
      redis.disconnect();
      await a.close();
    }
  });
});
