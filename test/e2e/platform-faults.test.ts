/**
 * Platform-level fault tests in production mode: a stream of invocations runs while Redis (then
 * FerretDB) is stopped and restarted. Every call answers 200, none waits on the server that is
 * down, the calls during the outage are about as fast as the ones before it (measured in the same
 * stream, under the same load), and afterwards the Redis counters equal the calls made and every
 * run is in MongoDB. A 3 s Redis outage under several callers loses no sample, and the usage API
 * has them all soon after. No latency is compared with a fixed number of milliseconds: the test
 * must hold on a loaded CI machine (test/README.md, "No timed assertions").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_SERVER_SELECTION_TIMEOUT_MS, REDIS_CLIENT_OPTIONS } from '../../controlplane/store/production/index.js';
import type { ServerProcess } from '../helpers/servers.js';
import { deployed, fnName, handlerReturning } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';
import { usageWhen } from './usage-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The shortest time a call that waited on a stopped Redis or MongoDB would take: the clients'
 * connect, command and server-selection timeouts (seconds, not the milliseconds a call takes).
 */
const SERVER_WAIT_MS = Math.min(REDIS_CLIENT_OPTIONS.connectTimeout!, REDIS_CLIENT_OPTIONS.commandTimeout!, DEFAULT_SERVER_SELECTION_TIMEOUT_MS);

type Phase = 'before' | 'down' | 'back';

interface Call {
  status: number;
  ms: number;
  phase: Phase;
}

/** What `during` is given: move the phase on, and wait until that many calls were made in the phase. */
interface Stream {
  mark(phase: Phase): void;
  callsInPhase(count: number): Promise<void>;
}

/**
 * Calls the function back to back until `during` resolves; returns each call's status, latency
 * and the phase it started in (`during` moves the phase on).
 */
async function stream(url: string, name: string, during: (s: Stream) => Promise<void>): Promise<Call[]> {
  const calls: Call[] = [];
  let phase: Phase = 'before';
  let inPhase = 0;
  let waiter = null as { count: number; resolve: () => void } | null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started: Phase = phase;
      const t0 = performance.now();
      const res = await fetch(`${url}/fn/${name}/`);
      await res.arrayBuffer();
      calls.push({ status: res.status, ms: performance.now() - t0, phase: started });
      if (started === phase) inPhase++;
      if (waiter !== null && inPhase >= waiter.count) waiter.resolve();
      await sleep(2);
    }
  })();
  try {
    await during({
      mark(next) {
        phase = next;
        inPhase = 0;
      },
      callsInPhase: (count) => new Promise<void>((resolve) => {
        if (inPhase >= count) return resolve();
        waiter = { count, resolve: () => ((waiter = null), resolve()) };
      }),
    });
  } finally {
    running = false;
    await loop;
  }
  return calls;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
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
    // Every run kept in full (no sampling: docs/stores.md, "Retention"), so every call's record can be found.
    node = await startNode({ ...clusterOptions(servers), warmReportIntervalMs: 500, runSampleOneIn: 1 });
  });
  after(() => node?.close());

  /** 50 calls, then the server is killed; at least 1.5 s and 50 calls later it is started again. */
  const outage = (server: () => ServerProcess) => async (s: Stream): Promise<void> => {
    await s.callsInPhase(50);
    s.mark('down');
    await server().stop('SIGKILL');
    await Promise.all([sleep(1500), s.callsInPhase(50)]);
    await server().start();
    s.mark('back');
    await sleep(500);
  };

  it('Redis stopped for 3 s under several callers: usage counts equal the calls made once it is back', async (t) => {
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
    const statuses = callers.flat().map((c) => c.status);
    const calls = statuses.length + 1;
    assert.deepEqual([...new Set(statuses)], [200], 'every call answered 200');
    const u = await usageWhen(node.api, name, (x) => x.totals.invocations >= calls, '1h', 20_000);
    t.diagnostic(`usage caught up ${Date.now() - back} ms after Redis was back`);
    assert.equal(u.totals.invocations, calls, 'counted once each, none lost');
    assert.equal(u.invocations, calls, 'and in the 1h window');
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /fp_runs_dropped_total\{reason="(metrics|history)_overflow"\} [1-9]/);
  });

  for (const [what, server] of [['Redis', () => servers.redis], ['FerretDB', () => servers.ferret]] as const) {
    it(`${what} down and back during a stream: every call 200, none waits on ${what}, counters and runs reconcile`, async (t) => {
      const name = fnName();
      await deployed(node.api, name, handlerReturning('ok'));
      const warm = await fetch(`${node.url}/fn/${name}/`);
      await warm.arrayBuffer();
      assert.equal(warm.status, 200);
      const made = await stream(node.url, name, outage(server));
      const calls = made.length + 1;
      const ms = (phase: Phase): number[] => made.filter((c) => c.phase === phase).map((c) => c.ms);
      const [before, down] = [ms('before'), ms('down')];
      const p90 = { before: quantile(before, 0.9), down: quantile(down, 0.9) };
      const slowest = Math.max(...made.map((c) => c.ms));
      t.diagnostic(`${made.length} calls (${before.length} before, ${down.length} during the outage); p90 before ${p90.before.toFixed(1)} ms, during ${p90.down.toFixed(1)} ms; slowest ${slowest.toFixed(1)} ms`);
      assert.deepEqual([...new Set(made.map((c) => c.status))], [200], 'every call answered 200');
      // A call that waited on the stopped server would take one of its clients' timeouts.
      assert.ok(slowest < SERVER_WAIT_MS, `a call took ${slowest.toFixed(0)} ms: it waited on ${what} (timeouts ${SERVER_WAIT_MS} ms)`);
      // And the outage adds no latency worth noting: against the calls before it, same stream, same load.
      assert.ok(p90.down <= 3 * p90.before + 20, `p90 ${p90.down.toFixed(1)} ms during the outage, ${p90.before.toFixed(1)} ms before it`);
      const u = await usageWhen(node.api, name, (x) => x.totals.invocations >= calls, '1h', 20_000);
      assert.equal(u.totals.invocations, calls, 'counted once each');
      const deadline = Date.now() + 20_000;
      while ((await allRuns(node, name)) < calls && Date.now() < deadline) await sleep(200);
      assert.equal(await allRuns(node, name), calls, 'every run is in MongoDB');
    });
  }
});
