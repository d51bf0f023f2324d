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
import Database from 'better-sqlite3';
import { AsyncRuns, openSqliteAsync, openSqliteAsyncRuns, RedisAsyncRuns, type AsyncRunIndex } from '../../controlplane/async/index.js';
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
      assert.deepEqual(await index.get(original), { runId: original, function: 'f', acceptedAt: 10, replayOf: null, trigger: 'async', bornAt: null, result: null });
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

    it("keeps a workspace's results within its budget: the oldest accepted dropped first, their status kept, other workspaces untouched", async (t) => {
      // Chaos round 5 (ADR 0250): each result was capped, their sum was not (10,000 runs of 256 KiB:
      // 3.1 GiB of Redis, 2.5 GiB of async.db).
      const { index, destroy } = await open();
      t.after(destroy);
      const ws = `b${randomBytes(3).toString('hex')}`;
      const now = Date.now();
      const body = Buffer.alloc(1000, 0x61);
      const size = 1000 + JSON.stringify([['content-type', 'text/plain']]).length;
      const budget = { workspace: ws, bytes: 3 * size };
      const other = randomUUID();
      await index.create({ runId: other, function: `g.${ws}x`, acceptedAt: now - 10, replayOf: null });
      await index.setResult(other, { status: 200, headers: [['content-type', 'text/plain']], body, attempt: 1 }, { workspace: `${ws}x`, bytes: size });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const runId = randomUUID();
        ids.push(runId);
        await index.create({ runId, function: `f.${ws}`, acceptedAt: now + i, replayOf: null });
      }
      // Stored out of acceptance order: the oldest accepted go first whenever their result was kept.
      for (const i of [1, 0, 2, 3, 4]) await index.setResult(ids[i]!, { status: 201, headers: [['content-type', 'text/plain']], body, attempt: 1 }, budget);
      for (const [i, runId] of ids.entries()) {
        const result = (await index.get(runId))?.result;
        assert.equal(result?.status, 201, `run ${i} keeps its status`);
        if (i < 2) {
          assert.equal(result?.body.length, 0, `run ${i}'s body dropped`);
          assert.deepEqual(result?.headers, [['x-fp-result-dropped', String(size)]]);
        } else {
          assert.ok(result?.body.equals(body), `run ${i} kept`);
        }
      }
      assert.ok((await index.get(other))?.result?.body.equals(body), "another workspace's result is not counted against this one");
      // A later attempt's result replaces the run's count, not adds to it.
      await index.setResult(ids[4]!, { status: 200, headers: [['content-type', 'text/plain']], body, attempt: 2 }, budget);
      assert.ok((await index.get(ids[2]!))?.result?.body.equals(body), 'a replaced result counts once');
      // A result alone over the budget is dropped at once.
      await index.setResult(ids[3]!, { status: 200, headers: [['content-type', 'text/plain']], body: Buffer.alloc(4 * size), attempt: 2 }, budget);
      assert.equal((await index.get(ids[3]!))?.result?.body.length, 0);
      assert.ok((await index.get(ids[4]!))?.result?.body.equals(body));
    });

    it('records what queued the run', async (t) => {
      const { index, destroy } = await open();
      t.after(destroy);
      const tick = randomUUID();
      await index.create({ runId: tick, function: 'f', acceptedAt: 1, replayOf: null, trigger: 'cron' });
      assert.equal((await index.get(tick))?.trigger, 'cron');
    });

    it('keeps the incarnation of the function a run was accepted for (ADR 0235)', async (t) => {
      const { index, destroy } = await open();
      t.after(destroy);
      const ws = `w${randomBytes(3).toString('hex')}`;
      const run = randomUUID();
      await index.create({ runId: run, function: `f.${ws}`, acceptedAt: Date.now(), replayOf: null, bornAt: 1_796_000_000_123 });
      assert.equal((await index.get(run))?.bornAt, 1_796_000_000_123);
      assert.deepEqual((await index.list({ workspace: ws, limit: 10 })).map((e) => e.bornAt), [1_796_000_000_123]);
    });

    it("lists a workspace's runs (or one function's) newest first, paged after an entry, never another workspace's", async (t) => {
      const { index, destroy } = await open();
      t.after(destroy);
      const ws = `w${randomBytes(3).toString('hex')}`;
      const now = Date.now();
      // Two at the same time: the run id orders them (descending).
      const ids = ['a', 'b', 'c', 'd'].map((c) => `${c}${randomUUID().slice(1)}`);
      await index.create({ runId: ids[0]!, function: `f.${ws}`, acceptedAt: now - 30, replayOf: null });
      await index.create({ runId: ids[1]!, function: `g.${ws}`, acceptedAt: now - 20, replayOf: null, trigger: 'webhook' });
      await index.create({ runId: ids[2]!, function: `f.${ws}`, acceptedAt: now - 10, replayOf: null });
      await index.create({ runId: ids[3]!, function: `f.${ws}`, acceptedAt: now - 10, replayOf: ids[0]! });
      await index.create({ runId: randomUUID(), function: `f.x${ws}`, acceptedAt: now - 5, replayOf: null });
      await index.create({ runId: randomUUID(), function: 'f', acceptedAt: now - 5, replayOf: null });
      const all = await index.list({ workspace: ws, limit: 10 });
      assert.deepEqual(all.map((e) => e.runId), [ids[3], ids[2], ids[1], ids[0]]);
      assert.deepEqual(all[0], { runId: ids[3], function: `f.${ws}`, acceptedAt: now - 10, replayOf: ids[0], trigger: 'async', bornAt: null });
      assert.equal(all[2]?.trigger, 'webhook');
      assert.deepEqual((await index.list({ workspace: ws, function: `f.${ws}`, limit: 10 })).map((e) => e.runId), [ids[3], ids[2], ids[0]]);
      // Paged: after the first entry (a tie on time), then after the second.
      assert.deepEqual((await index.list({ workspace: ws, limit: 1, after: { acceptedAt: now - 10, runId: ids[3]! } })).map((e) => e.runId), [ids[2]]);
      assert.deepEqual((await index.list({ workspace: ws, limit: 5, after: { acceptedAt: now - 10, runId: ids[2]! } })).map((e) => e.runId), [ids[1], ids[0]]);
      assert.deepEqual((await index.list({ workspace: ws, limit: 5, since: now - 20, until: now - 10 })).map((e) => e.runId), [ids[1]]);
      assert.ok((await index.list({ workspace: 'default', limit: 1000 })).every((e) => !e.function.includes('.')));
      await index.remove(ids[1]!);
      assert.deepEqual((await index.list({ workspace: ws, limit: 10 })).map((e) => e.runId), [ids[3], ids[2], ids[0]]);
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

describe('async run index: redis listing bounds', { skip: redisSkip }, () => {
  it('trims runs accepted before the retention, forgets a deleted function, and expires with the retention', async (t) => {
    server ??= startRedis();
    const client = connectRedis((await server).url);
    await redisReady(client);
    t.after(() => client.disconnect());
    const prefix = `i${randomBytes(4).toString('hex')}`;
    const index = new RedisAsyncRuns({ client, prefix, retentionMs: 60_000 });
    const now = Date.now();
    const old = randomUUID();
    await index.create({ runId: old, function: 'f.bw', acceptedAt: now - 120_000, replayOf: null });
    const fresh = randomUUID();
    await index.create({ runId: fresh, function: 'f.bw', acceptedAt: now, replayOf: null });
    await index.create({ runId: randomUUID(), function: 'g.bw', acceptedAt: now, replayOf: null });
    assert.deepEqual((await index.list({ workspace: 'bw', function: 'f.bw', limit: 10 })).map((e) => e.runId), [fresh]);
    assert.equal(await client.zcard(`${prefix}:v1:async-runs:ws:{bw}`), 2);
    const ttl = await client.pttl(`${prefix}:v1:async-runs:ws:{bw}`);
    assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
    await index.forgetFunction('f.bw');
    assert.equal(await client.exists(`${prefix}:v1:async-runs:fn:{f.bw}`), 0);
    assert.deepEqual((await index.list({ workspace: 'bw', limit: 10 })).map((e) => e.function), ['g.bw']);
    // The run's own record stays (GET /runs/{runId}) until it expires.
    assert.equal((await index.get(fresh))?.function, 'f.bw');
  });
});

describe('async runs listed by state (AsyncRuns.list on the embedded stores)', () => {
  it('keeps the asked states from the timeline; one call reads a bounded number of runs and says where to go on', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-async-list-'));
    const stores = await openSqliteAsync({ stateDir, leaseMs: 30_000 });
    t.after(async () => { await stores.close(); await rm(stateDir, { recursive: true, force: true }); });
    const runs = new AsyncRuns(stores.queue, stores.timeline, stores.runs);
    const at = 1_000_000;
    // The oldest is waiting to retry; 2,100 newer ones succeeded: past the 2,000 one call reads.
    const retried = randomUUID();
    await stores.runs.create({ runId: retried, function: 'f.lw', acceptedAt: at, replayOf: null });
    await stores.timeline.transition(retried, 'queued', at);
    await stores.timeline.transition(retried, 'running', at + 1);
    await stores.timeline.attempt(retried, { attempt: 1, startedAt: at + 1, durationMs: 5, cold: false, status: 'failed', errorCode: 'FUNCTION_ERROR', errorClass: 'user_error', error: null });
    await stores.timeline.transition(retried, 'retried', at + 7, 'retry in 1s');
    for (let i = 1; i <= 2100; i++) {
      const id = randomUUID();
      await stores.runs.create({ runId: id, function: 'f.lw', acceptedAt: at + i * 10, replayOf: null });
      await stores.timeline.transition(id, 'succeeded', at + i * 10 + 1);
    }
    const first = await runs.list({ workspace: 'lw', states: ['retried'], limit: 10 });
    assert.deepEqual(first.items, []);
    assert.notEqual(first.nextCursor, null, 'stopped after the bound, with a cursor');
    const second = await runs.list({ workspace: 'lw', states: ['retried'], limit: 10, cursor: first.nextCursor! });
    assert.deepEqual(second.items, [{ runId: retried, function: 'f.lw', acceptedAt: at, replayOf: null, trigger: 'async', bornAt: null, state: 'retried', updatedAt: at + 7, attempts: 1 }]);
    assert.equal(second.nextCursor, null);
    // Another workspace's listing, and a function of another workspace, read none of them.
    assert.deepEqual((await runs.list({ workspace: 'other', states: ['retried', 'succeeded'], limit: 10 })).items, []);
    assert.deepEqual((await runs.list({ workspace: 'lw', states: ['succeeded'], limit: 3 })).items.length, 3);
    await assert.rejects(runs.list({ workspace: 'lw', states: ['retried'], limit: 10, cursor: 'nope' }), { code: 'RUN_CURSOR_INVALID' });
  });
});

describe('a cancel whose process died between removing the job and writing `cancelled` (embedded stores)', () => {
  it('is finished by the next cancel, not refused as "queued" for ever; a run that ran is not cancelled', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-async-cancel-'));
    const stores = await openSqliteAsync({ stateDir, leaseMs: 30_000 });
    t.after(async () => { await stores.close(); await rm(stateDir, { recursive: true, force: true }); });
    const runs = new AsyncRuns(stores.queue, stores.timeline, stores.runs, stores.accept);
    const call = { method: 'POST', path: '/', rawQuery: '', headers: [] as [string, string][], body: new Uint8Array() };
    const { runId } = await runs.submit('f.cw', call, null);
    // The first cancel's queue step, then its process died: the job is gone, the timeline says queued.
    assert.equal(await stores.queue.cancel(runId), 'cancelled');
    assert.equal((await runs.view(runId))?.state, 'queued');
    const view = await runs.cancel(runId);
    assert.equal(view.state, 'cancelled');
    assert.deepEqual(view.transitions.map((x) => x.state), ['queued', 'cancelled']);
    await assert.rejects(runs.cancel(runId), { code: 'RUN_NOT_CANCELLABLE' });
    // A run whose job left because it finished keeps its final state (written before the ack).
    const done = (await runs.submit('f.cw', call, null)).runId;
    const [job] = await stores.queue.claim('c1', 1);
    assert.equal(job?.runId, done);
    await stores.timeline.transition(done, 'succeeded', Date.now());
    await stores.queue.ack({ runId: done, consumer: 'c1', token: job!.token });
    await assert.rejects(runs.cancel(done), { code: 'RUN_NOT_CANCELLABLE' });
    assert.equal((await runs.view(done))?.state, 'succeeded');
  });
});

describe('a cancel whose `cancelled` write fails (embedded stores: one transaction)', () => {
  it('leaves the run waiting with its job, so the next cancel (or a claim) still finds it; removed and written once it works', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-async-cancel-tx-'));
    const stores = await openSqliteAsync({ stateDir, leaseMs: 30_000 });
    t.after(async () => { await stores.close(); await rm(stateDir, { recursive: true, force: true }); });
    const runs = new AsyncRuns(stores.queue, stores.timeline, stores.runs, stores.accept, undefined, stores.cancel);
    const call = { method: 'POST', path: '/', rawQuery: '', headers: [] as [string, string][], body: new Uint8Array() };
    const { runId } = await runs.submit('f.tx', call, null);
    // The write of `cancelled` fails (as a full disk or a killed process would leave it), on the real file.
    const other = new Database(join(stateDir, 'async.db'));
    t.after(() => other.close());
    other.exec("CREATE TRIGGER no_cancel BEFORE INSERT ON transitions WHEN NEW.state = 'cancelled' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    await assert.rejects(runs.cancel(runId));
    // Before (reliability rounds 3-5) the job was removed first: the run stayed `queued` with no job.
    assert.notEqual(await stores.queue.peek(runId), null, 'the job is still queued');
    assert.equal((await runs.view(runId))?.state, 'queued');
    other.exec('DROP TRIGGER no_cancel');
    assert.equal((await runs.cancel(runId)).state, 'cancelled');
    assert.equal(await stores.queue.peek(runId), null);
    assert.deepEqual((await runs.view(runId))?.transitions.map((x) => x.state), ['queued', 'cancelled']);
  });
});
