/**
 * Does this Redis keep its data across a restart? Real redis-servers: AOF, snapshots, none, and
 * one whose CONFIG is renamed away (as managed Redis often has it). The watch checks at start and
 * again after every reconnect, refuses async runs on a volatile Redis unless allowed, and logs a
 * verdict once, not per check.
 */
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { readPersistence, RedisDurability } from '../../controlplane/store/production/redis-persistence.js';
import { rejectsWithCode } from '../conformance/fixtures.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('redis-server');

async function clientOf(server: ServerProcess): Promise<ReturnType<typeof connectRedis>> {
  const client = connectRedis(server.url);
  after(() => client.disconnect());
  await redisReady(client);
  return client;
}

async function server(options: Parameters<typeof startRedis>[0] = {}): Promise<ServerProcess> {
  const s = await startRedis(options);
  after(() => s.destroy());
  return s;
}

/** Drops every normal client connection, as a Redis restart or a network blip does. */
async function dropConnections(probe: ReturnType<typeof connectRedis>): Promise<void> {
  await probe.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
}

async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('Redis persistence check', { skip }, () => {
  it('reads AOF, snapshots and none through CONFIG GET', async () => {
    const redis = await server({ appendOnly: true });
    const client = await clientOf(redis);
    assert.deepEqual(await readPersistence(client).then((p) => [p.mode, p.persistent]), ['aof', true]);
    await client.call('CONFIG', 'SET', 'appendonly', 'no');
    await client.call('CONFIG', 'SET', 'save', '3600 1');
    assert.deepEqual(await readPersistence(client).then((p) => [p.mode, p.persistent]), ['rdb', true]);
    await client.call('CONFIG', 'SET', 'save', '');
    const none = await readPersistence(client);
    assert.deepEqual([none.mode, none.persistent], ['none', false]);
    assert.match(none.detail, /appendonly=no save=""/);
  });

  it('falls back to INFO persistence when CONFIG is renamed away: AOF is seen, anything else is unknown', async () => {
    const [withAof, without] = await Promise.all([
      server({ appendOnly: true, args: ['--rename-command', 'CONFIG', ''] }),
      server({ args: ['--save', '3600 1', '--rename-command', 'CONFIG', ''] }),
    ]);
    const aof = await readPersistence(await clientOf(withAof));
    assert.deepEqual([aof.mode, aof.persistent], ['aof', true]);
    const unknown = await readPersistence(await clientOf(without));
    assert.deepEqual([unknown.mode, unknown.persistent], ['unknown', false], 'snapshots cannot be seen without CONFIG: not trusted');
  });

  it('checks again after every reconnect: a Redis that stopped persisting is refused, and accepted again once it persists', async () => {
    const redis = await server({ appendOnly: true });
    const [client, probe] = [await clientOf(redis), await clientOf(redis)];
    const lines: string[] = [];
    const watch = new RedisDurability({ client, url: redis.url.replace('redis://', 'redis://:secret@'), allowVolatile: false, log: (l) => lines.push(l) });
    after(() => watch.close());
    assert.equal((await watch.start()).persistent, true);
    await watch.admit();
    assert.equal(watch.problem(), null);
    assert.equal(lines.length, 0, 'a persistent Redis is not worth a line');

    await probe.call('CONFIG', 'SET', 'appendonly', 'no');
    assert.equal(watch.problem(), null, 'a change without a reconnect is seen at the next reconnect');
    await dropConnections(probe);
    // The verdict, not ASYNC_QUEUE_UNAVAILABLE while the connection is down (chaos1: /readyz says that too).
    await until('the re-check', () => watch.problem()?.code === 'ASYNC_QUEUE_NOT_DURABLE');
    await rejectsWithCode(watch.admit(), 'ASYNC_QUEUE_NOT_DURABLE');
    assert.equal(watch.problem()?.code, 'ASYNC_QUEUE_NOT_DURABLE');
    assert.match(watch.problem()!.message, /appendonly=no/);
    assert.ok(lines.some((l) => /lost the connection to Redis redis:\/\/127\.0\.0\.1:\d+/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /is back after/.test(l)));
    assert.equal(lines.filter((l) => /ERROR: Redis .* does not persist its data/.test(l)).length, 1);
    assert.ok(!lines.some((l) => l.includes('secret')), 'no credentials in the log');

    // Checked again on the next reconnect, but told only when the verdict changes.
    await dropConnections(probe);
    await until('the reconnect', () => lines.filter((l) => /is back after/.test(l)).length === 2);
    await sleep(100);
    assert.equal(lines.filter((l) => /does not persist/.test(l)).length, 1);

    await probe.call('CONFIG', 'SET', 'appendonly', 'yes');
    await dropConnections(probe);
    await until('the verdict', () => watch.problem() === null);
    await watch.admit();
    assert.ok(lines.some((l) => /persists its data now/.test(l)));
  });

  it('with allowVolatile takes runs on a volatile Redis, and warns once', async () => {
    const redis = await server();
    const lines: string[] = [];
    const watch = new RedisDurability({ client: await clientOf(redis), url: redis.url, allowVolatile: true, log: (l) => lines.push(l) });
    after(() => watch.close());
    assert.equal((await watch.start()).persistent, false);
    await watch.admit();
    assert.equal(watch.problem(), null);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /WARNING: .*does not persist.*FP_REDIS_ALLOW_VOLATILE=1/);
  });
  it('says so when Redis comes back with older data than it had acknowledged (an older AOF restored)', async () => {
    const redis = await server({ appendOnly: true });
    const [client, probe] = [await clientOf(redis), await clientOf(redis)];
    const lines: string[] = [];
    const markKey = 'fp:v1:durability-mark';
    const watch = new RedisDurability({ client, url: redis.url, allowVolatile: false, log: (l) => lines.push(l), markKey, markIntervalMs: 50 });
    after(() => watch.close());
    await watch.start();
    const marked = async (): Promise<number> => Number(await probe.get(markKey) ?? 0);
    for (let i = 0; i < 300 && await marked() < 3; i++) await sleep(20);
    // A copy of the data as it is now, then more acknowledged writes, then Redis restarted from the copy.
    const aof = join(redis.dir, 'appendonlydir');
    const older = join(redis.dir, 'older-aof');
    cpSync(aof, older, { recursive: true });
    const copied = await marked();
    await probe.set('acknowledged-after-the-copy', '1');
    for (let i = 0; i < 300 && await marked() < copied + 5; i++) await sleep(20);
    assert.ok(lines.every((l) => !/older data/.test(l)), lines.join('\n'));
    assert.equal(watch.problem(), null);
    await redis.stop('SIGKILL');
    rmSync(aof, { recursive: true, force: true });
    cpSync(older, aof, { recursive: true });
    await redis.start();
    await until('the warning', () => lines.some((l) => /came back with older data than it had acknowledged/.test(l)), 20_000);
    assert.equal(await probe.get('acknowledged-after-the-copy').catch(() => null), null, 'the write was indeed lost');
    assert.equal(lines.filter((l) => /older data/.test(l)).length, 1, 'said once');
    // With a stable code, in the log and on /readyz (degraded); before (chaos round 9) the log line
    // alone said so, and /readyz was "ready" with no problem.
    assert.match(lines.find((l) => /older data/.test(l))!, /\[REDIS_DATA_LOST\]$/);
    const problem = watch.problem();
    assert.equal(problem?.code, 'REDIS_DATA_LOST', JSON.stringify(problem));
    assert.equal(problem?.degraded, true);
    assert.match(problem!.message, /without data it had acknowledged .* Async runs accepted then and not yet run are queued again/);
  });
});

describe('Redis eviction check (reliability round 10, ADR 0151)', { skip }, () => {
  it('an evicting policy under maxmemory is refused like a volatile Redis, even with AOF; noeviction or no maxmemory is not', async () => {
    const redis = await server({ appendOnly: true, args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] });
    const [client, probe] = [await clientOf(redis), await clientOf(redis)];
    const verdict = await readPersistence(client);
    assert.equal(verdict.persistent, true);
    assert.match(verdict.evicts ?? '', /^maxmemory=67108864 maxmemory-policy=allkeys-lru \(CONFIG GET\)$/);
    const lines: string[] = [];
    const watch = new RedisDurability({ client, url: redis.url, allowVolatile: false, log: (l) => lines.push(l), recheckMs: 50 });
    after(() => watch.close());
    await watch.start();
    await rejectsWithCode(watch.admit(), 'ASYNC_QUEUE_NOT_DURABLE');
    assert.equal(watch.problem()?.code, 'ASYNC_QUEUE_NOT_DURABLE');
    assert.match(watch.problem()!.message, /drops keys when it is full \(maxmemory=67108864 maxmemory-policy=allkeys-lru/);
    assert.equal(lines.filter((l) => /ERROR: Redis .* evicts keys when full/.test(l)).length, 1, lines.join('\n'));

    // Changed at run time (CONFIG SET, no reconnect): seen at the next look, and said once.
    await probe.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await until('the re-check', () => watch.problem() === null);
    await watch.admit();
    assert.ok(lines.some((l) => /no longer drops keys when full; async runs are accepted again/.test(l)), lines.join('\n'));
    for (const policy of ['volatile-lru', 'volatile-ttl', 'allkeys-random']) {
      await probe.call('CONFIG', 'SET', 'maxmemory-policy', policy);
      await until(`${policy} seen`, () => watch.problem()?.message.includes(policy) === true);
    }
    await probe.call('CONFIG', 'SET', 'maxmemory', '0');
    await until('no maxmemory seen', () => watch.problem() === null);
    await sleep(200);
    assert.equal(lines.filter((l) => /evicts keys when full/.test(l)).length, 2, 'one line per change of verdict, not per look');
  });

  it('reads maxmemory from INFO memory when CONFIG is renamed away; FP_REDIS_ALLOW_VOLATILE accepts it with a warning', async () => {
    const redis = await server({ appendOnly: true, args: ['--maxmemory', '64mb', '--maxmemory-policy', 'volatile-lru', '--rename-command', 'CONFIG', ''] });
    const verdict = await readPersistence(await clientOf(redis));
    assert.equal(verdict.persistent, true);
    assert.match(verdict.evicts ?? '', /maxmemory-policy=volatile-lru \(INFO memory/);
    const lines: string[] = [];
    const watch = new RedisDurability({ client: await clientOf(redis), url: redis.url, allowVolatile: true, log: (l) => lines.push(l) });
    after(() => watch.close());
    await watch.start();
    await watch.admit();
    assert.equal(watch.problem(), null);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /WARNING: Redis .* evicts keys when full .*FP_REDIS_ALLOW_VOLATILE=1/);
  });

  it('a Redis that does not answer (a slow or cut link) gets no verdict: the last one stands', async () => {
    const redis = await server({ appendOnly: true });
    const client = await clientOf(redis);
    const lines: string[] = [];
    const watch = new RedisDurability({ client, url: redis.url, allowVolatile: false, log: (l) => lines.push(l), recheckMs: 50 });
    after(() => watch.close());
    assert.equal((await watch.start()).persistent, true);
    process.kill(redis.pid, 'SIGSTOP');
    try {
      // CONFIG GET and INFO time out (2 s each): before round 10 that read as "cannot be shown to
      // persist" and refused async runs on an AOF Redis (a slowed link, /work/probe-chaos10/load).
      await assert.rejects(readPersistence(client), /timed out/);
      await assert.rejects(readPersistence(client), /timed out/); // the watch's own re-checks ran meanwhile
      assert.equal(watch.problem(), null);
      await watch.admit();
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
    assert.ok(!lines.some((l) => /persist/.test(l)), lines.join('\n'));
  });
});

