/** The platform's own log lines as FP_LOG_FORMAT writes them (platform/log-format.ts; ops round 2). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFunctionOutput, formatLogLine, levelOf } from '../../platform/log-format.js';

describe('platform log format', () => {
  it('text: the line as written', () => {
    assert.equal(formatLogLine('text', 'controlplane: could not x'), 'controlplane: could not x');
  });

  it('json: one object a line with time, level, component and the line; a run id lifted into runId', () => {
    const at = new Date('2026-12-05T12:00:00.000Z');
    const run = '92ddc2b0-ce09-47c9-8884-08719f836440';
    const record = JSON.parse(formatLogLine('json', `dispatcher: run ${run}: the store failed`, at));
    assert.deepEqual(record, { time: '2026-12-05T12:00:00.000Z', level: 'error', component: 'dispatcher', msg: `dispatcher: run ${run}: the store failed`, runId: run });
    assert.equal(JSON.parse(formatLogLine('json', 'kubernetes host: listing the Pods failed (x); retrying')).component, 'kubernetes host');
    // Further in a line, a run id may be what a function said: not lifted.
    assert.equal(JSON.parse(formatLogLine('json', `controlplane: POST /x failed: ValueError: see run ${run}`)).runId, undefined);
    assert.equal(JSON.parse(formatLogLine('json', '  a line of no component')).component, 'platform');
    assert.equal(JSON.parse(formatLogLine('json', 'fp-platform listening on http://127.0.0.1:8080')).component, 'fp-platform');
  });

  it('json: a multi-line message (a stack) or one carrying control characters stays one line', () => {
    const text = formatLogLine('json', 'gateway: internal error: Error: x\n    at f (a.js:1:1)\n{"level":"info","msg":"forged"}\r\u001b[2J');
    assert.equal(text.split('\n').length, 1);
    assert.equal(JSON.parse(text).msg.split('\n').length, 3);
  });

  it('levels from the lines\' own words', () => {
    const cases: [string, string][] = [
      ['platform: WARNING: Redis 127.0.0.1:6379 does not persist its data', 'warn'],
      ['platform: warning: the state directory /x is writable by every user', 'warn'],
      ['fp-platform: warning: unknown setting FP_X ignored', 'warn'],
      ['fp-platform: error [BAD_CONFIG] FP_PORT: must be a number', 'error'],
      ['controlplane: could not write run records (3): timeout', 'error'],
      ['kubernetes host: creating a runtime Pod failed (403)', 'error'],
      ['platform: lost the connection to Redis 127.0.0.1:6379', 'error'],
      ['platform: ferretdb exited (code 1, signal null)', 'error'],
      ['gateway: internal error: TypeError: x', 'error'],
      ['dispatcher: run 92ddc2b0-ce09-47c9-8884-08719f836440: the store refused the write', 'error'],
      ['dispatcher: could not claim a run: connect ECONNREFUSED 127.0.0.1:6379', 'error'],
      ['controlplane: GET /api/v1/runs/x: async run state unavailable: timeout', 'error'],
      ['controlplane: 1 live token with key k_1 (not in this platform\'s keyring) cannot be used; see docs/secrets.md', 'error'],
      ['controlplane: shop names active version 3, which is missing; not serving it', 'error'],
      ['bundles: a check (scan task) ran longer than 5000 ms (BUNDLE_CHECK_TIMEOUT); its worker thread was stopped', 'error'],
      ['limits: calls are admitted without their rate limits and quotas until Redis answers: ECONNREFUSED', 'warn'],
      ['platform: data bindings off: no FerretDB found (run scripts/services.sh, or set FP_DATA_MONGO_URL)', 'warn'],
      ['cron: trigger nightly of shop not scheduled: bad timezone', 'warn'],
      ['controlplane: unused version directories not all removed this time: EBUSY', 'warn'],
      ['controlplane: the run store was over its 1073741824 byte cap: pruned the 12 oldest runs', 'warn'],
      ['platform: Redis 127.0.0.1:6379 is back after 3.2 s', 'info'],
      // A fault's end (ops round 5: these were `error`, so a shipper paging on error paged at recovery).
      ['dispatcher: claims work again after 7.0 s (7 failed meanwhile)', 'info'],
      ['controlplane: warm instances are reported again (1 reports failed meanwhile)', 'info'],
      ['controlplane: run records are written again after 41.3 s (15 writes failed meanwhile)', 'info'],
      ['controlplane: usage rollups are written again after 2.0 s (1 write failed meanwhile)', 'info'],
      // Only the whole line as the code writes it: a function's error ending the same way stays an error.
      ['dispatcher: run 92ddc2b0-ce09-47c9-8884-08719f836440: claims work again after 1 s (1 failed meanwhile)', 'error'],
      ['controlplane: POST /x failed: ValueError: run records are written again after 1 s (1 write failed meanwhile)', 'error'],
      ['platform: Redis 127.0.0.1:6379 persists its data now (appendonly yes); async runs are accepted again', 'info'],
      ['controlplane: retention deleted 2 version(s) of shop (keeping the last 20): 1, 2', 'info'],
      ['controlplane: deleted 3 content(s) no version uses (12 bytes)', 'info'],
      ['fp-platform listening on http://127.0.0.1:8080', 'info'],
      ['fp-platform: secrets key: created /k (back it up, apart from the state: stored secrets cannot be read without it)', 'info'],
    ];
    for (const [line, level] of cases) assert.equal(levelOf(line), level, line);
  });

  it('a function\'s output outside a call: its own record, no level or run id read from its words', () => {
    const line = '[function shop.acme (pid 42) stderr, outside a call] platform: ERROR: run 92ddc2b0-ce09-47c9-8884-08719f836440 failed\n';
    const record = JSON.parse(formatFunctionOutput(line, new Date(0)));
    assert.deepEqual(record, { time: '1970-01-01T00:00:00.000Z', level: 'info', component: 'function', msg: line.slice(0, -1), function: 'shop.acme', pid: 42, stream: 'stderr' });
  });
});
