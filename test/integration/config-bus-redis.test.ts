/**
 * The config bus on a real Redis (controlplane/store/production/config-bus.ts) when one process is
 * cut from Redis and the other is not (reliability round 3): the cut process's publish failed, was
 * logged, and lost; the other process, whose own connection never dropped, never resynced, and
 * kept serving the old settings (a pause, a deploy, a revoked token) until that function changed
 * again or it restarted. Now a change whose publish failed is published again once Redis takes it.
 * The cut is a TCP relay between the first process and Redis that drops its connections.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ConfigChange } from '../../controlplane/store/index.js';
import { RedisConfigBus } from '../../controlplane/store/production/config-bus.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

/** A relay to `port` on 127.0.0.1 that can be cut (every connection dropped, new ones refused) and restored. */
async function relay(port: number): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${own}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function until(what: string, test: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('config bus on Redis, one process cut off', { skip: serverSkip('redis-server'), timeout: 60_000 }, () => {
  let redis: ServerProcess;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.destroy());

  it('a change whose publish failed reaches the other process once Redis takes it again', async () => {
    const link = await relay(redis.port);
    const logs: string[] = [];
    const cutOff = new RedisConfigBus({ redisUrl: link.url, origin: 'a', log: (line) => logs.push(line) });
    const other = new RedisConfigBus({ redisUrl: redis.url, origin: 'b', log: () => undefined });
    const seen: ConfigChange[] = [];
    let resyncs = 0;
    try {
      await other.start({ changed: (c) => seen.push(c), resync: () => { resyncs++; } });
      // The path works: a first change arrives (published until the subscriber is in place).
      for (let i = 0; seen.length === 0; i++) {
        assert.ok(i < 300, 'the first change never arrived');
        cutOff.publish({ kind: 'function', name: 'first' });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const resyncsBefore = resyncs;
      link.cut();
      cutOff.publish({ kind: 'function', name: 'paused-meanwhile' });
      await until('the failed publish to be logged', () => logs.some((l) => l.includes('could not publish a config change')));
      link.restore();
      await until('the change to reach the other process', () => seen.some((c) => c.kind === 'function' && c.name === 'paused-meanwhile'));
      assert.equal(resyncs, resyncsBefore, "the other process's own connection never dropped: no resync covered it");
    } finally {
      await cutOff.close();
      await other.close();
      await link.close();
    }
  });
});
