/**
 * bench/attribution.ts: which profile samples count as recording, and recording's share of the
 * work per request (bench/profile.ts prints it; bench/README.md section 4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attribute, recordingGroup, recordingShare, type CpuProfile } from '../../bench/attribution.js';

const ROOT = 'file:///repo';

describe('recording attribution', () => {
  it('classifies run records, the sink and its recorders, store clients and gateway metrics; nothing else', () => {
    assert.equal(recordingGroup('recordRun', `${ROOT}/dist/gateway/invoke.js`), 'run records');
    assert.equal(recordingGroup('invokeHttp', `${ROOT}/dist/gateway/invoke.js`), null);
    assert.equal(recordingGroup('push', `${ROOT}/dist/gateway/runs.js`), 'run records');
    assert.equal(recordingGroup('record', `${ROOT}/dist/controlplane/store/run-sink.js`), 'run sink and recorders');
    assert.equal(recordingGroup('add', `${ROOT}/dist/controlplane/store/metrics/histogram.js`), 'run sink and recorders');
    assert.equal(recordingGroup('(anonymous)', `${ROOT}/dist/controlplane/store/sqlite/runs.js`), 'run sink and recorders');
    assert.equal(recordingGroup('get', `${ROOT}/dist/controlplane/store/sqlite/functions.js`), null);
    assert.equal(recordingGroup('exec', `${ROOT}/node_modules/better-sqlite3/lib/methods/wrappers.js`), 'store clients');
    assert.equal(recordingGroup('serialize', `${ROOT}/node_modules/bson/lib/bson.cjs`), 'store clients');
    assert.equal(recordingGroup('inc', `${ROOT}/node_modules/prom-client/lib/counter.js`), 'gateway metrics');
    assert.equal(recordingGroup('send', `${ROOT}/dist/gateway/uws-adapter.js`), null);
    assert.equal(recordingGroup('(garbage collector)', ''), null);
  });

  it('counts only the samples inside the window, idle apart, per request', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '' } },
        { id: 2, callFrame: { functionName: 'recordRun', url: `${ROOT}/dist/gateway/invoke.js` } },
        { id: 3, callFrame: { functionName: 'send', url: `${ROOT}/dist/gateway/uws-adapter.js` } },
      ],
      startTime: 1_000,
      // sample times 1010 (before the window), 1030, 1060, 1100, 1200 (after it)
      samples: [3, 2, 3, 1, 2],
      timeDeltas: [10, 20, 30, 40, 100],
    };
    const a = attribute(profile, 1_020, 1_150, 10);
    assert.equal(a.busyUs, (20 + 30) / 10); // the idle sample at 1100 is not busy
    assert.deepEqual([...a.groups], [['run records', 20 / 10]]);
  });

  it('applies the sampled share to the measured CPU and adds the stores', () => {
    const a = { groups: new Map([['run records', 1], ['gateway metrics', 1]] as const), busyUs: 40 };
    const s = recordingShare(a, 50, 70, 2);
    assert.equal(s.recordingUs, (2 / 40) * 50 + 2);
    assert.equal(s.totalUs, 72);
    assert.ok(Math.abs(s.share - 4.5 / 72) < 1e-12);
    assert.equal(recordingShare({ groups: new Map(), busyUs: 0 }, 0, 0, 0).share, 0);
  });
});
