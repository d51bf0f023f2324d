/**
 * Platform-level fault tests in production mode: a stream of invocations runs while Redis (then
 * FerretDB) is stopped and restarted. Every call answers 200 without added latency worth noting,
 * and afterwards the Redis counters equal the calls made and every run is in MongoDB. A 3 s Redis
 * outage under several callers loses no sample, and the usage API has them all soon after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerProcess } from '../helpers/servers.js';
import { deployed, fnName, handlerReturning } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';
import { usageWhen } from './usage-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Calls the function back to back until `stop()` resolves; returns each call's status and latency. */
async function stream(url: string, name: string, during: () => Promise<void>): Promise<{ statuses: number[]; latencies: number[] }> {
  const statuses: number[] = [];
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${url}/fn/${name}/`);
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      statuses.push(res.status);
      await sleep(2);
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await loop;
  }
  return { statuses, latencies };
}

function p99(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

async function allRuns(node: Node, name: string): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const res = await node.api.call('GET', `/runs?function=${name}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    count += (res.body.items as unknown[]).length;
    cursor = res.body.nextCursor as string | null;
  } while (cursor !== null);
  return count;
}

describe('production mode faults', { skip: productionSkip, timeout: 180_000 }, () => {
  const servers = useServers();
  let node: Node;
  before(async () => {
    node = await startNode({ ...clusterOptions(servers), warmReportIntervalMs: 500 });
  });
  after(() => node?.close());

  const outage = (server: () => ServerProcess) => async (): Promise<void> => {
    await sleep(300);
    await server().stop('SIGKILL');
    await sleep(1500);
    await server().start();
    await sleep(500);
  };

  it('Redis stopped for 3 s under several callers: usage counts equal the calls made, within 2 s of its return', async () => {
    const name = fnName();
    await deployed(node.api, name, handlerReturning('ok'));
    const warm = await fetch(`${node.url}/fn/${name}/`);
    await warm.arrayBuffer();
    let back = 0;
    const callers = await Promise.all(Array.from({ length: 4 }, (_, i) => stream(node.url, name, i > 0 ? () => sleep(4000) : async () => {
      await sleep(300);
      await servers.redis.stop();
      await sleep(3000);
      await servers.redis.start();
      back = Date.now();
      await sleep(300);
    })));
    const statuses = callers.flatMap((c) => c.statuses);
    const calls = statuses.length + 1;
    assert.deepEqual([...new Set(statuses)], [200], 'every call answered 200');
    const u = await usageWhen(node.api, name, (x) => x.totals.invocations >= calls, '1h', 20_000);
    const caughtUpMs = Date.now() - back;
    assert.equal(u.totals.invocations, calls, 'counted once each, none lost');
    assert.equal(u.invocations, calls, 'and in the 1h window');
    assert.ok(caughtUpMs < 2000 + 1000, `usage caught up ${caughtUpMs} ms after Redis was back`);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /fp_runs_dropped_total\{reason="(metrics|history)_overflow"\} [1-9]/);
  });

  for (const [what, server] of [['Redis', () => servers.redis], ['FerretDB', () => servers.ferret]] as const) {
    it(`${what} down and back during a stream: every call 200, p99 bounded, counters and runs reconcile`, async () => {
      const name = fnName();
      await deployed(node.api, name, handlerReturning('ok'));
      const warm = await fetch(`${node.url}/fn/${name}/`);
      await warm.arrayBuffer();
      assert.equal(warm.status, 200);
      const { statuses, latencies } = await stream(node.url, name, outage(server));
      const calls = statuses.length + 1;
      assert.ok(statuses.length > 50, `only ${statuses.length} calls`);
      assert.deepEqual([...new Set(statuses)], [200], 'every call answered 200');
      assert.ok(p99(latencies) < 100, `p99 ${p99(latencies).toFixed(1)} ms`);
      const u = await usageWhen(node.api, name, (x) => x.totals.invocations >= calls, '1h', 20_000);
      assert.equal(u.totals.invocations, calls, 'counted once each');
      const deadline = Date.now() + 20_000;
      while ((await allRuns(node, name)) < calls && Date.now() < deadline) await sleep(200);
      assert.equal(await allRuns(node, name), calls, 'every run is in MongoDB');
    });
  }
});
