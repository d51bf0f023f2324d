/**
 * The async run index (function, acceptance time, replay link, latest output) on both adapters:
 * SQLite in a temp state directory and Redis on a real redis-server.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteAsyncRuns, RedisAsyncRuns, type AsyncRunIndex } from '../../controlplane/async/index.js';
import { connectRedis, redisReady } from '../../controlplane/store/production/redis-client.js';
import { serverSkip, startRedis, type ServerProcess } from '../helpers/servers.js';

function indexConformance(name: string, open: () => Promise<{ index: AsyncRunIndex; destroy: () => Promise<void> }>, skip: string | false = false): void {
  describe(`async run index: ${name}`, { skip }, () => {
    it('keeps a run, its latest result byte-exact, and the runs replaying it', async (t) => {
      const { index, destroy } = await open();
      t.after(destroy);
      const original = randomUUID();
      const replay = randomUUID();
      assert.equal(await index.get(original), null);
      await index.create({ runId: original, function: 'f', acceptedAt: 10, replayOf: null });
      await index.create({ runId: replay, function: 'f', acceptedAt: 20, replayOf: original });
      assert.deepEqual(await index.get(original), { runId: original, function: 'f', acceptedAt: 10, replayOf: null, trigger: 'async', result: null });
      const body = Buffer.from([0, 255, 1, 2]);
      await index.setResult(original, { status: 500, headers: [['x', '1']], body: Buffer.from('first'), attempt: 1 });
      await index.setResult(original, { status: 200, headers: [['content-type', 'application/octet-stream']], body, attempt: 2 });
      const got = await index.get(original);
      assert.equal(got?.result?.status, 200);
      assert.equal(got?.result?.attempt, 2);
      assert.deepEqual(got?.result?.headers, [['content-type', 'application/octet-stream']]);
      assert.ok(got?.result?.body.equals(body));
      assert.equal((await index.get(replay))?.replayOf, original);
      assert.deepEqual(await index.replays(original), [replay]);
      await index.remove(replay);
      assert.equal(await index.get(replay), null);
    });

    it('records what queued the run', async (t) => {
      const { index, destroy } = await open();
      t.after(destroy);
      const tick = randomUUID();
      await index.create({ runId: tick, function: 'f', acceptedAt: 1, replayOf: null, trigger: 'cron' });
      assert.equal((await index.get(tick))?.trigger, 'cron');
    });
  });
}

indexConformance('sqlite', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'fp-async-index-'));
  const index = await openSqliteAsyncRuns({ stateDir });
  return { index, destroy: async () => { await index.close(); await rm(stateDir, { recursive: true, force: true }); } };
});

const redisSkip = serverSkip('redis-server');
let server: Promise<ServerProcess> | null = null;
after(async () => { if (server !== null) await (await server).destroy(); });
indexConformance('redis', async () => {
  server ??= startRedis();
  const client = connectRedis((await server).url);
  await redisReady(client);
  const index = new RedisAsyncRuns({ client, prefix: `i${randomBytes(4).toString('hex')}` });
  return { index, destroy: async () => { await index.close(); client.disconnect(); } };
}, redisSkip);
