/**
 * The production admission limiter on a real redis-server, with its connection's options: the conformance suite with one limiter,
 * and with two on one Redis (two platform processes: exact across them); calls admitted while
 * Redis is down (fail open), limits back once it answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LIMITER_CLIENT_OPTIONS, RedisLimiter } from '../../controlplane/limits/index.js';
import { openRedis } from '../../controlplane/store/production/redis-client.js';
import { limiterConformance } from '../conformance/limiter-suite.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('redis-server');
let redis: ServerProcess;

before(async () => {
  if (!skip) redis = await startRedis();
});
after(async () => {
  await redis?.destroy();
});

async function limiters(n: number): Promise<{ limiters: RedisLimiter[]; close(): Promise<void> }> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const made = await Promise.all(Array.from({ length: n }, async () => new RedisLimiter({ client: await openRedis(redis.url, undefined, { ...LIMITER_CLIENT_OPTIONS }), ownsClient: true, prefix })));
  return { limiters: made, close: async () => void (await Promise.all(made.map((l) => l.close()))) };
}

/** Redis's clock is this machine's: start a minute test with at least 15 s left in the minute. */
async function beforeMinuteEnds(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((r) => setTimeout(r, left + 50));
}

if (!skip) {
  limiterConformance('redis', () => limiters(1), { beforeMinuteEnds });
  limiterConformance('redis, two processes', () => limiters(2), { beforeMinuteEnds });
}

describe('redis limiter when Redis is down', { skip }, () => {
  it('admits calls (fail open, logged once) and limits again once Redis answers', async (t) => {
    const lines: string[] = [];
    const limiter = new RedisLimiter({ client: await openRedis(redis.url, undefined, { ...LIMITER_CLIENT_OPTIONS }), ownsClient: true, prefix: `t${randomBytes(4).toString('hex')}`, log: (l) => lines.push(l) });
    t.after(() => limiter.close());
    const bucket = { fn: 'f', requests: 1, periodMs: 3_600_000, burst: 1 };
    assert.equal((await limiter.admit('ws', bucket, null)).ok, true);
    assert.equal((await limiter.admit('ws', bucket, null)).ok, false);
    await redis.stop();
    assert.equal((await limiter.admit('ws', bucket, null)).ok, true);
    assert.equal((await limiter.admit('ws', bucket, null)).ok, true);
    assert.equal(lines.length, 1);
    await redis.start();
    // Back (the client reconnects within a second; the limiter logs that it limits again): the
    // bucket, kept by Redis or refilled from empty, limits again.
    for (let i = 0; i < 100 && lines.length < 2; i++) {
      await limiter.admit('ws', bucket, null);
      if (lines.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(lines.length, 2, lines.join('\n'));
    await limiter.admit('ws', bucket, null);
    assert.equal((await limiter.admit('ws', bucket, null)).ok, false);
  });
});
