/**
 * The control plane's recording and sync pieces without I/O: the RecordingRunSink as the gateway
 * and the runs API use it (pending lookup, drops by reason), the warm reporter, and the config
 * bus message format.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WarmReporter } from '../../controlplane/runs/warm-reporter.js';
import { parseConfigMessage } from '../../controlplane/store/config-bus.js';
import { MemoryHotMetrics, type RunSample, RecordingRunSink, type RunStore } from '../../controlplane/store/index.js';
import { run } from '../conformance/fixtures.js';

describe('RecordingRunSink for the control plane', () => {
  it('finds a run still buffered, and counts drops by destination and reason', async () => {
    let release: () => void = () => {};
    const runs: Pick<RunStore, 'record'> = { record: () => new Promise<void>((r) => (release = r)) };
    const sink = new RecordingRunSink({ runs: runs as RunStore, tuning: { capacity: 4, batchSize: 2 } });
    const records = Array.from({ length: 6 }, () => run({ function: 'fn-r' }));
    for (const r of records) sink.record(r);
    assert.equal(sink.pendingRun(records[5]!.runId)?.runId, records[5]!.runId, 'waiting in the buffer');
    assert.equal(sink.pendingRun('no-such-run'), undefined);
    await new Promise((r) => setImmediate(r));
    // The two oldest were dropped when the ring overflowed; the next two are the batch in flight.
    assert.equal(sink.pendingRun(records[0]!.runId), undefined);
    assert.equal(sink.pendingRun(records[2]!.runId)?.runId, records[2]!.runId, 'in the batch being written');
    assert.deepEqual(sink.droppedByReason(), { runs_overflow: 2, runs_shutdown: 0, runs_closed: 0, runs_refused: 0 });
    release();
    await sink.close(50);
    sink.record(run());
    assert.equal(sink.droppedByReason()['runs_closed'], 1);
  });
});

describe('RecordingRunSink shared by workspaces (red team round 42)', () => {
  it("one workspace's flood through a store outage keeps at most half the buffer: another workspace's waiting records stay", async () => {
    const runs: Pick<RunStore, 'record'> = { record: () => new Promise<void>(() => {}) }; // the store down: a write that never ends
    const sink = new RecordingRunSink({ runs: runs as RunStore, tuning: { capacity: 10, batchSize: 2 } });
    for (let i = 0; i < 2; i++) sink.record(run({ function: 'first.early' }));
    await new Promise((r) => setImmediate(r)); // those two are the batch in flight
    const victims = Array.from({ length: 3 }, () => run({ function: 'orders.victim' }));
    for (const r of victims) sink.record(r);
    const flood = Array.from({ length: 30 }, () => run({ function: 'noisy.attacker', status: 'failed' }));
    for (const r of flood) sink.record(r);
    // Before: the flood pushed the three out (the oldest waiting record made room, whoever's it was).
    for (const r of victims) assert.equal(sink.pendingRun(r.runId)?.runId, r.runId, "the other workspace's record still waits");
    assert.equal(sink.pendingAttempts(flood[0]!.runId).length, 1, "the flood's first records wait too");
    assert.equal(sink.droppedByReason()['runs_overflow'], 25, 'the flood past half the buffer is dropped, counted');
    const also = run({ function: 'orders.victim' });
    sink.record(also);
    assert.equal(sink.pendingRun(also.runId)?.runId, also.runId, 'a new record of the other workspace takes the oldest waiting place');
    await sink.close(20);
  });
});

describe('RecordingRunSink with `exists` (red team 5)', () => {
  it('writes no record and no sample of a function deleted while they waited in the buffer', async () => {
    const written: string[] = [];
    const runs: Pick<RunStore, 'record'> = { record: async (batch) => { for (const r of batch) written.push(r.function); } };
    const metrics = new MemoryHotMetrics();
    const live = new Set(['kept', 'gone']);
    const sink = new RecordingRunSink({ runs: runs as RunStore, metrics, exists: (key) => live.has(key), tuning: { lingerMs: 20 } });
    for (const fn of ['kept', 'gone', 'kept', 'gone']) sink.record(run({ function: fn, startedAt: Date.now() }));
    live.delete('gone'); // deleted before the batch is written
    await sink.close(1000);
    assert.deepEqual(written, ['kept', 'kept']);
    assert.equal((await metrics.usage('kept', '1h')).invocations, 2);
    assert.equal((await metrics.usage('gone', '1h')).invocations, 0);
  });
});

describe('RecordingRunSink with `incarnation` (ADR 0190)', () => {
  it('hands the store the incarnation of each function of a batch, read when the batch is written, once per function', async () => {
    const batches: [string[], Record<string, number>][] = [];
    const runs: Pick<RunStore, 'record'> = { record: async (batch, inc) => { batches.push([batch.map((r) => r.function), Object.fromEntries(inc ?? [])]); } };
    const born = new Map([['a', 100], ['b', 200]]);
    const asked: string[] = [];
    const sink = new RecordingRunSink({ runs: runs as RunStore, incarnation: (key) => (asked.push(key), born.get(key)), tuning: { lingerMs: 20 } });
    for (const fn of ['a', 'b', 'a', 'unknown']) sink.record(run({ function: fn }));
    born.set('a', 150); // created again before the batch is written: the stamp is the one then
    await sink.close(1000);
    assert.deepEqual(batches, [[['a', 'b', 'a', 'unknown'], { a: 150, b: 200 }]]);
    assert.deepEqual(asked, ['a', 'b', 'unknown']);
  });
});

describe('WarmReporter', () => {
  it('reports warm + busy instances per function, and withdraws a function that has none left', async () => {
    const metrics = new MemoryHotMetrics();
    let functions: Record<string, { name: string; warm: number; busy: number }> = {
      'a@1': { name: 'a', warm: 1, busy: 1 },
      'a@2': { name: 'a', warm: 1, busy: 0 },
      'b@1': { name: 'b', warm: 0, busy: 1 },
    };
    const logs: string[] = [];
    const reporter = new WarmReporter({ stats: () => ({ functions }) }, metrics, 'proc-1', 10_000, (l) => logs.push(l));
    await reporter.report();
    assert.equal((await metrics.usage('a', '1m')).warmInstances, 3);
    assert.equal((await metrics.usage('b', '1m')).state, 'warm');
    functions = { 'a@2': { name: 'a', warm: 1, busy: 0 } };
    await reporter.report();
    assert.equal((await metrics.usage('a', '1m')).warmInstances, 1);
    assert.equal((await metrics.usage('b', '1m')).state, 'cold');
    await reporter.stop();
    assert.deepEqual(logs, []);
  });

  it('turns the pool\'s scale-to-zero counters into one event per new stop, counted in the function\'s usage', async () => {
    const metrics = new MemoryHotMetrics({ now: () => 1_900_000_000_000 });
    let scaledToZero: Record<string, number> = { a: 2 };
    const events: RunSample[] = [];
    const reporter = new WarmReporter({ stats: () => ({ functions: {}, scaledToZero }) }, metrics, 'proc-1', 10_000, () => {}, (s) => events.push(...s), () => 1_900_000_000_000);
    await reporter.report();
    scaledToZero = { a: 3, b: 1 };
    await reporter.report();
    await reporter.report();
    assert.deepEqual(events.map((e) => [e.function, e.kind]), [['a', 'scale-to-zero'], ['a', 'scale-to-zero'], ['a', 'scale-to-zero'], ['b', 'scale-to-zero']]);
    await metrics.record(events);
    const a = await metrics.usage('a', '1m');
    assert.deepEqual([a.scaleToZero, a.invocations], [3, 0]);
    await reporter.stop();
  });
});

describe('config bus messages', () => {
  it('parses what RedisConfigBus publishes and refuses anything else', () => {
    assert.deepEqual(parseConfigMessage('{"origin":"p1","change":{"kind":"function","name":"hello"}}'), { origin: 'p1', change: { kind: 'function', name: 'hello' } });
    assert.deepEqual(parseConfigMessage('{"origin":"p1","change":{"kind":"tokens"}}'), { origin: 'p1', change: { kind: 'tokens' } });
    for (const bad of ['', 'nope', '{}', '{"origin":"p1"}', '{"origin":1,"change":{"kind":"tokens"}}', '{"origin":"p","change":{"kind":"function"}}', '{"origin":"p","change":{"kind":"other"}}']) {
      assert.equal(parseConfigMessage(bad), null, bad);
    }
  });

  it('keeps a delete\'s `gone` (the others stop serving before their store read: ADR 0156), only `true` and only on a function', () => {
    assert.deepEqual(parseConfigMessage('{"origin":"p1","change":{"kind":"function","name":"hello","gone":true}}'), { origin: 'p1', change: { kind: 'function', name: 'hello', gone: true } });
    assert.deepEqual(parseConfigMessage('{"origin":"p1","change":{"kind":"function","name":"hello","gone":"yes"}}'), { origin: 'p1', change: { kind: 'function', name: 'hello' } });
    assert.deepEqual(parseConfigMessage('{"origin":"p1","change":{"kind":"workspace","name":"w","gone":true}}'), { origin: 'p1', change: { kind: 'workspace', name: 'w' } });
  });
});
