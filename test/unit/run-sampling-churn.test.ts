/**
 * The run sampler's per-minute budgets do not keep every function name ever served (soak1): one
 * `{minute, count}` per name stayed until a restart, so a platform creating and deleting a
 * function a minute (a function per branch) grew by one entry a minute for as long as it ran.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunSampler } from '../../controlplane/store/run-sampling.js';
import type { RunRecord } from '../../protocol/index.js';

const MINUTE = 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);
const CYCLES = 2000;

function run(fn: string, startedAt: number): RunRecord {
  return {
    runId: `r-${fn}-${startedAt}`, attempt: 1, function: fn, version: '1', trigger: 'http', cold: false, start: 'warm',
    initMs: 0, handlerMs: 1, queuedMs: 0, durationMs: 1, status: 'succeeded', httpStatus: 200,
    errorCode: null, errorClass: null, error: null, logs: [], startedAt,
  };
}

describe('RunSampler: a new function a minute', () => {
  it(`${CYCLES} minutes, each with a function of its own and a steady one: the budgets held stay at those served lately`, () => {
    const sampler = new RunSampler({ keepPerMinute: 2, sampleOneIn: 0 });
    for (let i = 0; i < CYCLES; i++) {
      const at = T0 + i * MINUTE;
      for (const fn of ['steady', `pr-${i}`]) {
        assert.deepEqual([sampler.keep(run(fn, at)), sampler.keep(run(fn, at + 1)), sampler.keep(run(fn, at + 2))], [true, true, false], `${fn} in minute ${i}`);
      }
    }
    assert.ok(sampler.tracked <= 3, `budgets held: ${sampler.tracked}`);
  });
});
