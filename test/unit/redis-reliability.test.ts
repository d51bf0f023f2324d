/**
 * The parts of the Redis reliability work that need no server: the persistence verdict, samples
 * folded per function-minute (so an outage at a high call rate loses none), the claim loop that
 * reports a down queue once, and the client options decided in one place.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher, type ClaimedJob, type Queue } from '../../controlplane/async/index.js';
import { MemoryHotMetrics, RecordingRunSink, SampleRecorder, type RunStore } from '../../controlplane/store/index.js';
import { SampleBatch, type RunSample } from '../../controlplane/store/metrics/index.js';
import { connectRedis, reconnectDelayMs, redisAddress, REDIS_CLIENT_OPTIONS } from '../../controlplane/store/production/redis-client.js';
import { clientAddress, redisFailure } from '../../controlplane/store/production/redis-words.js';
import { judgeEviction, judgePersistence } from '../../controlplane/store/production/redis-persistence.js';

const NOW = 1_900_000_000_000;
const sample = (fn: string, i: number, over: Partial<RunSample> = {}): RunSample => ({
  function: fn, runId: `r${i}`, startedAt: NOW + i, durationMs: 1 + (i % 7), status: i % 10 === 0 ? 'failed' : 'succeeded', cold: i % 50 === 0, ...over,
});

describe('Redis persistence verdict', () => {
  const config = (appendonly: string, save: string) => ({ appendonly, appendfsync: 'always', save });

  it('counts AOF, snapshots or both as persistent, neither as not', () => {
    assert.deepEqual([judgePersistence(config('yes', ''), '').mode, judgePersistence(config('yes', ''), '').persistent], ['aof', true]);
    assert.deepEqual([judgePersistence(config('no', '3600 1 300 100'), '').mode, judgePersistence(config('no', '3600 1'), '').persistent], ['rdb', true]);
    assert.equal(judgePersistence(config('yes', '60 1000'), '').mode, 'aof+rdb');
    const none = judgePersistence(config('no', ''), '');
    assert.deepEqual([none.mode, none.persistent], ['none', false]);
    assert.match(none.detail, /appendonly=no save=""/);
  });

  it('without CONFIG, trusts INFO persistence only for AOF; anything else is unknown, so volatile', () => {
    const aof = judgePersistence(null, '# Persistence\r\nloading:0\r\naof_enabled:1\r\n');
    assert.deepEqual([aof.mode, aof.persistent], ['aof', true]);
    const unknown = judgePersistence(null, '# Persistence\r\naof_enabled:0\r\nrdb_last_save_time:1\r\n');
    assert.deepEqual([unknown.mode, unknown.persistent], ['unknown', false]);
    assert.equal(judgePersistence(null, '').mode, 'unknown');
  });

  it('an evicting policy counts only with a maxmemory (round 10, ADR 0151)', () => {
    const e = (maxmemory: string, policy: string) => judgeEviction({ maxmemory, policy, source: 'CONFIG GET' });
    assert.equal(e('0', 'allkeys-lru'), null, 'no maxmemory: nothing is evicted');
    assert.equal(e('1048576', 'noeviction'), null);
    assert.equal(judgeEviction(null), null);
    for (const policy of ['allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl']) {
      assert.equal(e('1048576', policy), `maxmemory=1048576 maxmemory-policy=${policy} (CONFIG GET)`);
    }
    assert.equal(judgePersistence({ appendonly: 'yes', appendfsync: 'always', save: '' }, '', { maxmemory: '1', policy: 'allkeys-lru', source: 'CONFIG GET' }).persistent, true, 'persistence is judged apart');
  });
});

describe('Redis client options', () => {
  it('fail fast, never resend behind the caller, and reconnect within a second', () => {
    assert.equal(REDIS_CLIENT_OPTIONS.enableOfflineQueue, false);
    assert.equal(REDIS_CLIENT_OPTIONS.maxRetriesPerRequest, 0);
    assert.equal(REDIS_CLIENT_OPTIONS.autoResendUnfulfilledCommands, false);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map(reconnectDelayMs), [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.ok(Object.isFrozen(REDIS_CLIENT_OPTIONS));
  });

  it('never puts credentials in a log line', () => {
    assert.equal(redisAddress('redis://:s3cret@cache.internal:6380/2'), 'redis://cache.internal:6380/2');
    assert.equal(redisAddress('rediss://user:pw@h:6379'), 'rediss://h:6379');
  });

  it('names a client on a Unix socket as the banner does, unix:<path> (new-user round 5: it read redis:////path)', () => {
    type Client = Parameters<typeof clientAddress>[0];
    assert.equal(clientAddress({ options: { path: '/run/fp/redis.sock', db: 0 } } as unknown as Client), 'unix:/run/fp/redis.sock');
    assert.equal(clientAddress({ options: { path: '/run/fp/redis.sock', db: 2 } } as unknown as Client), 'unix:/run/fp/redis.sock (db 2)');
    assert.equal(clientAddress({ options: { path: '///run/fp/redis.sock' } } as unknown as Client), 'unix:/run/fp/redis.sock', 'as the client holds a unix:/// URL\'s path');
    assert.equal(clientAddress({ options: { host: 'cache.internal', port: 6380, db: 2 } } as unknown as Client), 'redis://cache.internal:6380/2');
  });
});

describe('SampleBatch', () => {
  it('folds samples per function-minute and gives the same numbers as the samples one by one', async () => {
    const samples = Array.from({ length: 500 }, (_, i) => sample(i % 2 ? 'fn-a' : 'fn-b', i * 700));
    const batch = SampleBatch.of(samples);
    assert.equal(batch.length, 500);
    assert.ok(batch.size <= 2 * 7, `one entry per function-minute, got ${batch.size}`);
    const [folded, plain] = [new MemoryHotMetrics({ now: () => NOW + 400_000 }), new MemoryHotMetrics({ now: () => NOW + 400_000 })];
    await folded.record(batch);
    await plain.record(samples);
    for (const fn of ['fn-a', 'fn-b']) assert.deepEqual(await folded.usage(fn, '15m'), await plain.usage(fn, '15m'));
  });

  it('takes the oldest entries first and keeps the counts right on both sides', () => {
    const batch = SampleBatch.of(Array.from({ length: 300 }, (_, i) => sample('f', i * 60_000)));
    const first = batch.take(100);
    assert.deepEqual([first.size, first.length, batch.size, batch.length], [100, 100, 200, 200]);
    assert.equal(first.minutes().next().value?.minute, Math.floor(NOW / 60_000));
  });

  it('folds a sample of the function-minute just taken into a new entry, not into the batch that left', () => {
    const batch = new SampleBatch();
    batch.add(sample('f', 0));
    batch.add(sample('f', 1)); // the same function-minute as the last sample
    const gone = batch.take(1);
    batch.add(sample('f', 2));
    batch.add(sample('g', 3));
    batch.add(sample('f', 4)); // back to an entry that is not the last one
    assert.deepEqual([gone.length, gone.size, gone.minutes().next().value?.tally.count], [2, 1, 2]);
    assert.deepEqual([batch.length, batch.size], [3, 2]);
    assert.deepEqual([...batch.totals()].map(([fn, t]) => [fn, t.invocations]), [['f', 2], ['g', 1]]);
  });
});

describe('SampleRecorder', () => {
  it('loses nothing while the backend is down, at any call rate: the backlog is function-minutes', async () => {
    let up = false;
    const metrics = new MemoryHotMetrics({ now: () => NOW + 60_000 });
    const writes: string[] = [];
    const rec = new SampleRecorder({
      capacity: 50, retryBaseMs: 2, retryMaxMs: 5,
      write: async (batch, id) => {
        writes.push(id);
        if (!up) throw new Error('redis down');
        await metrics.record(batch, { batchId: id });
      },
    });
    // 100 000 samples of 3 functions within one minute: far past any per-record bound.
    for (let i = 0; i < 100_000; i++) rec.record(sample(`f${i % 3}`, i % 50_000));
    // Wait for a retry (an event, not a guessed delay: a loaded machine may take long to get there).
    for (let waited = 0; writes.length < 2 && waited < 15_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    assert.ok(writes.length > 1, 'writes were tried and failed');
    up = true;
    assert.equal(await rec.flush(2000), true);
    assert.equal(rec.dropped, 0);
    let total = 0;
    for (const fn of ['f0', 'f1', 'f2']) total += (await metrics.usage(fn, '1h')).totals.invocations;
    assert.equal(total, 100_000);
    await rec.close();
  });

  it('past its bound drops (and counts) samples of new function-minutes only', async () => {
    const rec = new SampleRecorder({ capacity: 2, batchSize: 1, retryBaseMs: 1000, write: () => new Promise(() => {}) });
    for (let k = 0; k < 10; k++) rec.record(sample('f', k));
    await new Promise((r) => setImmediate(r)); // the first minute goes out (and hangs)
    for (let m = 1; m < 5; m++) for (let k = 0; k < 10; k++) rec.record(sample('f', m * 60_000 + k));
    // One minute is held by the hanging write, two wait, two had no room.
    assert.deepEqual([rec.stats().inFlight, rec.stats().pending, rec.stats().droppedByReason.overflow], [10, 20, 20]);
    rec.record(sample('f', 60_000 + 99));
    assert.equal(rec.stats().pending, 21, 'a waiting minute still takes samples');
  });

  it('is what RecordingRunSink uses for metrics and usage rollups', () => {
    const sink = new RecordingRunSink({ runs: { record: async () => {} } as unknown as RunStore, metrics: new MemoryHotMetrics() });
    assert.ok(sink.metrics instanceof SampleRecorder);
  });
});

describe('dispatcher claim loop', () => {
  it('reports a queue that is down once, not on every poll, and says when claims work again', async () => {
    let down = true;
    let claims = 0;
    const queue = {
      claim: async (): Promise<ClaimedJob[]> => {
        claims++;
        if (down) throw new Error('NOGROUP No such key');
        return [];
      },
    } as unknown as Queue;
    const errors: unknown[] = [];
    const lines: string[] = [];
    const d = new Dispatcher({
      queue, concurrency: 4, pollMs: 5, graceMs: 10,
      runner: { run: async () => { throw new Error('never'); } },
      timeline: {} as never,
      onError: (err) => errors.push(err),
      log: (line) => lines.push(line),
    });
    // Waited for as they happen (counts, not a guessed duration): eight failed claims, then the recovery.
    const until = async (done: () => boolean): Promise<void> => {
      for (const deadline = Date.now() + 15_000; !done();) {
        assert.ok(Date.now() < deadline, `claims ${claims}, errors ${errors.length}, lines ${JSON.stringify(lines)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    d.start();
    await until(() => claims >= 8);
    assert.equal(errors.length, 1, `one report for the outage, not one per failed claim (${claims} claims)`);
    down = false;
    await until(() => lines.length > 0);
    await d.stop();
    assert.equal(errors.length, 1, 'one report for the outage');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /claims work again after \d+\.\d s/);
  });
});

describe('Redis failures in operator log lines', () => {
  it('name the server by address (never its password), say what happened in plain words, and what to check', (t) => {
    const client = connectRedis('redis://:s3cret-pass@10.1.2.3:6390/2', { lazyConnect: true });
    t.after(() => client.disconnect());
    const closed = redisFailure(client, new Error('Connection is closed.'));
    assert.equal(closed, 'Redis at redis://10.1.2.3:6390/2 is not connected (the client is reconnecting); check that it runs and answers at FP_REDIS_URL');
    const retries = Object.assign(new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' });
    assert.match(redisFailure(client, retries), / did not answer while the client reconnected several times; /);
    assert.match(redisFailure(client, Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:6390'), { code: 'ECONNREFUSED' })), / connection refused \(nothing listens there\); /);
    assert.match(redisFailure(client, new Error('READONLY You can\'t write against a read only replica.')), /read-only replica \(FP_REDIS_URL must name the primary\)/);
    assert.match(redisFailure(client, new Error('ERR unknown command')), /answered: ERR unknown command; check/);
    for (const line of [closed, redisFailure(client, retries)]) assert.doesNotMatch(line, /s3cret|maxRetriesPerRequest|Connection is closed/);
  });
});
