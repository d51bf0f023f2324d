/** Which runs keep a full record (controlplane/store/run-sampling.ts): counting, so exact. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEEP_ALL, RunSampler } from '../../controlplane/store/run-sampling.js';
import type { RunRecord } from '../../protocol/index.js';

const MINUTE = 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);
let seq = 0;

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: `r${++seq}`, attempt: 1, function: 'f', version: '1', trigger: 'http', cold: false, start: 'warm',
    initMs: 0, handlerMs: 1, queuedMs: 0, durationMs: 1, status: 'succeeded', httpStatus: 200,
    errorCode: null, errorClass: null, error: null, logs: [], startedAt: T0, ...overrides,
  };
}

describe('RunSampler', () => {
  it('always keeps failed runs, cold starts, every trigger but http, retries, and runs that wrote through their binding', () => {
    const sampler = new RunSampler({ keepPerMinute: 0, sampleOneIn: 0 });
    assert.equal(sampler.keep(run({ status: 'failed', httpStatus: 500, errorCode: 'FUNCTION_ERROR' })), true);
    assert.equal(sampler.keep(run({ cold: true, start: 'pool' })), true);
    for (const trigger of ['async', 'cron', 'webhook', 'test'] as const) assert.equal(sampler.keep(run({ trigger })), true, trigger);
    assert.equal(sampler.keep(run({ attempt: 2 })), true);
    // A run that wrote through its data binding; one whose binding saw no write is sampled as any other.
    const write = { database: 'default_shop', collection: 'orders', inserted: 0, updated: 0, deleted: 0, upserted: 0 };
    for (const kind of ['inserted', 'updated', 'deleted', 'upserted'] as const) assert.equal(sampler.keep(run({ writes: [{ ...write, [kind]: 1 }] })), true, kind);
    assert.equal(sampler.keep(run({ writes: [write] })), false);
    assert.equal(sampler.keep(run({ writes: [] })), false);
    // …and nothing else when neither a per-minute budget nor a sample is set.
    assert.equal(sampler.keep(run()), false);
  });

  it('keeps the first keepPerMinute successful warm runs of each function each minute, then one in sampleOneIn', () => {
    const sampler = new RunSampler({ keepPerMinute: 3, sampleOneIn: 4 });
    const kept = (fn: string, at: number, n: number): boolean[] => Array.from({ length: n }, () => sampler.keep(run({ function: fn, startedAt: at })));
    assert.deepEqual(kept('a', T0, 3), [true, true, true]);
    assert.deepEqual(kept('a', T0 + 1000, 8), [false, false, false, true, false, false, false, true]);
    // Another function has a budget of its own; errors in between neither use nor need it.
    assert.equal(sampler.keep(run({ function: 'a', startedAt: T0, status: 'failed' })), true);
    assert.deepEqual(kept('b', T0, 3), [true, true, true]);
    // The next minute starts a new budget.
    assert.deepEqual(kept('a', T0 + MINUTE, 3), [true, true, true]);
  });

  it('keeps every run with KEEP_ALL or sampleOneIn 1, and none past the budget with sampleOneIn 0', () => {
    const all = new RunSampler(KEEP_ALL);
    assert.ok(Array.from({ length: 50 }, () => all.keep(run())).every(Boolean));
    const one = new RunSampler({ keepPerMinute: 5, sampleOneIn: 1 });
    assert.ok(Array.from({ length: 50 }, () => one.keep(run())).every(Boolean));
    const none = new RunSampler({ keepPerMinute: 2, sampleOneIn: 0 });
    assert.deepEqual(Array.from({ length: 5 }, () => none.keep(run())), [true, true, false, false, false]);
  });
});
