/**
 * Redis reliability of a production platform (issue 9), with real redis-server and FerretDB
 * processes, restarted for real:
 * - a Redis that persists nothing is refused for async runs (503 ASYNC_QUEUE_NOT_DURABLE, /readyz
 *   not ready, a loud log line) unless FP_REDIS_ALLOW_VOLATILE; with it, a Redis restarted empty
 *   is taken as it is: the queue's consumer group comes back and new runs run (said once);
 * - with Redis (then MongoDB) stopped, every answer carries a registry code and plain words, never
 *   the client library's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { startFerret, startRedis, type ServerProcess } from '../helpers/servers.js';
import { deployed, errorOf, fnName, handlerReturning, sleep, type Api } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node, type Servers } from './production-harness.js';

/** What a client library says, never what a user should read. */
const DRIVER_WORDS = /enableOfflineQueue|Stream isn't writeable|ECONNREFUSED|ioredis|Connection is closed|Command timed out|NOGROUP|Mongo[A-Z]\w*Error|MongoDB driver|Server selection timed out|connect ECONN/;

async function post(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
  return { status: res.status, text: await res.text() };
}

async function finalState(api: Api, runId: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    const state = res.status === 200 ? (res.body.run.state as string) : `HTTP ${res.status}`;
    if (['succeeded', 'failed', 'cancelled'].includes(state)) return state;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${state}: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

/** Retries the call while Redis reconnects (503), then returns the 202's run id. */
async function accepted(url: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await post(url);
    if (res.status === 202) return (JSON.parse(res.text) as { runId: string }).runId;
    if (Date.now() > deadline) throw new Error(`never accepted: ${res.status} ${res.text}`);
    await sleep(100);
  }
}

describe('production platform on a Redis that does not persist', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = {} as Servers;
  before(async () => {
    [servers.redis, servers.ferret] = await Promise.all([startRedis(), startFerret()]);
  });
  after(async () => {
    await Promise.all([servers.redis?.destroy(), servers.ferret?.destroy()]);
  });

  it('refuses async runs (503 ASYNC_QUEUE_NOT_DURABLE), is not ready, says why loudly; sync calls go on', async () => {
    const node = await startNode(clusterOptions(servers));
    after(() => node.close());
    const name = fnName();
    await deployed(node.api, name, handlerReturning('ok'));
    const ready = await fetch(`${node.url}/readyz`);
    const body = (await ready.json()) as { status: string; problems: { code: string; message: string }[] };
    assert.equal(ready.status, 503);
    assert.equal(body.status, 'not_ready');
    assert.equal(body.problems[0]?.code, 'ASYNC_QUEUE_NOT_DURABLE');
    assert.match(body.problems[0]!.message, /does not persist .*appendonly=no/);
    const refused = await post(`${node.url}/async/${name}/`);
    assert.equal(refused.status, 503);
    assert.equal(errorOf({ status: 503, headers: new Headers(), body: JSON.parse(refused.text) }).code, 'ASYNC_QUEUE_NOT_DURABLE');
    const sync = await fetch(`${node.url}/fn/${name}/`);
    assert.equal(sync.status, 200, `sync invocations are not affected: ${await sync.text()}`);
    assert.equal(node.logs.filter((l) => /ERROR: Redis .* does not persist its data/.test(l)).length, 1, node.logs.join('\n'));
  });

  it('with FP_REDIS_ALLOW_VOLATILE takes runs, and after Redis restarts empty goes on: group recreated, said once, runs run', async () => {
    const node = await startNode({ ...clusterOptions(servers), redisAllowVolatile: true, dispatchConcurrency: 4 });
    after(() => node.close());
    const ready = await fetch(`${node.url}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    assert.ok(node.logs.some((l) => /WARNING: Redis .* does not persist .*FP_REDIS_ALLOW_VOLATILE=1/.test(l)), node.logs.join('\n'));
    const name = fnName();
    await deployed(node.api, name, handlerReturning('ok'));
    assert.equal(await finalState(node.api, await accepted(`${node.url}/async/${name}/`)), 'succeeded', node.logs.join('\n'));

    await servers.redis.stop();
    await servers.redis.start(); // empty: nothing was persisted
    const runId = await accepted(`${node.url}/async/${name}/`);
    assert.equal(await finalState(node.api, runId), 'succeeded', `the run accepted after the restart runs:\n${node.logs.join('\n')}`);
    await sleep(1000); // a loop would log many times a second
    const recreated = node.logs.filter((l) => /created it again/.test(l));
    assert.equal(recreated.length, 1, node.logs.join('\n'));
    const dispatcherLines = node.logs.filter((l) => l.startsWith('dispatcher:'));
    assert.ok(dispatcherLines.length <= 2, `the dispatcher logged ${dispatcherLines.length} lines:\n${dispatcherLines.join('\n')}`);
  });
});

describe('production platform answers while Redis or MongoDB is down', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = useServers();
  let node: Node;
  let name: string;
  let syncRun: string;
  let asyncRun: string;
  before(async () => {
    node = await startNode(clusterOptions(servers));
    name = fnName();
    await deployed(node.api, name, handlerReturning('ok'));
    const res = await fetch(`${node.url}/fn/${name}/`);
    await res.arrayBuffer();
    syncRun = res.headers.get('x-run-id')!;
    asyncRun = await accepted(`${node.url}/async/${name}/`);
    assert.equal(await finalState(node.api, asyncRun), 'succeeded');
  });
  after(() => node?.close());

  /** Asserts a plain error answer with this code. */
  function plainError(what: string, status: number, text: string, code: string): void {
    assert.equal(status, 503, `${what}: ${status} ${text}`);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    assert.equal(body.error.code, code, `${what}: ${text}`);
    assert.doesNotMatch(text, DRIVER_WORDS, `${what} shows the client library's words`);
  }

  it('Redis stopped: async intake, usage and async run reads answer registry codes in plain words; run listing and sync runs still answer', async () => {
    await stopped(servers.redis, async () => {
      const intake = await post(`${node.url}/async/${name}/`);
      plainError('async intake', intake.status, intake.text, 'ASYNC_QUEUE_UNAVAILABLE');
      const usage = await node.api.call('GET', `/functions/${name}/usage?window=1h`);
      plainError('usage', usage.status, JSON.stringify(usage.body), 'METRICS_UNAVAILABLE');
      const run = await node.api.call('GET', `/runs/${asyncRun}`);
      plainError('async run', run.status, JSON.stringify(run.body), 'ASYNC_RUNS_UNAVAILABLE');
      const list = await node.api.call('GET', `/runs?function=${name}`);
      assert.equal(list.status, 200, JSON.stringify(list.body));
      assert.ok((list.body.items as unknown[]).length >= 2);
      const sync = await node.api.call('GET', `/runs/${syncRun}`);
      assert.equal(sync.status, 200, 'a sync run is read from MongoDB');
    });
    assert.ok(node.logs.some((l) => /lost the connection to Redis/.test(l)));
  });

  it('MongoDB stopped: run listing and reads answer STORE_UNAVAILABLE in plain words', async () => {
    await stopped(servers.ferret, async () => {
      const list = await node.api.call('GET', `/runs?function=${name}`);
      plainError('run listing', list.status, JSON.stringify(list.body), 'STORE_UNAVAILABLE');
      const sync = await node.api.call('GET', `/runs/${syncRun}`);
      plainError('sync run', sync.status, JSON.stringify(sync.body), 'STORE_UNAVAILABLE');
      const usage = await node.api.call('GET', `/functions/${name}/usage?window=7d`);
      plainError('usage 7d', usage.status, JSON.stringify(usage.body), 'STORE_UNAVAILABLE');
    });
  });
});

/** Runs `body` while the server is stopped, then starts it again. */
async function stopped(server: ServerProcess, body: () => Promise<void>): Promise<void> {
  await server.stop();
  try {
    await body();
  } finally {
    await server.start();
  }
}

// ops round 4: through a Redis out of memory /readyz said 200 "ready" with no problem while every
// async call was refused. It now says 200 "degraded" with the refusal as a problem (every process
// shares that Redis: a 503 from each would take sync calls out of every load balancer too).
describe('production platform on a Redis out of memory', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = {} as Servers;
  before(async () => {
    [servers.redis, servers.ferret] = await Promise.all([startRedis({ appendOnly: true, args: ['--maxmemory-policy', 'noeviction'] }), startFerret()]);
  });
  after(async () => {
    await Promise.all([servers.redis?.destroy(), servers.ferret?.destroy()]);
  });

  it('/readyz is 200 "degraded" naming the refusal; async calls 503; sync calls 200; ready again once it takes writes', async () => {
    const node = await startNode(clusterOptions(servers));
    after(() => node.close());
    const name = fnName();
    await deployed(node.api, name, handlerReturning('ok'));
    const redis = connectRedis(servers.redis.url);
    after(() => redis.disconnect());
    await redisReady(redis);
    await redis.call('CONFIG', 'SET', 'maxmemory', '1');
    let body = { status: '', problems: [] as { code: string; message: string; degraded?: boolean }[] };
    let status = 0;
    for (const deadline = Date.now() + 20_000; body.status !== 'degraded' && Date.now() < deadline; await sleep(100)) {
      const res = await fetch(`${node.url}/readyz`);
      status = res.status;
      body = (await res.json()) as typeof body;
    }
    assert.equal(status, 200);
    assert.equal(body.status, 'degraded', JSON.stringify(body));
    assert.equal(body.problems[0]?.code, 'ASYNC_QUEUE_UNAVAILABLE');
    assert.equal(body.problems[0]?.degraded, true);
    assert.match(body.problems[0]!.message, /out of memory .*raise its maxmemory/);
    assert.equal((await post(`${node.url}/async/${name}/`)).status, 503);
    assert.equal((await fetch(`${node.url}/fn/${name}/`)).status, 200);
    await redis.call('CONFIG', 'SET', 'maxmemory', '0');
    for (const deadline = Date.now() + 20_000; body.status !== 'ready' && Date.now() < deadline; await sleep(100)) {
      body = (await (await fetch(`${node.url}/readyz`)).json()) as typeof body;
    }
    assert.equal(body.status, 'ready');
  });
});
