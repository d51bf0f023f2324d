/**
 * Production mode: async runs accepted (202) and not yet run when Redis loses its data (FLUSHALL,
 * or a restart without its files) are queued again from their acceptance records in MongoDB, with
 * their ids, and end with their results (chaos round 10, ADR 0225: before, each answered
 * RUN_NOT_FOUND for ever). An idempotency key still names its run across the loss; an ordinary
 * restart of the platform queues nothing twice. Real redis-server and FerretDB.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { startPlatform, type StartedPlatform, type StartOptions } from '../../platform/start.js';
import { Api, createFunction, deploy, deployed, filesOf, fnName, py, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, useServers, type Servers } from './production-harness.js';

interface Accepted { status: number; runId: string; created: boolean }

async function fire(url: string, name: string, n: number, headers: Record<string, string> = {}): Promise<Accepted> {
  const res = await fetch(`${url}/async/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ n }) });
  const parsed = (await res.json()) as { runId: string; created?: boolean };
  assert.equal(res.status, 202, JSON.stringify(parsed));
  return { status: res.status, runId: parsed.runId, created: parsed.created ?? true };
}

async function flushRedis(servers: Servers): Promise<void> {
  const redis = connectRedis(servers.redis.url);
  try {
    await redisReady(redis);
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
}

/** Redis restarted without its files (a lost volume, a failover to an empty replica). */
async function restartRedisEmpty(servers: Servers): Promise<void> {
  await servers.redis.stop();
  for (const name of readdirSync(servers.redis.dir)) if (name.startsWith('appendonly') || name.endsWith('.rdb')) rmSync(join(servers.redis.dir, name), { recursive: true, force: true });
  await servers.redis.start();
}

interface RunBody { state: string; attempts: { status: string }[]; result: { body: { n: number } } | null; transitions: { state: string; detail?: string | null }[] }

/** Polls the run until it ended (an event to wait for; 60 s on a loaded machine: the runs queue behind each other). */
async function ended(api: Api, runId: string): Promise<RunBody> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    if (res.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(res.body.run.state)) return res.body.run as RunBody;
    if (Date.now() > deadline) throw new Error(`run ${runId}: ${res.status} ${JSON.stringify(res.body)}; the platform said: ${platformLog.slice(-20).join(' | ')}`);
    await sleep(200);
  }
}
/** The platform's log lines, for a failure's message. */
const platformLog: string[] = [];

/** Until the run is known again (queued again after the loss). */
async function known(api: Api, runId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    if (res.status === 200 && res.body.run.transitions.length > 0) return;
    if (Date.now() > deadline) throw new Error(`run ${runId}: ${res.status} ${JSON.stringify(res.body)}`);
    await sleep(200);
  }
}

/** Each run ended `succeeded`, ran once, and (all but those in flight at the loss) kept its result. */
async function allEnded(api: Api, runs: { runId: string; n: number }[], inFlight: number): Promise<void> {
  let withResult = 0;
  for (const { runId, n } of runs) {
    const run = await ended(api, runId);
    assert.equal(run.state, 'succeeded', JSON.stringify(run));
    assert.deepEqual(run.attempts.map((a) => a.status), ['succeeded'], `run ${runId} ran once: ${JSON.stringify(run.attempts)}`);
    if (run.result !== null) {
      assert.deepEqual(run.result.body, { n });
      withResult += 1;
    }
  }
  assert.ok(withResult >= runs.length - inFlight, `${withResult} of ${runs.length} runs kept their result`);
}

describe('async runs queued when Redis lost its data (production platform)', { skip: productionSkip }, () => {
  const servers = useServers();
  let options: StartOptions;
  let platform: StartedPlatform;
  let api: Api;
  const lines: string[] = [];
  const slow = fnName('slow');
  after(async () => {
    await platform?.close();
  });

  before(async () => {
    // One run at a time: the runs after the first stay queued through the loss.
    options = { ...clusterOptions(servers), port: 0, poolSize: 1, dispatchConcurrency: 1, log: (line: string) => { lines.push(line); platformLog.push(line); } };
    platform = await startPlatform(options);
    api = new Api(platform.url, platform.takeAdminToken() ?? null);
    await deployed(api, slow, { 'main.py': py('import json, time', 'def handler(event, context):', '    time.sleep(0.5)', '    return {"n": json.loads(event["body"])["n"]}') });
  });

  it('queues again, with their ids, the runs a FLUSHALL lost; each ends with its result, run once', async () => {
    const runs: { runId: string; n: number }[] = [];
    for (let n = 1; n <= 6; n += 1) runs.push({ runId: (await fire(platform.url, slow, n)).runId, n });
    await flushRedis(servers);
    await allEnded(api, runs, 1);
    const last = (await api.call('GET', `/runs/${runs.at(-1)!.runId}`)).body.run as RunBody;
    assert.equal(last.transitions[0]?.state, 'queued');
    assert.match(last.transitions[0]?.detail ?? '', /queued again: Redis lost its data/);
    assert.ok(lines.some((line) => /queued again \d+ async run\(s\)/.test(line)), lines.join('\n'));
  });

  it('queues them again after a Redis restarted without its files', async () => {
    const runs: { runId: string; n: number }[] = [];
    for (let n = 11; n <= 14; n += 1) runs.push({ runId: (await fire(platform.url, slow, n)).runId, n });
    await restartRedisEmpty(servers);
    await allEnded(api, runs, 1);
  });

  it('keeps an idempotency key naming its run across the loss', async () => {
    const ahead = await fire(platform.url, slow, 21);
    const keyed = await fire(platform.url, slow, 22, { 'idempotency-key': 'order-7' });
    await flushRedis(servers);
    await known(api, keyed.runId);
    const again = await fire(platform.url, slow, 22, { 'idempotency-key': 'order-7' });
    assert.equal(again.runId, keyed.runId);
    assert.equal(again.created, false);
    await allEnded(api, [{ runId: ahead.runId, n: 21 }, { runId: keyed.runId, n: 22 }], 1);
  });

  it('queues a webhook delivery again (cron ticks and replays take the same accept)', async () => {
    const hook = fnName('hook');
    await createFunction(api, hook);
    const up = await api.call('POST', `/functions/${hook}/versions`, {
      files: filesOf({ 'main.py': py('import json', 'def handler(event, context):', '    return {"n": json.loads(event["body"])["n"]}') }),
      manifest: { kind: 'function', name: hook, triggers: [{ type: 'webhook', id: 'push' }] },
    });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(api, hook);
    const rotated = await api.call('POST', `/functions/${hook}/triggers/push/secret/rotate`, { grace: '0s' });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const ahead = await fire(platform.url, slow, 41);
    const body = '{"n": 42}';
    const signature = createHmac('sha256', rotated.body.secret as string).update(body).digest('hex');
    const delivered = await fetch(`${platform.url}/hooks/${hook}/push`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` } });
    assert.equal(delivered.status, 202);
    const runId = ((await delivered.json()) as { runId: string }).runId;
    await flushRedis(servers);
    await allEnded(api, [{ runId: ahead.runId, n: 41 }, { runId, n: 42 }], 1);
    assert.equal((await api.call('GET', `/runs/${runId}`)).body.run.trigger, 'webhook');
  });

  it('queues nothing twice on an ordinary restart of the platform (Redis kept its data)', async () => {
    const runs: { runId: string; n: number }[] = [];
    for (let n = 31; n <= 34; n += 1) runs.push({ runId: (await fire(platform.url, slow, n)).runId, n });
    await platform.close();
    lines.length = 0;
    platform = await startPlatform(options);
    await allEnded(api = new Api(platform.url, api.token), runs, 0);
    await sleep(6_000); // past the start's pass (its grace: 5 s)
    assert.ok(!lines.some((line) => /queued again/.test(line)), lines.join('\n'));
    for (const { runId } of runs) assert.equal((await ended(api, runId)).attempts.length, 1);
    // Every run ended: none of their acceptance records is left (each is removed at its run's end).
    const client = new MongoClient(servers.ferret.url);
    try {
      const records = client.db(options.mongoDatabase).collection<{ _id: string }>('async_accepted');
      const ours = { _id: { $in: runs.map((r) => r.runId) } };
      for (let i = 0; await records.countDocuments(ours) > 0; i++) {
        assert.ok(i < 50, JSON.stringify(await records.find(ours, { projection: { payload: 0 } }).toArray()));
        await sleep(100);
      }
    } finally {
      await client.close();
    }
  });
});
