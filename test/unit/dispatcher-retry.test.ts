/** The dispatcher's retry decisions (pure): the retryable table, the backoff and its jitter, policy defaults. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attemptsSpent, backoffCeilingMs, backoffMs, classifyFailure, MAX_RUN_ATTEMPTS, DEFAULT_RETRY_POLICY, resolvePolicy, retryAfterMsOf, retryDelayMs, type AttemptOutcome,
} from '../../controlplane/async/index.js';

function failed(httpStatus: number, errorClass: string | null, errorCode: string | null = null): AttemptOutcome {
  return { ok: false, httpStatus, errorCode, errorClass, cold: false, durationMs: 1, initMs: 0, handlerMs: 1 };
}

describe('classifyFailure', () => {
  const cases: [string, AttemptOutcome, boolean][] = [
    ['bad return', failed(502, 'bad_return', 'FUNCTION_BAD_RESPONSE'), false],
    ['init error', failed(502, 'init_error', 'FUNCTION_INIT_FAILED'), false],
    ['user error', failed(500, 'user_error', 'FUNCTION_ERROR'), true],
    ['timeout', failed(504, 'timeout', 'FUNCTION_TIMEOUT'), true],
    ['crash', failed(502, 'crash', 'RUNTIME_CRASHED'), true],
    ['out of memory', failed(502, 'out_of_memory', 'FUNCTION_OUT_OF_MEMORY'), true],
    ['protocol error', failed(502, 'protocol_error', 'RUNTIME_PROTOCOL_ERROR'), true],
    ['function answered 400', failed(400, null), false],
    ['function answered 404', failed(404, null), false],
    ['function answered 422', failed(422, null), false],
    ['function answered 408', failed(408, null), true],
    ['function answered 429', failed(429, null), true],
    ['function answered 500', failed(500, null), true],
    ['function answered 503', failed(503, null), true],
    ['busy', failed(429, null, 'FUNCTION_BUSY'), true],
    ['runtime unavailable', failed(503, null, 'RUNTIME_UNAVAILABLE'), true],
    ['data binding server down (a handler)', failed(503, null, 'DATA_BACKEND_UNAVAILABLE'), true],
    ['data binding server down (an ASGI app answered 500)', failed(500, null, 'DATA_BACKEND_UNAVAILABLE'), true],
    ['shutting down', failed(503, null, 'SHUTTING_DOWN'), true],
    ['function removed', failed(404, null, 'FUNCTION_NOT_FOUND'), false],
    // Accepted runs had a deployed version, and a function never loses it: this process's view of
    // a first deploy made elsewhere is behind (reliability round 4: an accepted run failed so).
    ['not deployed here yet', failed(404, null, 'FUNCTION_NOT_DEPLOYED'), true],
    ['our own abort', failed(499, null, 'CLIENT_CLOSED_REQUEST'), true],
    // Apps round 22: a FastAPI route answered 200 and its BackgroundTask raised; each retry ran the
    // route again (3 attempts, the route's work done 3 times). The answer was the app's: not retried.
    ['answered 200, then a background task raised', failed(200, 'user_error', 'FUNCTION_ERROR'), false],
    ['answered 303, then a background task raised', failed(303, 'user_error', 'FUNCTION_ERROR'), false],
    ['answered 201, then a background task ran past the timeout', failed(201, 'timeout', 'FUNCTION_TIMEOUT'), false],
  ];
  for (const [name, outcome, retryable] of cases) {
    it(`${name} → ${retryable ? 'retry' : 'give up'}`, () => {
      assert.equal(classifyFailure(outcome).retryable, retryable);
    });
  }

  it('names the class, else the code, else the status, as the reason', () => {
    assert.equal(classifyFailure(failed(502, 'bad_return', 'FUNCTION_BAD_RESPONSE')).reason, 'class:bad_return');
    assert.equal(classifyFailure(failed(429, null, 'FUNCTION_BUSY')).reason, 'code:FUNCTION_BUSY');
    assert.equal(classifyFailure(failed(404, null)).reason, 'status:404');
    assert.equal(classifyFailure(failed(200, 'user_error', 'FUNCTION_ERROR')).reason, 'answered:200 class:user_error');
  });
});

describe('attemptsSpent (ADR 0234)', () => {
  const rec = (attempt: number, errorCode: string | null) => ({ attempt, errorCode });
  it('counts an attempt the platform could not give a runtime (RUNTIME_UNAVAILABLE) as spending none', () => {
    assert.equal(attemptsSpent(3, [rec(1, 'RUNTIME_UNAVAILABLE'), rec(2, 'FUNCTION_ERROR'), rec(3, 'RUNTIME_UNAVAILABLE')]), 1);
    // A redelivered attempt recorded twice is one attempt; records past `attempt` do not count.
    assert.equal(attemptsSpent(2, [rec(1, 'RUNTIME_UNAVAILABLE'), rec(1, 'RUNTIME_UNAVAILABLE'), rec(2, null), rec(3, 'RUNTIME_UNAVAILABLE')]), 1);
    // A timeline that lost the attempts counts them all, as before.
    assert.equal(attemptsSpent(2, []), 2);
  });
  it('bounds a run at the attempts its records keep, as many as maxAttempts may be', () => {
    assert.equal(MAX_RUN_ATTEMPTS, 10);
  });
});

describe('backoff', () => {
  const policy = { backoffBaseMs: 100, backoffMaxMs: 1_000 };

  it('doubles its ceiling per failed attempt up to the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 60].map((n) => backoffCeilingMs(n, policy)), [100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('picks uniformly below the ceiling (full jitter)', () => {
    const top = (): number => 0.999_999;
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(n, policy, top)), [99, 199, 399, 799]);
    assert.equal(backoffMs(3, policy, () => 0), 0);
    assert.equal(backoffMs(3, policy, () => 0.5), 200);
    assert.equal(backoffMs(3, policy, () => 0.25), 100);
  });

  it('spreads retries of the same attempt (Math.random)', () => {
    const picks = new Set(Array.from({ length: 50 }, () => backoffMs(4, policy, Math.random)));
    assert.ok(picks.size > 10, `only ${picks.size} distinct delays`);
    for (const d of picks) assert.ok(d >= 0 && d < 800);
  });
});

describe('resolvePolicy', () => {
  it('waits at least what a 429 or 503 asked with Retry-After (seconds or an HTTP date), never less than the backoff', () => {
    const now = Date.parse('2026-12-06T09:00:00Z');
    assert.equal(retryAfterMsOf(503, [['Retry-After', '3']], now), 3000);
    assert.equal(retryAfterMsOf(429, [['retry-after', ' 120 ']], now), 120_000);
    assert.equal(retryAfterMsOf(503, [['retry-after', 'Sun, 06 Dec 2026 09:00:10 GMT']], now), 10_000);
    assert.equal(retryAfterMsOf(503, [['retry-after', 'Sun, 06 Dec 2026 08:59:00 GMT']], now), 0, 'a date past: at once');
    assert.equal(retryAfterMsOf(500, [['retry-after', '3']], now), null, 'only a 429 or 503 asks it');
    for (const bad of ['-1', '1.5', 'soon', '', '12345678901']) assert.equal(retryAfterMsOf(503, [['retry-after', bad]], now), null, bad);
    assert.equal(retryAfterMsOf(503, [['content-type', 'text/plain']], now), null);
    const policy = { backoffBaseMs: 1000, backoffMaxMs: 60_000 };
    assert.equal(retryDelayMs(1, policy, () => 0.5, 5000), 5000, 'Retry-After longer than the backoff');
    assert.equal(retryDelayMs(3, policy, () => 0.5, 100), 2000, 'the backoff longer than Retry-After');
    assert.equal(retryDelayMs(3, policy, () => 0.5), 2000, 'none asked');
  });

  it('fills what is left out with the defaults', () => {
    assert.deepEqual(resolvePolicy({}), DEFAULT_RETRY_POLICY);
    assert.equal(DEFAULT_RETRY_POLICY.maxAttempts, 3);
    assert.deepEqual(resolvePolicy({ maxAttempts: 5, backoffBaseMs: undefined }), { ...DEFAULT_RETRY_POLICY, maxAttempts: 5 });
  });

  it('refuses nonsense', () => {
    assert.throws(() => resolvePolicy({ maxAttempts: 0 }), RangeError);
    assert.throws(() => resolvePolicy({ maxAttempts: 1.5 }), RangeError);
    assert.throws(() => resolvePolicy({ backoffBaseMs: -1 }), RangeError);
    assert.throws(() => resolvePolicy({ maxEventAgeMs: Number.NaN }), RangeError);
  });
});
