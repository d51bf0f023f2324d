/**
 * The ASGI call's early send (a complete response goes out before background work) without a loop
 * callback per call (fp_runtime/asgi.py `_drive`; bench/README.md, "One connection, again"): a
 * response completed in the app's last step schedules nothing on the loop (under uvloop each such
 * callback cost a loop turn and a zero-timeout epoll_wait after the reply), and one completed
 * before background work, by the app or by another of its tasks, still goes out before it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pythonPath } from '../../cli/python.js';
import { repoRoot } from '../helpers/runtime-process.js';

interface Out {
  plain: { status: number; body: string; scheduled: string[]; log: unknown[] };
  background: { streamed: boolean; log: [string, string | null][] };
  otherTask: { streamed: boolean; log: [string, string | null][] };
  cancel: string[];
}

describe('asgi.call and the loop', () => {
  const script = join(repoRoot(), 'test', 'integration', 'asgi-loop-turns.py');
  const out = JSON.parse(execFileSync(pythonPath(undefined), [script, join(repoRoot(), 'runtime')], { encoding: 'utf8' })) as Out;

  it('a response completed in the app\'s last step schedules no callback on the loop', () => {
    assert.equal(out.plain.status, 200);
    assert.equal(out.plain.body, 'ok');
    assert.deepEqual(out.plain.scheduled, []);
  });

  it('a response completed before background work goes out before it, sent by the app or by another of its tasks', () => {
    for (const c of [out.background, out.otherTask]) {
      assert.equal(c.streamed, true);
      assert.deepEqual(c.log, [['sent', 'response'], ['background', null]]);
    }
  });

  it('a cancellation of the call reaches the app\'s own await', () => {
    assert.deepEqual(out.cancel, ['cancelled', 'task cancelled']);
  });
});
