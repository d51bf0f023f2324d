/**
 * Production mode, Redis loses its data (restarted without its files, FLUSHALL) after async runs
 * finished: each run id still answers as an async run whose `state` is final, from its attempts'
 * records in MongoDB (chaos round 3: the record alone came back, with no `state`, and a client
 * polling for one waited for ever). Real redis-server and FerretDB.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { Api, deployed, fnName, py, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, useServers } from './production-harness.js';

async function fire(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/async/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const parsed = (await res.json()) as { runId?: string };
  assert.equal(res.status, 202, JSON.stringify(parsed));
  return parsed.runId!;
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
    const redis = connectRedis(servers.redis.url);
    try {
      await redisReady(redis);
      await redis.flushall();
    } finally {
      redis.disconnect();
    }
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
});
