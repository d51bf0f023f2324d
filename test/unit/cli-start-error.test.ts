/** How the CLI reports a platform start that failed (`up`, `dev`): cli/start-error.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, EXIT } from '../../cli/errors.js';
import { startError } from '../../cli/start-error.js';
import { isDiskFull, PlatformError } from '../../protocol/index.js';

describe('startError', () => {
  it('a full disk is STORAGE_FULL with what to do, not an unexpected error (reliability round, 2026-12-05)', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL']) {
      const err = Object.assign(new Error(`${code}: no space left on device, write`), { code });
      assert.ok(isDiskFull(err));
      const out = startError(err, 8080);
      assert.ok(out instanceof CliError);
      assert.equal(out.code, 'STORAGE_FULL');
      assert.equal(out.exitCode, EXIT.FAILURE);
      assert.match(out.message, /disk holding the state directory is full .*free some space/);
    }
  });
  it('a port in use says what to do; a platform error keeps its code; anything else stays unexpected', () => {
    const listen = startError(new PlatformError('LISTEN_FAILED', 'port 8080 is in use'), 8080) as CliError;
    assert.equal(listen.code, 'LISTEN_FAILED');
    assert.match(listen.message, /--port N/);
    assert.equal((startError(new PlatformError('STATE_DIR_IN_USE', 'in use'), undefined) as CliError).code, 'STATE_DIR_IN_USE');
    const bug = new TypeError('x is undefined');
    assert.equal(startError(bug, 1), bug);
    assert.equal(isDiskFull(bug), false);
  });
});
