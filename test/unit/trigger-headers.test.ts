import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTriggerHeader, withoutTriggerHeaders } from '../../protocol/index.js';

describe('trigger headers (set by the platform only)', () => {
  it('are the four names, spelled with `_` for any `-` too', () => {
    for (const name of ['x-fp-trigger-id', 'x-fp-cron-tick', 'x_fp_trigger_id', 'x_fp_cron_tick', 'x-fp_trigger-id', 'x_fp-cron_tick',
      'x-fp-run-id', 'x-fp-attempt', 'x_fp_run_id', 'x_fp-attempt']) {
      assert.equal(isTriggerHeader(name), true, name);
    }
    for (const name of ['x-fp-trigger', 'x-fp-trigger-ids', 'xfp-trigger-id', 'x-fp-cron-tick2', 'host', '', 'x-fp-trigger-ix', 'x-fp-run-ids', 'x-fp-attempts', 'x-fp-run-ix', 'y-fp-attempt']) {
      assert.equal(isTriggerHeader(name), false, name);
    }
  });

  it('are dropped from a request; the same array comes back when there is none', () => {
    const plain: [string, string][] = [['host', 'a'], ['x-other', 'b']];
    assert.equal(withoutTriggerHeaders(plain), plain);
    const forged: [string, string][] = [['host', 'a'], ['x_fp_trigger_id', 'github'], ['x-fp-cron-tick', 't'], ['x-fp-run-id', 'r'], ['x_fp_attempt', '9'], ['x-other', 'b']];
    assert.deepEqual(withoutTriggerHeaders(forged), [['host', 'a'], ['x-other', 'b']]);
  });
});
