/**
 * A Redis at `maxmemory` with `noeviction` answers every write `OOM` (a MULTI: `EXECABORT`). The
 * queue, the tick lock and the replay guard said "Redis could not be reached or did not answer in
 * time", and the dispatcher logged a bare `EXECABORT`, which sent an operator to the network
 * (reliability round 10, /work/probe-chaos10/load). They now say that Redis is out of memory.
 * A real redis-server, made full with `CONFIG SET maxmemory 1`.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openRedisQueue, redisRefusal, redisReplayGuard, redisTickLock } from '../../controlplane/async/index.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { serverSkip, startRedis } from '../helpers/servers.js';

const skip = serverSkip('redis-server');
const FULL = /^Redis is out of memory \(maxmemory\) and refuses writes$/;

describe('a Redis that is full (maxmemory, noeviction)', { skip }, () => {
  it('queue, tick lock and replay guard say it is out of memory; reads still work; writes work again once memory is freed', async () => {
    const redis = await startRedis({ appendOnly: true, args: ['--maxmemory-policy', 'noeviction'] });
    after(() => redis.destroy());
    const client = connectRedis(redis.url);
    after(() => client.disconnect());
    await redisReady(client);
    const prefix = 'full';
    const queue = await openRedisQueue({ client, prefix });
    await queue.enqueue({ runId: 'before', function: 'f', payload: Buffer.from('x') });
    const ticks = redisTickLock({ client, prefix });
    const replays = redisReplayGuard({ client, prefix });
    await client.call('CONFIG', 'SET', 'maxmemory', '1');

    await assert.rejects(queue.enqueue({ runId: 'during', function: 'f', payload: Buffer.from('y') }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'QUEUE_UNAVAILABLE');
      assert.match(err.message, FULL);
      return true;
    });
    for (const refused of [ticks.acquire({ function: 'f', triggerId: 'cron-0' }, Date.now()), replays.firstSeen({ function: 'f', triggerId: 'pay' }, 'k', 60_000)]) {
      await assert.rejects(refused, (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TRIGGER_UNAVAILABLE');
        assert.match(err.message, FULL);
        return true;
      });
    }
    // A transaction (the run timeline's writes) fails EXECABORT; the cause is one of its commands'.
    const aborted = await client.multi().rpush('full:list', 'a').pexpire('full:list', 1000).exec().then(() => null, (err: unknown) => err);
    assert.match((aborted as Error).message, /^EXECABORT/);
    assert.match(redisRefusal(aborted) ?? '', FULL);
    assert.equal(redisRefusal(new Error('Command timed out')), null, 'a timeout is not a refusal');
    assert.equal((await queue.stats()).ready, 1, 'reads are not refused');

    await client.call('CONFIG', 'SET', 'maxmemory', '0');
    await queue.enqueue({ runId: 'after', function: 'f', payload: Buffer.from('z') });
    assert.equal(await ticks.acquire({ function: 'f', triggerId: 'cron-0' }, 1), true);
  });
});
