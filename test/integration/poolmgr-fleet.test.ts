/**
 * minWarm across gateways (poolmgr/fleet.ts): two pool managers on one Redis, each told what the
 * other holds through the control plane's warm reports. The gateway ranked first keeps the
 * function's minWarm instance; the other lets its idle instance go (scale to zero); once the first
 * holds none, the second keeps its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { defaultPoolConfig, PoolManager, RedisFleetView } from '../../poolmgr/index.js';
import { redisKeys } from '../../protocol/redis-keys.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';
import { testSandbox } from '../helpers/runtime-process.js';
import { ev, fnVersion, removeFunction, STEERED_HANDLER, until, writeFunction } from './poolmgr-harness.js';

describe('minWarm across gateways (FleetView on Redis)', { skip: serverSkip('redis-server') }, () => {
  let redis: ServerProcess;
  let client: Redis;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('keeps minWarm once across gateways: the first ranked keeps it, the others scale to zero', async (t) => {
    const prefix = `fleet${Date.now()}`;
    const keys = redisKeys(prefix);
    const dir = await writeFunction({ 'main.py': STEERED_HANDLER });
    t.after(() => removeFunction(dir));
    const fleets = await Promise.all(['gw-a', 'gw-b'].map((reporterId) => RedisFleetView.open({ redisUrl: redis.url, prefix, reporterId, refreshMs: 100 })));
    t.after(() => Promise.all(fleets.map((f) => f.close())));
    const pools = fleets.map((fleet) => new PoolManager(defaultPoolConfig({ poolSize: 0, idleTimeoutMs: 300, reapIntervalMs: 100, shutdownGraceMs: 1000, codeRoots: [tmpdir()], sandbox: testSandbox() }), undefined, { fleet }));
    for (const p of pools) await p.start();
    t.after(() => Promise.all(pools.map((p) => p.close())));
    const fn = fnVersion(dir, { minWarm: 1 });
    const [a, b] = pools as [PoolManager, PoolManager];
    // The control plane's warm reports, as warm-reporter.ts writes them.
    const report = (reporter: string, n: number): Promise<unknown> => (n === 0
      ? client.hdel(keys.warm(fn.name), reporter)
      : client.hset(keys.warm(fn.name), reporter, `${n}:${Date.now() + 60_000}`));
    const instances = (p: PoolManager): number => p.stats().warm + p.stats().busy;

    for (const p of pools) assert.equal((await p.invoke(fn, ev())).error, null);
    await report('gw-a', 1);
    await report('gw-b', 1);
    await until(() => instances(b) === 0, 5_000, 'gw-b to let its idle instance go');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(instances(a), 1, 'gw-a, ranked first, keeps the minWarm instance');

    // gw-a holds none any more (e.g. it went away): gw-b keeps its own instance now.
    await report('gw-a', 0);
    await report('gw-b', 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await b.invoke(fn, ev())).error, null);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(instances(b), 1, 'with nobody ahead, gw-b keeps minWarm itself');
  });
});
