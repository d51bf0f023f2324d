/**
 * HotMetrics: the shared conformance suite against the in-memory adapter (embedded) and the Redis
 * adapter (a real redis-server), then what only Redis promises: documented key names with TTLs,
 * several gateways adding to one view, and failing fast (not hanging) while Redis is down.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { MemoryHotMetrics } from '../../controlplane/store/metrics/index.js';
import { connectRedis, redisReady, REDIS_CLIENT_OPTIONS } from '../../controlplane/store/production/redis-client.js';
import { RedisHotMetrics } from '../../controlplane/store/production/redis-metrics.js';
import { HOUR_BUCKET_TTL_MS, MINUTE_BUCKET_TTL_MS, redisKeys } from '../../protocol/redis-keys.js';
import { uniqueName } from '../conformance/fixtures.js';
import { hotMetricsConformance } from '../conformance/hot-metrics-suite.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

/** What a call that waited on a dead Redis would take: the client's connect or command timeout. */
const SERVER_WAIT_MS = Math.min(REDIS_CLIENT_OPTIONS.connectTimeout!, REDIS_CLIENT_OPTIONS.commandTimeout!);

hotMetricsConformance('memory', async (now) => new MemoryHotMetrics({ now }));

const skip = serverSkip('redis-server');
let redis: ServerProcess | null = null;
if (!skip) {
  redis = await startRedis();
  after(() => redis?.destroy());
}

async function openRedis(options: { now?: () => number; prefix?: string } = {}): Promise<RedisHotMetrics> {
  const client = connectRedis(redis!.url);
  await redisReady(client);
  return new RedisHotMetrics({ client, ownsClient: true, prefix: options.prefix ?? `t${randomBytes(4).toString('hex')}`, ...(options.now ? { now: options.now } : {}) });
}

describe('redis hot metrics', { skip }, () => {
  hotMetricsConformance('redis', (now) => openRedis({ now }));

  it('writes only the documented keys, buckets with their TTLs', async () => {
    const prefix = `k${randomBytes(4).toString('hex')}`;
    const now = Date.now();
    const m = await openRedis({ prefix, now: () => now });
    const probe = connectRedis(redis!.url);
    await redisReady(probe);
    try {
      const fn = uniqueName();
      await m.record([{ function: fn, runId: 'r1', startedAt: now, durationMs: 12, status: 'succeeded', cold: true }]);
      await m.setWarm(fn, 'gw-1', 1, 10_000);
      await m.setPaused(fn, true);
      const keys = redisKeys(prefix);
      const expected = [
        keys.minute(fn, Math.floor(now / 60_000)),
        keys.hour(fn, Math.floor(now / 3_600_000)),
        keys.totals(fn),
        keys.lastSuccess(fn),
        keys.warm(fn),
        keys.paused(fn),
      ].sort();
      assert.deepEqual((await probe.keys(`${prefix}:*`)).sort(), expected);
      const [minuteTtl, hourTtl, totalsTtl, warmTtl] = await Promise.all([
        probe.pttl(keys.minute(fn, Math.floor(now / 60_000))),
        probe.pttl(keys.hour(fn, Math.floor(now / 3_600_000))),
        probe.pttl(keys.totals(fn)),
        probe.pttl(keys.warm(fn)),
      ]);
      assert.ok(minuteTtl > MINUTE_BUCKET_TTL_MS - 60_000 && minuteTtl <= MINUTE_BUCKET_TTL_MS);
      assert.ok(hourTtl > HOUR_BUCKET_TTL_MS - 60_000 && hourTtl <= HOUR_BUCKET_TTL_MS);
      assert.equal(totalsTtl, -1, 'totals never expire');
      assert.ok(warmTtl > 0 && warmTtl <= 10_000);
      assert.equal(await probe.hget(keys.minute(fn, Math.floor(now / 60_000)), 'n'), '1');
    } finally {
      probe.disconnect();
      await m.close();
    }
  });

  it('merges what several gateways record into one view (one p95 for all)', async () => {
    const prefix = `g${randomBytes(4).toString('hex')}`;
    const now = Date.now();
    const [a, b] = await Promise.all([openRedis({ prefix, now: () => now }), openRedis({ prefix, now: () => now })]);
    try {
      const fn = uniqueName();
      const fast = Array.from({ length: 90 }, (_, i) => ({ function: fn, runId: `a${i}`, startedAt: now, durationMs: 5, status: 'succeeded' as const, cold: false }));
      const slow = Array.from({ length: 10 }, (_, i) => ({ function: fn, runId: `b${i}`, startedAt: now, durationMs: 800, status: 'succeeded' as const, cold: true }));
      await Promise.all([a.record(fast), b.record(slow)]);
      await Promise.all([a.setWarm(fn, 'gw-a', 2), b.setWarm(fn, 'gw-b', 3)]);
      for (const view of [await a.usage(fn, '1m'), await b.usage(fn, '1m')]) {
        assert.equal(view.invocations, 100);
        assert.equal(view.coldStarts, 10);
        assert.equal(view.warmInstances, 5);
        assert.ok(view.p50Ms! < 6, `p50 ${view.p50Ms}`);
        assert.ok(view.p95Ms! > 600, `p95 ${view.p95Ms} comes from the other gateway's runs`);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails fast while Redis is down and recovers by itself when it is back', async (t) => {
    const own = await startRedis();
    t.after(() => own.destroy());
    const client = connectRedis(own.url);
    await redisReady(client);
    const m = new RedisHotMetrics({ client, ownsClient: true, prefix: 'ff' });
    try {
      const fn = uniqueName();
      await own.stop();
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await assert.rejects(m.record([{ function: fn, runId: `x${i}`, startedAt: Date.now(), durationMs: 1, status: 'succeeded', cold: false }]));
        // At once: not after the client's connect or command timeout (seconds), the only wait there could be.
        assert.ok(performance.now() - started < SERVER_WAIT_MS, 'a dead Redis answers an error at once, not after a timeout');
      }
      await own.start();
      await redisReady(client, 10_000);
      await m.record([{ function: fn, runId: 'y', startedAt: Date.now(), durationMs: 1, status: 'succeeded', cold: false }]);
      assert.equal((await m.usage(fn, '1m')).invocations, 1);
    } finally {
      await m.close();
    }
  });
});
