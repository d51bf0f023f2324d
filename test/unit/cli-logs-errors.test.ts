/**
 * Where `logs` prints a failed run's exception among the stored lines (cli/logs-errors.ts
 * `errorsAmongLines`): at the run's end, never above a line of its own run. The end is the
 * gateway's arrival time (whole ms) plus the measured duration; in a sub-millisecond call it read
 * earlier than the runtime's stamp of the run's own `print`, and CI saw the exception first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorsAmongLines, type FailedRun } from '../../cli/logs-errors.js';

const failed = (runId: string, ts: number, attempt = 1): FailedRun => ({ runId, attempt, ts, error: { type: 'ValueError', message: runId } });

describe('logs: failed runs among the lines', () => {
  it('puts an exception after its own run\'s lines even when its end reads earlier', () => {
    const lines = [{ runId: 'a', attempt: 1, ts: 1000.85 }, { runId: 'b', attempt: 1, ts: 1001.2 }];
    const out = errorsAmongLines([failed('a', 1000.5)], lines);
    assert.deepEqual(out.map((e) => [e.run.runId, e.at, e.run.ts]), [['a', 1000.85, 1000.5]], 'the printed time stays the run\'s end');
  });

  it('keeps an exception at its end when that is after its lines, orders by that place, and counts attempts apart', () => {
    const lines = [{ runId: 'a', attempt: 1, ts: 10 }, { runId: 'a', attempt: 2, ts: 30 }, { runId: 'c', attempt: 1, ts: 5 }];
    const out = errorsAmongLines([failed('a', 20, 2), failed('a', 12, 1), failed('x', 1)], lines);
    assert.deepEqual(out.map((e) => [e.run.runId, e.run.attempt, e.at]), [['x', 1, 1], ['a', 1, 12], ['a', 2, 30]]);
  });
});
