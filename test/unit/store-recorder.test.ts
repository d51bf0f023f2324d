/**
 * The parts of production recording that need no server: BufferedRecorder (bounded buffer, batches,
 * retries with the same batch id, counted drops), RecordingRunSink over in-memory ports, histogram
 * bucket math and the Redis key builders.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BufferedRecorder, MemoryHotMetrics, RecordingRunSink, type DropReason, type RunStore } from '../../controlplane/store/index.js';
import { bucketIndex, bucketLower, bucketUpper, FINITE_BUCKETS, percentile, windowBuckets } from '../../controlplane/store/metrics/index.js';
import type { RunRecord } from '../../protocol/index.js';
import { redisKeys } from '../../protocol/redis-keys.js';
import { run } from '../conformance/fixtures.js';

const fast = { retryBaseMs: 5, retryMaxMs: 20 };
/**
 * Resolves after the setImmediate callbacks queued before it (they run in order): a recorder's
 * first write, scheduled by `record()` on setImmediate, has then started. An event, not a wait
 * for time (a timer of 1 ms can fire before an earlier setImmediate).
 */
const recorderTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BufferedRecorder', () => {
  it('writes in batches, in order, off the caller', async () => {
    const batches: number[][] = [];
    const rec = new BufferedRecorder<number>({ batchSize: 4, write: async (b) => void batches.push([...b]) });
    for (let i = 0; i < 10; i++) rec.record(i);
    assert.equal(batches.length, 0, 'nothing is written during record()');
    assert.equal(await rec.flush(1000), true);
    assert.deepEqual(batches, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    assert.deepEqual({ ...rec.stats(), lastError: null }, { pending: 0, inFlight: 0, written: 10, dropped: 0, droppedByReason: { overflow: 0, shutdown: 0, closed: 0, refused: 0 }, failedWrites: 0, consecutiveFailures: 0, refusedWrites: 0, reduced: 0, lastError: null });
  });

  it('retries a failed batch as the same batch with the same id, after a backoff, until it lands', async () => {
    const attempts: { items: number[]; id: string }[] = [];
    let failures = 3;
    const errors: unknown[] = [];
    const rec = new BufferedRecorder<number>({
      ...fast,
      batchSize: 3,
      write: async (items, id) => {
        attempts.push({ items: [...items], id });
        if (failures-- > 0) throw new Error('backend down');
      },
      onError: (err) => errors.push(err),
    });
    rec.record(1);
    rec.record(2);
    await recorderTurn();
    rec.record(3); // arrives while the first batch is failing: it waits behind it
    assert.equal(await rec.flush(2000), true);
    assert.deepEqual(attempts.slice(0, 4).map((a) => a.items), [[1, 2], [1, 2], [1, 2], [1, 2]]);
    assert.equal(new Set(attempts.slice(0, 4).map((a) => a.id)).size, 1, 'one id for every attempt of a batch');
    assert.deepEqual(attempts[4]?.items, [3]);
    assert.notEqual(attempts[4]?.id, attempts[0]?.id);
    assert.equal(errors.length, 3);
    const stats = rec.stats();
    assert.deepEqual([stats.written, stats.failedWrites, stats.consecutiveFailures, stats.dropped], [3, 3, 0, 0]);
    assert.equal(stats.lastError, 'backend down');
  });

  it('stays bounded when the backend hangs: drops the oldest waiting records and counts them', async () => {
    const drops: [number, DropReason][] = [];
    const written: number[] = [];
    let hang = true;
    const rec = new BufferedRecorder<number>({
      ...fast,
      capacity: 100,
      batchSize: 10,
      writeTimeoutMs: 30,
      write: (items) => (hang ? new Promise<void>(() => {}) : Promise.resolve(void written.push(...items))),
      onDrop: (n, reason) => drops.push([n, reason]),
    });
    rec.record(0);
    await recorderTurn(); // the first batch [0] is now in flight and hangs
    for (let i = 1; i < 250; i++) rec.record(i);
    const stats = rec.stats();
    assert.equal(stats.pending + stats.inFlight, 100, 'never more than capacity');
    assert.equal(rec.dropped, 150);
    assert.deepEqual(drops[0], [1, 'overflow']);
    hang = false;
    assert.equal(await rec.flush(2000), true);
    // What was in flight survives; of the rest, the newest 99 were kept.
    assert.deepEqual(written, [0, ...Array.from({ length: 99 }, (_, i) => 151 + i)]);
    assert.ok(rec.stats().failedWrites >= 1, 'the hung write timed out and was retried');
  });

  it('costs the caller nothing when the backend is slow: record() only queues, the writes come later', async () => {
    let writes = 0;
    const rec = new BufferedRecorder<number>({ batchSize: 1000, write: () => ((writes++), sleep(100)) });
    for (let i = 0; i < 5000; i++) assert.equal(rec.record(i), undefined);
    // Nothing was written, or even started, while the caller recorded: no call waited on the backend.
    assert.equal(writes, 0);
    assert.deepEqual([rec.stats().pending, rec.stats().inFlight, rec.stats().written], [5000, 0, 0]);
    await rec.close(5000);
    assert.equal(rec.stats().written, 5000);
  });

  it('on close drains what it can, then drops and counts the rest; later records are counted too', async () => {
    const rec = new BufferedRecorder<number>({ ...fast, batchSize: 2, write: () => Promise.reject(new Error('dead')) });
    for (let i = 0; i < 5; i++) rec.record(i);
    const stats = await rec.close(50);
    assert.equal(stats.droppedByReason.shutdown, 5);
    rec.record(6);
    assert.equal(rec.stats().droppedByReason.closed, 1);
    assert.equal(rec.dropped, 6);
  });

  it('reports every write with its size, duration and result (for the sink metrics)', async () => {
    const writes: [number, boolean][] = [];
    let fail = true;
    // Each write's own span, seen from inside it: the duration reported covers it, and lies within
    // the time since the first record was queued (so it is in seconds, not ms).
    let insideMs = 0;
    const queued = performance.now();
    const rec = new BufferedRecorder<number>({
      ...fast,
      batchSize: 2,
      write: async () => {
        const began = performance.now();
        await sleep(5);
        insideMs = performance.now() - began;
        if (fail) {
          fail = false;
          throw new Error('down once');
        }
      },
      onWrite: (count, seconds, ok) => {
        assert.ok(seconds * 1000 >= insideMs && seconds * 1000 <= performance.now() - queued, `seconds ${seconds}; the write took ${insideMs} ms`);
        writes.push([count, ok]);
      },
    });
    for (let i = 0; i < 3; i++) rec.record(i);
    assert.equal(await rec.flush(2000), true);
    assert.deepEqual(writes, [[2, false], [2, true], [1, true]]);
  });

  it('spaces its writes by lingerMs while records keep coming; a full batch, flush and close do not wait', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
    try {
      const batches: number[][] = [];
      const ends: (() => void)[] = [];
      // Each write stays in flight until the test ends it.
      const rec = new BufferedRecorder<number>({ lingerMs: 100, batchSize: 4, write: (b) => (batches.push([...b]), new Promise<void>((resolve) => ends.push(resolve))) });
      const endWrite = async (): Promise<void> => {
        ends.shift()!();
        for (let i = 0; i < 10; i++) await Promise.resolve(); // the recorder's continuation, not a timer
      };
      rec.record(1);
      mock.timers.tick(99);
      assert.equal(batches.length, 0, 'a first record waits for company');
      mock.timers.tick(1);
      assert.deepEqual(batches, [[1]]);
      rec.record(2);
      rec.record(3); // arrive during the write
      await endWrite();
      assert.equal(batches.length, 1, 'the next write does not start as the last one ends');
      rec.record(4);
      mock.timers.tick(99);
      assert.equal(batches.length, 1);
      mock.timers.tick(1);
      assert.deepEqual(batches[1], [2, 3, 4], 'lingerMs after the last write ended, one batch of what came meanwhile');
      for (const i of [5, 6, 7, 8]) rec.record(i);
      await endWrite();
      assert.deepEqual(batches[2], [5, 6, 7, 8], 'a full batch is written at once');
      rec.record(9);
      await endWrite();
      assert.equal(batches.length, 3);
      for (const i of [10, 11]) rec.record(i);
      assert.equal(batches.length, 3, 'still lingering: three of four');
      rec.record(12);
      assert.equal(batches.length, 3, 'not inside record(): the write is work');
      mock.timers.tick(0);
      assert.deepEqual(batches[3], [9, 10, 11, 12], 'the batch filled during the linger goes on the next turn');
      rec.record(13);
      const flushed = rec.flush(1000);
      await endWrite();
      assert.deepEqual(batches[4], [13], 'a flush writes what waits without lingering');
      await endWrite();
      mock.timers.tick(10); // flush polls the buffer every 10 ms
      assert.equal(await flushed, true);
      rec.record(14);
      mock.timers.tick(100);
      rec.record(15);
      const closed = rec.close(1000);
      await endWrite();
      assert.deepEqual(batches[6], [15], 'so does close');
      await endWrite();
      mock.timers.tick(10);
      assert.equal((await closed).written, 15);
      assert.equal(rec.dropped, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('gives a flush its time on the monotonic clock: a wall clock stepped back meanwhile does not hold it (chaos round 9)', async () => {
    const realNow = Date.now;
    const rec = new BufferedRecorder<number>({ capacity: 10, batchSize: 2, retryBaseMs: 50, retryMaxMs: 50, write: async () => { throw new Error('store down'); } });
    try {
      rec.record(1);
      const asked = performance.now();
      const flushed = rec.flush(200);
      Date.now = () => realNow() - 10 * 60_000;
      // Before: it waited until the stepped clock was back (10 minutes).
      assert.equal(await Promise.race([flushed, sleep(3000).then(() => 'held')]), false);
      assert.ok(performance.now() - asked < 3000);
    } finally {
      Date.now = realNow;
      await rec.close(0);
    }
  });

  it('refuses settings that cannot work', () => {
    assert.throws(() => new BufferedRecorder<number>({ capacity: 10, batchSize: 10, write: async () => {} }), RangeError);
    assert.throws(() => new BufferedRecorder<number>({ capacity: 1, write: async () => {} }), RangeError);
  });
});

describe('RecordingRunSink', () => {
  it('feeds the run store and the hot metrics independently', async () => {
    const stored: RunRecord[] = [];
    let storeUp = false;
    let tried!: () => void;
    const triedWhileDown = new Promise<void>((resolve) => (tried = resolve));
    const runs: Pick<RunStore, 'record'> = {
      record: async (batch) => {
        if (!storeUp) {
          tried();
          throw new Error('mongo down');
        }
        stored.push(...batch);
      },
    };
    const metrics = new MemoryHotMetrics({ now: () => 1_900_000_000_000 });
    const sink = new RecordingRunSink({ runs: runs as RunStore, metrics, tuning: { retryBaseMs: 5, retryMaxMs: 10 } });
    const records = Array.from({ length: 20 }, (_, i) => run({ function: 'fn-s', startedAt: 1_900_000_000_000 - 1000, status: i < 5 ? 'failed' : 'succeeded' }));
    for (const r of records) sink.record(r);
    await sink.metrics!.flush(1000);
    const usage = await metrics.usage('fn-s', '1m');
    assert.deepEqual([usage.invocations, usage.errors], [20, 5], 'metrics flow while the run store is down');
    assert.equal(stored.length, 0);
    // The run store must have been tried (and failed) before it comes back: wait for that attempt,
    // not for time (the metrics flush above can return before the run recorder's first turn).
    await triedWhileDown;
    storeUp = true;
    assert.equal(await sink.flush(2000), true);
    assert.deepEqual(stored.map((r) => r.runId), records.map((r) => r.runId));
    assert.equal(sink.dropped, 0);
    assert.ok(sink.stats().runs.failedWrites > 0);
    await sink.close();
  });
});

describe('RecordingRunSink.pendingAttempts', () => {
  it('finds every attempt of a run not yet in the store (a slow write), oldest first, and none once written', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stored: RunRecord[] = [];
    const runs: Pick<RunStore, 'record'> = {
      record: async (batch) => {
        await gate; // the store is slow: the first batch stays in flight
        stored.push(...batch);
      },
    };
    const sink = new RecordingRunSink({ runs: runs as RunStore });
    const a1 = run({ runId: 'r-async', attempt: 1, status: 'failed' });
    const other = run({ runId: 'r-other' });
    const a2 = run({ runId: 'r-async', attempt: 2 });
    sink.record(a1);
    sink.record(other);
    await new Promise((r) => setImmediate(r)); // a1 and other go out in a batch that hangs
    sink.record(a2); // waits behind it
    assert.deepEqual(sink.pendingAttempts('r-async').map((r) => r.attempt), [1, 2]);
    assert.deepEqual(sink.pendingAttempts('r-none'), []);
    release();
    assert.equal(await sink.flush(2000), true);
    assert.deepEqual(sink.pendingAttempts('r-async'), []);
    assert.deepEqual(stored.filter((r) => r.runId === 'r-async').map((r) => r.attempt), [1, 2]);
    await sink.close();
  });
});

describe('latency histogram', () => {
  it('puts durations in quarter-octave buckets with fixed boundaries', () => {
    assert.equal(bucketIndex(0), 0);
    assert.equal(bucketIndex(0.25), 0);
    assert.equal(bucketIndex(0.2501), 1);
    assert.equal(bucketIndex(1), 8);
    assert.equal(bucketIndex(1.0001), 9);
    assert.equal(bucketIndex(2 ** 19), FINITE_BUCKETS - 1);
    assert.equal(bucketIndex(2 ** 19 + 1), FINITE_BUCKETS);
    assert.equal(bucketIndex(Number.NaN), 0);
    for (let i = 1; i < FINITE_BUCKETS; i++) {
      assert.equal(bucketLower(i), bucketUpper(i - 1));
      assert.equal(bucketIndex(bucketUpper(i)), i, `upper bound of ${i} is inside it`);
      assert.equal(bucketIndex(bucketUpper(i) * 1.0001), i + 1);
    }
  });

  it('finds percentiles in merged counts, null when empty', () => {
    const counts = new Array<number>(FINITE_BUCKETS + 1).fill(0);
    assert.equal(percentile(counts, 0.5), null);
    counts[8] = 50; // (0.84, 1] ms
    counts[20] = 50; // (6.73, 8] ms
    assert.ok(percentile(counts, 0.5)! <= 1 && percentile(counts, 0.5)! > bucketLower(8));
    assert.ok(percentile(counts, 0.99)! > bucketLower(20) && percentile(counts, 0.99)! <= 8);
  });

  it('names the buckets of each window', () => {
    const now = 10 * 3_600_000 + 5 * 60_000 + 1;
    assert.deepEqual(windowBuckets('1m', now), { unit: 'minute', indices: [605], from: 605 * 60_000 });
    assert.equal(windowBuckets('15m', now).indices.length, 15);
    assert.equal(windowBuckets('1h', now).indices.at(-1), 546);
    assert.deepEqual(windowBuckets('24h', now).indices.slice(0, 2), [10, 9]);
    assert.equal(windowBuckets('24h', now).from, -13 * 3_600_000);
    // The numbers of a window cover at least all of it: one bucket more (the current one is partial).
    assert.deepEqual(windowBuckets('1m', now, true), { unit: 'minute', indices: [605, 604], from: 604 * 60_000 });
    assert.equal(windowBuckets('1h', now, true).indices.length, 61);
    assert.equal(windowBuckets('24h', now, true).indices.length, 25);
  });
});

describe('redis keys', () => {
  it('are built in one place, versioned, with the function in a hash tag', () => {
    const k = redisKeys('fp');
    assert.equal(k.minute('hello', 42), 'fp:v1:fn:{hello}:m:42');
    assert.equal(k.hour('hello', 7), 'fp:v1:fn:{hello}:h:7');
    assert.equal(k.totals('hello'), 'fp:v1:fn:{hello}:totals');
    assert.equal(k.lastSuccess('hello'), 'fp:v1:fn:{hello}:last-ok');
    assert.equal(k.warm('hello'), 'fp:v1:fn:{hello}:warm');
    assert.equal(k.paused('hello'), 'fp:v1:fn:{hello}:paused');
    assert.equal(k.batch('abc-1'), 'fp:v1:batch:abc-1');
    assert.equal(k.functionPattern('hello'), 'fp:v1:fn:{hello}:*');
    assert.equal(k.configChannel(), 'fp:v1:config');
    assert.equal(redisKeys().prefix, 'fp');
    for (const bad of ['', 'a b', 'x*', '{y}']) assert.throws(() => redisKeys(bad), RangeError);
  });
});
