/** The contract card `deploy` and `functions show` print (cli/contract.ts; docs/cli.md). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contractLines } from '../../cli/contract.js';

const limits = { timeoutMs: 30_000, memoryBytes: 256 * 1024 * 1024, concurrency: 1, maxInstances: 10, minWarm: 0, maxQueue: 100 };

describe('contractLines', () => {
  it('shows the limits and the rate limit', () => {
    assert.deepEqual(contractLines({ ...limits, rateLimit: null }), ['Limits:  timeout 30s, memory 256Mi, concurrency 1, instances 0-10, queue 100, rate no limit']);
    assert.match(contractLines({ ...limits, rateLimit: { requests: 100, periodMs: 1000, burst: 20 } })[0]!, /rate 100\/s \(burst 20\)$/);
  });

  it('shows each quota with its use; calls this minute are not counted without a limit (they read "0 (no limit)")', () => {
    const none = { limit: null, used: 0 };
    const lines = contractLines({
      ...limits, workspace: 'acme',
      quotas: { functions: { limit: 20, used: 3 }, instances: none, invocationsPerMinute: none, codeBytes: { limit: 1024 * 1024, used: 2048 }, logBytes: none },
    });
    assert.equal(lines[1], 'Quotas of workspace acme:  functions 3 of 20, instances 0 (no limit), calls this minute not counted (no limit), code 2.0 KiB of 1.0 MiB, logs 0 B (no limit)');
    const limited = contractLines({ ...limits, quotas: { functions: none, instances: none, invocationsPerMinute: { limit: 6000, used: 412 }, codeBytes: none, logBytes: none } });
    assert.match(limited[1]!, /^Quotas of workspace default: .*calls this minute 412 of 6000,/);
  });

  it('shows auth, payload sizes, the async retry policy and retention (the card FUNCTION_MODE.md asks for)', () => {
    const lines = contractLines({
      ...limits, rateLimit: null, auth: 'token', syncPayloadBytes: 6 * 1024 * 1024, asyncPayloadBytes: 256 * 1024,
      retry: { maxAttempts: 5, backoffBaseMs: 1000, backoffMaxMs: 60_000, maxEventAgeMs: 6 * 3_600_000 }, runRetentionMs: 7 * 86_400_000,
    });
    assert.equal(lines[1], 'Contract: auth invoke token, payload 6.0 MiB sync / 256 KiB async, async retries 5 attempts (backoff 1s-1m, given up after 6h), runs and logs kept 168h');
  });
});
