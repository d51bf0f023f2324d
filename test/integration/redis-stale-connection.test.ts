/**
 * A connection that went silent while new ones would work: after a network partition heals, a TCP
 * connection that had data in flight waits out TCP's retransmission back-off (tens of seconds;
 * reliability round 10 measured async intake and cron ticks down ~19 s after the link was back),
 * and ioredis's command timeout never closes it. A client from `connectRedis` drops a connection
 * silent for its command timeout plus 3 s with commands waiting, and makes a new one.
 *
 * The partition is a relay that black-holes the connections open at the cut (bytes are read and
 * dropped, nothing is closed) while new connections pass: a stale connection for ever, so a client
 * without the fix never recovers.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { serverSkip, startRedis } from '../helpers/servers.js';

async function blackholingRelay(port: number): Promise<{ url: string; blackhole(): void; close(): Promise<void> }> {
  const live = new Set<net.Socket>();
  const all = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      all.add(s);
      s.on('close', () => all.delete(s));
      s.on('error', () => undefined);
    }
    live.add(client);
    client.on('data', (chunk) => live.has(client) && upstream.write(chunk));
    upstream.on('data', (chunk) => live.has(client) && client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    blackhole: () => live.clear(),
    close: () => new Promise<void>((resolve) => {
      for (const s of all) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('a Redis connection gone silent', { skip: serverSkip('redis-server') }, () => {
  it('is dropped and made again, so commands work once Redis is reachable anew', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    after(() => redis.destroy());
    const link = await blackholingRelay(redis.port);
    after(() => link.close());
    const client = connectRedis(link.url);
    after(() => client.disconnect());
    await redisReady(client);
    assert.equal(await client.set('k', '1'), 'OK');
    link.blackhole();
    await assert.rejects(client.get('k'), /timed out/);
    let answered: string | null = null;
    const deadline = Date.now() + 25_000;
    while (answered === null && Date.now() < deadline) {
      answered = await client.get('k').catch(() => null);
      if (answered === null) await sleep(500);
    }
    assert.equal(answered, '1', 'a command through a new connection (the stale one dropped) within 25 s');
  });
});
