/**
 * Async invocation in production mode (Redis Streams queue, MongoDB store via FerretDB): an async
 * call runs to `succeeded`, a second process over the same Redis sees the run's timeline and output,
 * runs still queued in Redis when the platform stops run after it starts again (none lost), and
 * async calls run while MongoDB is down.
 * Real redis-server (append-only) and FerretDB processes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform, type StartOptions } from '../../platform/start.js';
import { startGate } from './logs-harness.js';
import { Api, deployed, fnName, py, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers } from './production-harness.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** The queue's lease: an attempt whose final state Redis did not take (it died) runs again after it, not after 30 s. */
const LEASE_MS = 4000;

async function fire(url: string, name: string, body: string): Promise<string> {
  const res = await fetch(`${url}/async/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const parsed = (await res.json()) as { runId?: string };
  assert.equal(res.status, 202, JSON.stringify(parsed));
  return parsed.runId!;
}

async function finalState(api: Api, runId: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const state = res.body.run.state as string;
    if (FINAL.has(state)) return state;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${state}`);
    await sleep(100);
  }
}

/** Polls until the run has left `queued` (the dispatcher claimed it): an event to wait for, not a delay. */
async function claimed(api: Api, runId: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (res.body.run.state !== 'queued') return;
    if (Date.now() > deadline) throw new Error(`run ${runId} still queued`);
    await sleep(20);
  }
}

/** Polls /readyz until `until` holds for its body (an event to wait for; 10 s for a loaded machine). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- /readyz is read as JSON
async function readyWhen(url: string, until: (body: any) => boolean): Promise<{ status: number; body: any }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${url}/readyz`);
    const body = await res.json();
    if (until(body)) return { status: res.status, body };
    if (Date.now() > deadline) throw new Error(`/readyz still ${res.status} ${JSON.stringify(body)}`);
    await sleep(50);
  }
}

describe('async invocation (production platform)', { skip: productionSkip }, () => {
  let stateDir: string;
  let options: StartOptions;
  let platform: StartedPlatform;
  let api: Api;
  // Before useServers(): node:test runs `after` hooks in the order they were registered, and the
  // platform must close while Redis and FerretDB still run (else it drains its records 5 s to nothing).
  after(async () => {
    await platform?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });
  const servers = useServers();
  const echo = fnName('echo');
  const slow = fnName('slow');
  const start = async (): Promise<void> => {
    platform = await startPlatform({ ...options, stateDir, port: 0, poolSize: 2, shutdownGraceMs: 5000, dispatchConcurrency: 1, dispatchLeaseMs: LEASE_MS, log: () => {} });
    api = new Api(platform.url, api?.token ?? platform.takeAdminToken() ?? null);
  };

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fp-async-prod-'));
    options = clusterOptions(servers);
    await start();
    await deployed(api, echo, { 'main.py': py('def handler(event, context):', '    return {"body": event["body"].decode(), "attempt": context.attempt}') });
    await deployed(api, slow, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(1.5)', '    return "slept"') });
  });

  it('queues on Redis and runs the call to succeeded with its output', async () => {
    const runId = await fire(platform.url, echo, '{"prod":1}');
    assert.equal(await finalState(api, runId), 'succeeded');
    const run = (await api.call('GET', `/runs/${runId}`)).body.run;
    assert.deepEqual(run.result.body, { body: '{"prod":1}', attempt: 1 });
  });

  it('shows a run accepted by one process, with its timeline and output, on another process', async () => {
    const other = await startNode({ ...options, dispatchConcurrency: 1 }, api.token);
    try {
      const runId = await fire(other.url, echo, '{"from":"other"}');
      assert.equal(await finalState(api, runId), 'succeeded');
      const run = (await api.call('GET', `/runs/${runId}`)).body.run;
      assert.equal(run.function, echo);
      assert.deepEqual(run.transitions.map((t: { state: string }) => t.state), ['queued', 'running', 'succeeded']);
      assert.deepEqual(run.result.body, { body: '{"from":"other"}', attempt: 1 });
    } finally {
      await other.close();
    }
  });

  it('lists async runs by state from Redis, on every process, for their workspace only; a deleted function leaves the listing', async (t) => {
    const hold = fnName('hold');
    const gone = fnName('gone');
    // Held until the test has listed what it queued behind it (the one dispatch slot): a sleep of 8 s
    // ran out under load (CI) before the last listing, and the queued run was claimed meanwhile.
    const gate = await startGate();
    t.after(async () => {
      gate.release('hold');
      await gate.close();
    });
    await deployed(api, hold, { 'main.py': py('import urllib.request', 'def handler(event, context):', `    urllib.request.urlopen(${JSON.stringify(`${gate.url}/wait/hold`)}, timeout=120).read()`, '    return "held"') });
    await deployed(api, gone, { 'main.py': py('def handler(event, context):', '    return 1') });
    const busy = await fire(platform.url, hold, '{}');
    await claimed(api, busy);
    const ids = (res: { body: { items: { runId: string }[] } }): string[] => res.body.items.map((r) => r.runId);
    // Another process reads the same index (Redis), not its own (closed before anything else is
    // queued: its dispatcher would claim it).
    const other = await startNode({ ...options, dispatchConcurrency: 1 }, api.token);
    try {
      assert.deepEqual(ids(await new Api(other.url, api.token).call('GET', `/runs?status=running&function=${hold}`)), [busy]);
    } finally {
      await other.close();
    }
    const waiting = [await fire(platform.url, echo, '{"w":1}')];
    await sleep(5);
    waiting.unshift(await fire(platform.url, gone, '{"w":2}'));
    assert.deepEqual(ids(await api.call('GET', `/runs?status=running&function=${hold}`)), [busy]);
    assert.deepEqual(ids(await api.call('GET', '/runs?status=queued')), waiting);
    const paged = await api.call('GET', '/runs?status=queued&limit=1');
    assert.deepEqual(ids(paged), [waiting[0]]);
    assert.deepEqual(ids(await api.call('GET', `/runs?status=queued&limit=1&cursor=${encodeURIComponent(paged.body.nextCursor)}`)), [waiting[1]]);
    assert.equal((await api.call('POST', '/workspaces', { name: 'otherlistp' })).status, 201);
    const token = await api.call('POST', '/tokens', { role: 'owner', label: 'neighbour' }, { 'fp-workspace': 'otherlistp' });
    const neighbour = new Api(platform.url, token.body.secret as string);
    for (const query of ['status=queued', 'status=running', `status=queued&function=${echo}`, `status=running&function=${hold}`]) {
      const seen = await neighbour.call('GET', `/runs?${query}`);
      assert.equal(seen.status, 200, JSON.stringify(seen.body));
      assert.deepEqual(seen.body.items, [], query);
    }
    assert.equal((await api.call('DELETE', `/functions/${gone}`)).status, 204);
    assert.deepEqual(ids(await api.call('GET', '/runs?status=queued')), [waiting[1]]);
    gate.release('hold');
    assert.equal(await finalState(api, waiting[1]!, 30_000), 'succeeded');
  });

  it('runs async calls while MongoDB is down, as sync calls do (the retry policy is read from memory)', async () => {
    // Before, each claim read the function's retry policy from MongoDB: with it down, every queued
    // job was leased, dropped for a full lease (30 s) and logged, and nothing ran until it was back.
    await servers.ferret.stop('SIGKILL');
    try {
      const runId = await fire(platform.url, echo, '{"mongo":"down"}');
      assert.equal(await finalState(api, runId, 10_000), 'succeeded');
      const run = (await api.call('GET', `/runs/${runId}`)).body.run;
      assert.deepEqual(run.result.body, { body: '{"mongo":"down"}', attempt: 1 });
    } finally {
      await servers.ferret.start();
    }
  });

  // Chaos round 1: through a Redis outage /readyz said 200 "ready" with no problem while every
  // async call was refused, and the refusal said nothing of when to come back (no Retry-After).
  it('Redis killed: /readyz degraded and async refusals with Retry-After; back: ready, and every run accepted before it succeeds', async () => {
    const ids = [await fire(platform.url, slow, '{}')];
    for (let i = 0; i < 3; i++) ids.push(await fire(platform.url, echo, `{"before":${i}}`));
    await claimed(api, ids[0]!); // one attempt is running when Redis dies
    await servers.redis.stop('SIGKILL');
    try {
      const ready = await readyWhen(platform.url, (body) => body.status !== 'ready');
      assert.equal(ready.status, 200, 'sync calls are still served: the process stays in rotation');
      assert.equal(ready.body.status, 'degraded', JSON.stringify(ready.body));
      assert.deepEqual(ready.body.problems.map((p: { code: string; degraded: boolean }) => [p.code, p.degraded]), [['ASYNC_QUEUE_UNAVAILABLE', true]]);
      assert.match(ready.body.problems[0].message, /Redis redis:\/\/127\.0\.0\.1:\d+ cannot be reached/);
      const refused = await fetch(`${platform.url}/async/${echo}/`, { method: 'POST', body: '{"during":1}' });
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ASYNC_QUEUE_UNAVAILABLE');
      assert.equal(refused.headers.get('retry-after'), '1', 'nothing was queued: the client retries');
    } finally {
      await servers.redis.start();
    }
    const back = await readyWhen(platform.url, (body) => body.status === 'ready');
    assert.deepEqual(back.body.problems, []);
    ids.push(await fire(platform.url, echo, '{"after":1}'));
    for (const id of ids) assert.equal(await finalState(api, id, 30_000), 'succeeded', id);
  });

  it('runs the runs still queued in Redis at shutdown after a restart (none lost)', async () => {
    const ids = [await fire(platform.url, slow, '{}')];
    for (let i = 0; i < 3; i++) ids.push(await fire(platform.url, echo, `{"i":${i}}`));
    await claimed(api, ids[0]!); // the slow run is running at shutdown
    await platform.close();
    await start();
    for (const id of ids) assert.equal(await finalState(api, id), 'succeeded', id);
  });
});
