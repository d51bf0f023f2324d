/**
 * The bundle check timeout (issue 8) over real HTTP, with one bundle thread: a 45 MiB upload
 * cannot be parsed, decoded and hashed within a 100 ms `bundleCheckTimeoutMs` (it takes several
 * hundred ms of its thread's time), so it fails with 503 BUNDLE_CHECK_TIMEOUT, its thread is
 * stopped and replaced, and the next upload, a few bytes, is checked by the new thread.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { createFunction, errorOf, fnName, upload, usePlatform } from './platform-harness.js';

const MIB = 1024 * 1024;
const TIMEOUT_MS = 100;
const h = usePlatform({ bundleThreads: 1, bundleCheckTimeoutMs: TIMEOUT_MS });

const MAIN = 'def handler(event, context):\n    return "ok"\n';

describe('bundle check timeout', () => {
  const name = fnName('slow');
  // Five files of 9 MiB (under the default 10 MiB per file and 50 MiB per bundle).
  const large = Buffer.from(JSON.stringify({
    files: [{ path: 'main.py', contentBase64: Buffer.from(MAIN).toString('base64') },
      ...Array.from({ length: 5 }, (_, i) => ({ path: `data/part-${i}.bin`, contentBase64: randomBytes(9 * MIB).toString('base64') }))],
  }));
  before(() => createFunction(h.api, name));

  for (const round of [1, 2]) {
    it(`round ${round}: a check past the timeout fails with 503 BUNDLE_CHECK_TIMEOUT; the next upload succeeds`, async () => {
      const slow = await h.api.call('POST', `/functions/${name}/versions`, large);
      assert.equal(slow.status, 503, JSON.stringify(slow.body));
      assert.deepEqual([errorOf(slow).code, errorOf(slow).limit], ['BUNDLE_CHECK_TIMEOUT', TIMEOUT_MS]);

      // With its one thread stopped and not replaced, this upload would wait forever (or time out
      // with 503): its success shows the replacement thread took it.
      assert.equal(await upload(h.api, name, { 'main.py': `${MAIN}# round ${round}\n` }), round);
    });
  }
});
