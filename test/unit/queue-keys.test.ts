/** The queue's Redis key names and the checks both queue adapters share (no I/O). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueueError } from '../../controlplane/async/index.js';
import { checkJob, checkMax, positiveMs } from '../../controlplane/async/queue/validate.js';
import { ASYNC_RUN_STATES, FINAL_ASYNC_RUN_STATES } from '../../protocol/records.js';
import { redisKeys } from '../../protocol/redis-keys.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as QueueError).code;
  }
  return undefined;
};

describe('queue keys', () => {
  it('puts every key of one queue under one hash tag', () => {
    const k = redisKeys('fp').queue('async');
    const keys = [k.stream, k.delayed, k.job('r1'), k.idempotency('key'), k.dead, k.deadIndex];
    assert.deepEqual(keys, [
      'fp:v1:q:{async}:stream', 'fp:v1:q:{async}:delayed', 'fp:v1:q:{async}:job:r1',
      'fp:v1:q:{async}:idem:key', 'fp:v1:q:{async}:dead', 'fp:v1:q:{async}:dead-index',
    ]);
    assert.equal(k.job('r1'), `${k.jobPrefix}r1`);
  });

  it('refuses queue names that would break the hash tag or a pattern', () => {
    for (const bad of ['', 'a{b', 'a}b', 'a b', 'a*']) assert.throws(() => redisKeys('fp').queue(bad), RangeError);
  });
});

describe('queue input checks', () => {
  const job = { runId: 'r', function: 'f', payload: new Uint8Array(1) };
  it('accepts a well-formed job and refuses bad fields with QUEUE_INVALID', () => {
    assert.equal(codeOf(() => checkJob(job)), undefined);
    assert.equal(codeOf(() => checkJob({ ...job, runId: '' })), 'QUEUE_INVALID');
    assert.equal(codeOf(() => checkJob({ ...job, attempt: 0 })), 'QUEUE_INVALID');
    assert.equal(codeOf(() => checkJob({ ...job, notBefore: Number.NaN })), 'QUEUE_INVALID');
    assert.equal(codeOf(() => checkJob({ ...job, idempotencyKey: '' })), 'QUEUE_INVALID');
    assert.equal(codeOf(() => checkJob({ ...job, payload: 'text' as unknown as Uint8Array })), 'QUEUE_INVALID');
    assert.equal(codeOf(() => checkMax(1.5)), 'QUEUE_INVALID');
    assert.equal(codeOf(() => positiveMs(0, 1, 'leaseMs')), 'QUEUE_INVALID');
    assert.equal(positiveMs(undefined, 30_000, 'leaseMs'), 30_000);
  });
});

describe('async run states', () => {
  it('lists each state once, finals among them', () => {
    assert.equal(new Set(ASYNC_RUN_STATES).size, ASYNC_RUN_STATES.length);
    for (const s of FINAL_ASYNC_RUN_STATES) assert.ok((ASYNC_RUN_STATES as readonly string[]).includes(s));
  });
});
