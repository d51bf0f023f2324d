/**
 * The production admission limiter on a real redis-server, with its connection's options: the conformance suite with one limiter,
 * and with two on one Redis (two platform processes: exact across them); leases of high limits
 * (docs/adr/0022-limiter-leases.md) exact across two processes, given back on close, and few
 * round trips; calls admitted while Redis is down (fail open), limits back once it answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LIMITER_CLIENT_OPTIONS, MAX_LEASE, RedisLimiter, type AdmissionLimiter, type Bucket, type LimitVerdict } from '../../controlplane/limits/index.js';
import { openRedis } from '../../controlplane/store/production/redis-client.js';
import { redisKeys } from '../../protocol/index.js';
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

async function limiters(n: number, leaseWindowMs?: number): Promise<{ limiters: RedisLimiter[]; close(): Promise<void> }> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const window = leaseWindowMs !== undefined ? { leaseWindowMs } : {};
  const made = await Promise.all(Array.from({ length: n }, async () => new RedisLimiter({ client: await openRedis(redis.url, undefined, { ...LIMITER_CLIENT_OPTIONS }), ownsClient: true, prefix, ...window })));
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

const ok = (verdicts: readonly LimitVerdict[]): number => verdicts.filter((v) => v.ok).length;

/** `n` concurrent calls spread over `limiters` (processes). */
const admitMany = (limiters: AdmissionLimiter[], n: number, workspace: string, bucket: Bucket | null, perMinute: number | null): Promise<LimitVerdict[]> =>
  Promise.all(Array.from({ length: n }, (_, i) => Promise.resolve(limiters[i % limiters.length]!.admit(workspace, bucket, perMinute))));

/** Scripts Redis has run so far (every round trip of the limiter is one). */
async function scriptsRun(): Promise<number> {
  const client = await openRedis(redis.url);
  try {
    const stats = await client.info('commandstats');
    return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  } finally {
    client.disconnect();
  }
}

/**
 * A window of 50 minutes and a rate of 1/min: leases of 50 admissions (a quarter of the burst of
 * 200) and no refill to speak of while a test runs, so counts are exact.
 */
const LONG_WINDOW_MS = 3_000_000;
const slowBucket = (): Bucket => ({ fn: `fn-${randomBytes(3).toString('hex')}`, requests: 1, periodMs: 60_000, burst: 200 });

describe('redis limiter leases', { skip }, () => {
  it('two processes leasing one bucket admit exactly its burst among 600 concurrent calls', async (t) => {
    const f = await limiters(2, LONG_WINDOW_MS);
    t.after(() => f.close());
    const verdicts = await admitMany(f.limiters, 600, 'ws', slowBucket(), null);
    assert.equal(ok(verdicts), 200);
    assert.ok(verdicts.every((v) => v.ok || (v.reason === 'rate' && v.retryAfterMs > 0)));
  });

  it("gives a stopping process's unspent admissions back to the others", async (t) => {
    const f = await limiters(2, LONG_WINDOW_MS);
    t.after(() => f.close());
    const [a, b] = f.limiters as [RedisLimiter, RedisLimiter];
    const bucket = slowBucket();
    assert.equal((await a.admit('ws', bucket, null)).ok, true, 'a leases 50 and spends one');
    assert.equal(ok(await admitMany([b], 300, 'ws', bucket, null)), 150, 'b gets what a does not hold');
    await a.close();
    assert.equal(ok(await admitMany([b], 100, 'ws', bucket, null)), 49, 'the 49 a held are back');
  });

  it("two processes leasing a workspace's minute admit exactly its quota, and count it", async (t) => {
    const f = await limiters(2, LONG_WINDOW_MS);
    t.after(() => f.close());
    await beforeMinuteEnds();
    const workspace = `ws-${randomBytes(3).toString('hex')}`;
    const verdicts = await admitMany(f.limiters, 600, workspace, null, 300);
    assert.equal(ok(verdicts), 300);
    const refused = verdicts.find((v) => !v.ok);
    assert.ok(refused !== undefined && !refused.ok);
    assert.deepEqual([refused.reason, refused.used], ['quota', 300]);
    assert.equal(await f.limiters[0]!.minuteCount(workspace), 300);
  });

  it('a high rate costs a round trip per lease, not per call', async (t) => {
    const f = await limiters(2);
    t.after(() => f.close());
    const bucket: Bucket = { fn: 'hot', requests: 1_000_000, periodMs: 1000, burst: 1_000_000 };
    const before = await scriptsRun();
    let admitted = 0;
    for (let round = 0; round < 10; round++) admitted += ok(await admitMany(f.limiters, 200, 'ws', bucket, null));
    const scripts = (await scriptsRun()) - before;
    assert.equal(admitted, 2000);
    // Two processes, 2000 calls: leases of MAX_LEASE or of everyone waiting, and what expired going back.
    assert.ok(scripts <= (2 * 2000) / MAX_LEASE + 20, `${scripts} scripts for 2000 calls`);
  });
});

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

describe('redis limiter after Redis\'s clock stepped back (chaos round 9)', { skip }, () => {
  it('refills a drained bucket from the new time on, not once the clock is back', async (t) => {
    const prefix = `t${randomBytes(4).toString('hex')}`;
    const limiter = new RedisLimiter({ client: await openRedis(redis.url, undefined, { ...LIMITER_CLIENT_OPTIONS }), ownsClient: true, prefix });
    const client = await openRedis(redis.url);
    t.after(async () => {
      await limiter.close();
      client.disconnect();
    });
    const bucket = { fn: 'f', requests: 10, periodMs: 1000, burst: 1 };
    assert.equal((await limiter.admit('ws', bucket, null)).ok, true);
    // As the bucket reads once Redis's host clock stepped back 10 minutes: taken from "in the future".
    const key = redisKeys(prefix).limits('ws').bucket('f');
    await client.hset(key, 'ts', Number(await client.hget(key, 'ts')) + 10 * 60_000);
    assert.equal((await limiter.admit('ws', bucket, null)).ok, false, 'no refill for the step itself');
    await new Promise((r) => setTimeout(r, 150));
    // Before: refused for the 10 minutes until the clock was back there.
    assert.equal((await limiter.admit('ws', bucket, null)).ok, true);
  });
});
