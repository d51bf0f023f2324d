/**
 * Production mode, Redis loses its data (restarted without its files, FLUSHALL) after async runs
 * finished: each run id still answers as an async run whose `state` is final, from its attempts'
 * records in MongoDB (chaos round 3: the record alone came back, with no `state`, and a client
 * polling for one waited for ever); so does one whose attempt was running then (chaos round 9).
 * Real redis-server and FerretDB.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { Api, createFunction, deploy, deployed, filesOf, fnName, py, runsWritten, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, useServers } from './production-harness.js';

async function fire(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/async/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const parsed = (await res.json()) as { runId?: string };
  assert.equal(res.status, 202, JSON.stringify(parsed));
  return parsed.runId!;
}

/** Redis loses its data. */
async function flushRedis(url: string): Promise<void> {
  const redis = connectRedis(url);
  try {
    await redisReady(redis);
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
}

/** Polls the run until its `state` is `want` (an event to wait for; 15 s for a loaded machine). */
async function reaches(api: Api, runId: string, want: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    if (res.status === 200 && res.body.run.state === want) return;
    if (Date.now() > deadline) throw new Error(`run ${runId}: ${res.status} ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

describe('async runs after Redis lost its data (production platform)', { skip: productionSkip }, () => {
  let stateDir: string;
  let platform: StartedPlatform;
  after(async () => {
    await platform?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });
  const servers = useServers();
  let api: Api;
  const ok = fnName('ok');
  const bad = fnName('bad');

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fp-redis-loss-'));
    platform = await startPlatform({ ...clusterOptions(servers), stateDir, port: 0, poolSize: 2, log: () => {} });
    api = new Api(platform.url, platform.takeAdminToken() ?? null);
    await deployed(api, ok, { 'main.py': py('def handler(event, context):', '    return {"ok": context.attempt}') });
    await deployed(api, bad, { 'main.py': py('def handler(event, context):', '    raise RuntimeError("no")') }, { retry: { maxAttempts: 1 } });
  });

  it('answers each finished run with its final state from its attempts, not a record without one', async () => {
    const done = await fire(platform.url, ok);
    const failed = await fire(platform.url, bad);
    await reaches(api, done, 'succeeded');
    await reaches(api, failed, 'failed');
    await flushRedis(servers.redis.url);
    for (const [runId, state, fn] of [[done, 'succeeded', ok], [failed, 'failed', bad]] as const) {
      const res = await api.call('GET', `/runs/${runId}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const run = res.body.run;
      assert.equal(run.state, state, JSON.stringify(run));
      assert.equal(run.function, fn);
      assert.equal(run.trigger, 'async');
      assert.deepEqual(run.attempts.map((a: { attempt: number; status: string }) => [a.attempt, a.status]), [[1, state]]);
      assert.deepEqual(run.transitions, []);
      assert.equal(run.result, null);
      assert.equal(run.attempts[0].errorCode, state === 'failed' ? 'FUNCTION_ERROR' : null);
    }
  });

  it('answers a queued webhook run the same way; a sync webhook call stays a call', async () => {
    // Chaos round 4: a queued webhook run answered its bare record (no `state`: a poller waited for
    // ever), as a record did not tell it from a `sync: true` one's; records now carry `queued`.
    const hook = fnName('hook');
    await createFunction(api, hook);
    const triggers = [{ type: 'webhook', id: 'push' }, { type: 'webhook', id: 'now', sync: true }];
    const up = await api.call('POST', `/functions/${hook}/versions`, {
      files: filesOf({ 'main.py': py('def handler(event, context):', '    return {"ok": True}') }), manifest: { kind: 'function', name: hook, triggers },
    });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(api, hook);
    const signed = async (id: string): Promise<Response> => {
      const rotated = await api.call('POST', `/functions/${hook}/triggers/${id}/secret/rotate`, { grace: '0s' });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const body = '{"n": 1}';
      const signature = createHmac('sha256', rotated.body.secret as string).update(body).digest('hex');
      return fetch(`${platform.url}/hooks/${hook}/${id}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` } });
    };
    const queuedAnswer = await signed('push');
    assert.equal(queuedAnswer.status, 202);
    const queued = ((await queuedAnswer.json()) as { runId: string }).runId;
    const syncAnswer = await signed('now');
    assert.equal(syncAnswer.status, 200);
    const sync = syncAnswer.headers.get('x-run-id')!;
    await reaches(api, queued, 'succeeded');
    await runsWritten(platform.url);
    await flushRedis(servers.redis.url);
    const lost = await api.call('GET', `/runs/${queued}`);
    assert.equal(lost.status, 200, JSON.stringify(lost.body));
    assert.equal(lost.body.run.trigger, 'webhook');
    assert.equal(lost.body.run.state, 'succeeded', JSON.stringify(lost.body.run));
    assert.deepEqual(lost.body.run.transitions, []);
    const replay = await api.call('POST', `/runs/${queued}/replay`, {});
    assert.equal(replay.status, 409, JSON.stringify(replay.body));
    assert.equal(replay.body.error.code, 'RUN_NOT_REPLAYABLE');
    const call = await api.call('GET', `/runs/${sync}`);
    assert.equal(call.status, 200, JSON.stringify(call.body));
    assert.equal(call.body.run.trigger, 'webhook');
    assert.equal(call.body.run.status, 'succeeded');
    assert.equal(call.body.run.state, undefined, 'a sync call has no async state');
    assert.equal(call.body.run.queued, undefined);
  });

  it('answers a run in flight when Redis lost its data with its attempt\'s final state, not `running` for ever', async () => {
    // Chaos round 9: the attempt ends after the loss and writes its attempt and result, which made
    // a timeline of that alone (no acceptance, no function): `running` for ever to the admin,
    // RUN_NOT_FOUND to its owner, though its attempt's record was kept.
    const slow = fnName('slow');
    await deployed(api, slow, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(2)', '    return {"ok": True}') });
    const runId = await fire(platform.url, slow);
    await reaches(api, runId, 'running');
    await flushRedis(servers.redis.url);
    await reaches(api, runId, 'succeeded');
    const run = (await api.call('GET', `/runs/${runId}`)).body.run;
    assert.equal(run.function, slow);
    assert.deepEqual(run.attempts.map((a: { status: string }) => a.status), ['succeeded']);
    // The operator is told with a stable code on /readyz, degraded (200): before, "ready", no problem.
    let ready: { status: string; problems: { code: string }[] } = { status: '', problems: [] };
    for (const deadline = Date.now() + 10_000; !ready.problems.some((p) => p.code === 'REDIS_DATA_LOST') && Date.now() < deadline; await sleep(100)) {
      const res = await fetch(`${platform.url}/readyz`);
      assert.equal(res.status, 200);
      ready = (await res.json()) as typeof ready;
    }
    assert.equal(ready.status, 'degraded', JSON.stringify(ready));
    assert.deepEqual(ready.problems.map((p) => p.code), ['REDIS_DATA_LOST']);
  });
});
