/**
 * Cron and webhook triggers on a real redis-server: two schedulers with their own connections
 * share one Redis tick lock and fire each per-second tick exactly once; the Redis replay guard
 * refuses a replayed Stripe-style delivery across guards; a dead Redis is TRIGGER_UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { checkReplay, CronScheduler, redisReplayGuard, redisTickLock, replayKey, verifyStripeSignature, type TickLock } from '../../controlplane/async/index.js';
import { redisKeys } from '../../protocol/redis-keys.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';
import { tickNoteConformance } from '../conformance/tick-note-suite.js';

const skip = serverSkip('redis-server');
let redis: ServerProcess | null = null;
if (!skip) {
  redis = await startRedis();
  after(() => redis?.destroy());
}
const randomPrefix = (): string => `t${randomBytes(4).toString('hex')}`;
const client = async () => {
  const c = connectRedis(redis!.url);
  await redisReady(c);
  return c;
};

if (!skip) {
  tickNoteConformance('redis', async () => {
    const prefix = randomPrefix();
    return [redisTickLock({ client: await client(), ownsClient: true, prefix }), redisTickLock({ client: await client(), ownsClient: true, prefix })];
  });
}

describe('redis triggers', { skip }, () => {
  it('fires each per-second tick once across two schedulers sharing the Redis lock', async () => {
    const prefix = randomPrefix();
    const locks: TickLock[] = [redisTickLock({ client: await client(), ownsClient: true, prefix }), redisTickLock({ client: await client(), ownsClient: true, prefix })];
    const fired: { by: number; tick: number }[] = [];
    const errors: unknown[] = [];
    const schedulers = locks.map((lock, by) => new CronScheduler({ lock, fire: (_t, tick) => void fired.push({ by, tick }), onError: (e) => errors.push(e) }));
    for (const s of schedulers) {
      s.set({ function: 'beat', triggerId: 'sec', expression: '* * * * * *' });
      s.start();
    }
    // Three per-second ticks, waited for as they come (a budget of 15 s for a loaded machine).
    for (const deadline = Date.now() + 15_000; fired.length < 3 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(schedulers.map((s) => s.stop()));
    await Promise.all(locks.map((l) => l.close()));
    const ticks = fired.map((f) => f.tick);
    assert.deepEqual(errors, []);
    assert.ok(ticks.length >= 3, `only ${ticks.length} ticks`);
    assert.equal(new Set(ticks).size, ticks.length, `a tick fired twice: ${JSON.stringify(fired)}`);
    const sorted = [...ticks].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) assert.equal(sorted[i]! - sorted[i - 1]!, 1000, 'a tick was missed');
    const probe = await client();
    try {
      const k = redisKeys(prefix).trigger('beat', 'sec');
      // The claims, and the trigger's lasting note (ADR 0238; no TTL).
      assert.deepEqual((await probe.keys(`${prefix}:*`)).sort(), [...sorted.map((t) => k.tick(t)), k.note].sort());
      assert.equal(await probe.pttl(k.note), -1);
      const ttl = await probe.pttl(k.tick(sorted[0]!));
      assert.ok(ttl > 0 && ttl <= 10 * 60_000);
    } finally {
      probe.disconnect();
    }
  });

  it('refuses a replayed Stripe delivery across two guards, with a TTL bounded by the window', async () => {
    const prefix = randomPrefix();
    const guards = [redisReplayGuard({ client: await client(), ownsClient: true, prefix }), redisReplayGuard({ client: await client(), ownsClient: true, prefix })];
    const body = randomBytes(100);
    const t = Math.floor(Date.now() / 1000);
    const header = `t=${t},v1=${createHmac('sha256', 's3cret').update(`${t}.`).update(body).digest('hex')}`;
    const ref = { function: 'pay', triggerId: 'stripe' };
    const verdicts = await Promise.all(guards.map((g) => checkReplay(g, ref, verifyStripeSignature(header, body, { current: 's3cret' }))));
    assert.deepEqual(verdicts.map((v) => v.ok).sort(), [false, true]);
    assert.ok(verdicts.some((v) => !v.ok && v.code === 'WEBHOOK_REPLAYED'));
    const probe = await client();
    try {
      const [key] = await probe.keys(`${prefix}:*`);
      assert.ok(key?.startsWith(`${prefix}:v1:fn:{pay}:hook:stripe:seen:${t}:`));
      const ttl = await probe.pttl(key!);
      assert.ok(ttl > 290_000 && ttl <= 302_000, `ttl ${ttl}`);
    } finally {
      probe.disconnect();
      await Promise.all(guards.map((g) => g.close()));
    }
  });

  it('forgets a delivery that was not accepted after all: the next check of it passes again, once', async () => {
    const prefix = randomPrefix();
    const guard = redisReplayGuard({ client: await client(), ownsClient: true, prefix });
    const body = randomBytes(100);
    const t = Math.floor(Date.now() / 1000);
    const header = `t=${t},v1=${createHmac('sha256', 's3cret').update(`${t}.`).update(body).digest('hex')}`;
    const ref = { function: 'pay', triggerId: 'stripe' };
    const check = () => checkReplay(guard, ref, verifyStripeSignature(header, body, { current: 's3cret' }));
    try {
      const first = await check();
      assert.equal(first.ok, true);
      await guard.forget(ref, replayKey(first)!);
      assert.equal((await check()).ok, true);
      assert.deepEqual(await check(), { ok: false, code: 'WEBHOOK_REPLAYED' });
    } finally {
      await guard.close();
    }
  });

  it('answers TRIGGER_UNAVAILABLE (not a hang) when Redis is down', async () => {
    const server = await startRedis();
    after(() => server.destroy());
    const c = connectRedis(server.url);
    await redisReady(c);
    const lock = redisTickLock({ client: c, ownsClient: true, prefix: randomPrefix() });
    await server.stop('SIGKILL');
    await assert.rejects(lock.acquire({ function: 'f', triggerId: 't' }, 1000), { code: 'TRIGGER_UNAVAILABLE' });
    await lock.close();
  });
});
