/**
 * An async run's timeline details in words (protocol/run-timeline.ts): `runs <id>` and the
 * console show "no attempts left: the function raised an exception", not `max_attempts
 * class:user_error`; the API and `--json` keep the raw detail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAsyncRun } from '../../cli/commands/runs.js';
import { classifyFailure } from '../../controlplane/async/dispatcher/retry.js';
import { callFailed, ERROR_CLASSES, recordStatus, timelineDetailText } from '../../protocol/index.js';

describe('run timeline details in words', () => {
  it('says what each reason the dispatcher writes means', () => {
    assert.equal(timelineDetailText('max_attempts class:user_error'), 'no attempts left: the function raised an exception');
    assert.equal(timelineDetailText('non_retryable class:bad_return'), 'not retried: the handler returned something that is not a response');
    assert.equal(timelineDetailText('non_retryable status:404'), 'not retried: HTTP 404');
    assert.equal(timelineDetailText('max_event_age code:DATA_BACKEND_UNAVAILABLE'), 'too old to retry (max event age): DATA_BACKEND_UNAVAILABLE');
    assert.equal(timelineDetailText('max_event_age'), 'too old to retry (max event age)');
    assert.equal(timelineDetailText('class:timeout; attempt 2 at 2026-12-04T04:00:00.000Z'), 'the call ran past its timeout; attempt 2 at 2026-12-04T04:00:00.000Z');
    // A platform fault's retry (ADR 0234): the note after the time stays as written.
    assert.equal(timelineDetailText("code:RUNTIME_UNAVAILABLE; attempt 2 at 2026-12-04T04:00:00.000Z (the platform's fault: not counted in maxAttempts)"),
      "RUNTIME_UNAVAILABLE; attempt 2 at 2026-12-04T04:00:00.000Z (the platform's fault: not counted in maxAttempts)");
    assert.match(timelineDetailText('function_deleted'), /^its function was deleted/);
    // Already words: as written.
    for (const d of ['attempt 1', 'attempt 2 (delivery 2)', 'cancelled by request']) assert.equal(timelineDetailText(d), d);
    assert.equal(timelineDetailText(null), '');
  });

  it('has words for every error class and every reason classifyFailure gives', () => {
    for (const cls of ERROR_CLASSES) {
      const words = timelineDetailText(`max_attempts class:${cls}`);
      assert.doesNotMatch(words, /class|_/, cls);
      const verdict = classifyFailure({ errorClass: cls, httpStatus: 500, errorCode: null } as Parameters<typeof classifyFailure>[0]);
      assert.doesNotMatch(timelineDetailText(`${verdict.reason}; attempt 2 at T`), /class:/, cls);
    }
  });

  it('runs <id> shows the words in the timeline', () => {
    const text = formatAsyncRun({
      runId: 'r1', function: 'f', workspace: 'default', trigger: 'async', state: 'failed', acceptedAt: 0, replayOf: null, replays: [], attempts: [], result: null,
      transitions: [
        { state: 'queued', at: 0, detail: null },
        { state: 'running', at: 1, detail: 'attempt 1' },
        { state: 'retried', at: 2, detail: 'class:user_error; attempt 2 at 2026-12-04T04:00:00.000Z' },
        { state: 'failed', at: 3, detail: 'max_attempts class:user_error' },
      ],
    }, 10);
    assert.match(text, /retried {3}the function raised an exception; attempt 2 at 2026-12-04T04:00:00\.000Z/);
    assert.match(text, /failed {4}no attempts left: the function raised an exception/);
    assert.doesNotMatch(text, /class:/);
  });

  it('runs <id> of a run whose async state was lost says so: final, not replayable (ADR 0193; it printed an empty timeline)', () => {
    const attempt = { attempt: 1, startedAt: 5, durationMs: 1, cold: false, status: 'failed' as const, errorCode: 'FUNCTION_ERROR', errorClass: 'user_error', error: null, logs: [] };
    const lost = formatAsyncRun({ runId: 'r1', function: 'f', workspace: 'default', trigger: 'async', state: 'failed', acceptedAt: null, replayOf: null, replays: [], attempts: [attempt], result: null, transitions: [] }, 10);
    assert.match(lost, /its queued state was lost .* it is final and cannot be replayed: call the function again/);
    assert.match(lost, /^timeline {2}\(lost\)$/m);
    const kept = formatAsyncRun({ runId: 'r1', function: 'f', workspace: 'default', trigger: 'async', state: 'failed', acceptedAt: 0, replayOf: null, replays: [], attempts: [attempt], result: null, transitions: [{ state: 'queued', at: 0, detail: null }] }, 10);
    assert.doesNotMatch(kept, /lost/);
  });

  it('runs <id> says an attempt failed by its own 4xx answer (it said `failed` alone; protocol/run-outcome.ts)', () => {
    const attempt = { attempt: 1, startedAt: 5, durationMs: 1, cold: false, status: 'failed' as const, errorCode: null, errorClass: null, error: null, logs: [], httpStatus: 404 };
    const text = formatAsyncRun({ runId: 'r1', function: 'f', workspace: 'default', trigger: 'async', state: 'failed', acceptedAt: 0, replayOf: null, replays: [], attempts: [attempt], result: null, transitions: [{ state: 'failed', at: 3, detail: 'non_retryable status:404' }] }, 10);
    assert.match(text, /#1 \S+ failed .* answered HTTP 404$/m);
  });

  it("one rule for a call's outcome: a queued attempt's 4xx failed, a sync call's answered; records written before are shown so", () => {
    assert.deepEqual([404, 422, 429, 500, 200].map((httpStatus) => callFailed({ httpStatus, errored: false, queued: true })), [true, true, true, true, false]);
    assert.deepEqual([404, 500, 200].map((httpStatus) => callFailed({ httpStatus, errored: false, queued: false })), [false, true, false]);
    assert.equal(callFailed({ httpStatus: 200, errored: true, queued: false }), true);
    assert.deepEqual(['async', 'cron', 'webhook', 'http', 'test'].map((trigger) => recordStatus({ status: 'succeeded', httpStatus: 404, trigger })), ['failed', 'failed', 'succeeded', 'succeeded', 'succeeded']);
    assert.equal(recordStatus({ status: 'succeeded', httpStatus: 200, trigger: 'async' }), 'succeeded');
  });

  it('a running run names its running attempt (it said `attempts  (none)` under `running  attempt 1`)', () => {
    const run = (attempts: Parameters<typeof formatAsyncRun>[0]['attempts'], transitions: Parameters<typeof formatAsyncRun>[0]['transitions']) => formatAsyncRun({
      runId: 'r1', function: 'f', workspace: 'default', trigger: 'async', state: 'running', acceptedAt: 0, replayOf: null, replays: [], attempts, result: null, transitions,
    }, 10);
    const first = run([], [{ state: 'queued', at: 0, detail: null }, { state: 'running', at: 5, detail: 'attempt 1' }]);
    assert.match(first, /^attempts {2}\(none ended yet; attempt 1 is running since 00:00:00\.005\)$/m);
    const second = run(
      [{ attempt: 1, startedAt: 5, durationMs: 1, cold: false, status: 'failed', errorCode: 'FUNCTION_ERROR', errorClass: 'user_error', error: null, logs: [] }],
      [{ state: 'queued', at: 0, detail: null }, { state: 'running', at: 5, detail: 'attempt 1' }, { state: 'retried', at: 6, detail: null }, { state: 'running', at: 9, detail: 'attempt 2' }],
    );
    assert.match(second, /^attempts \(1 ended; attempt 2 is running since 00:00:00\.009\)$/m);
  });
});
