/**
 * FP_ADMIN_TOKEN_FILE (ADR 0135; new-user round 5): the admin token a start issues goes to a 0600
 * file, not into the banner, which a service's log (the journal, a log shipper) keeps. Before, the
 * systemd unit's first start left the admin token in the journal, readable by the `adm` group.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Api, errorOf } from './platform-harness.js';
import { started, startMain, type Proc } from './main-harness.js';

async function stop(proc: Proc): Promise<string> {
  proc.child.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
  return exit.stdout + exit.stderr;
}

describe('FP_ADMIN_TOKEN_FILE', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-admin-token-file-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const file = join(work, 'etc', 'admin-token');
  const stateDir = join(work, 'state');

  it('writes the first admin token to the file (0600) and keeps it out of the log; a rotation replaces it', async () => {
    mkdirSync(join(work, 'etc'), { mode: 0o700 });
    const first = startMain(['--state-dir', stateDir, '--port', '0'], { FP_ADMIN_TOKEN_FILE: file });
    const { url, token: shown } = await started(first);
    assert.equal(shown, undefined, 'no token in the banner');
    const token = readFileSync(file, 'utf8').trim();
    assert.match(token, /^fpa_/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((await new Api(url, token).call('GET', '/functions')).status, 200, 'the written token is the admin token');
    const log = await stop(first);
    assert.ok(!log.includes(token), 'the token is nowhere in the output');
    assert.match(log, new RegExp(`admin token: written to ${file} \\(mode 0600`));

    const rotated = startMain(['--state-dir', stateDir, '--port', '0', '--rotate-admin-token'], { FP_ADMIN_TOKEN_FILE: file });
    const again = await started(rotated);
    const fresh = readFileSync(file, 'utf8').trim();
    assert.ok(fresh !== token && fresh.startsWith('fpa_'));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const stale = await new Api(again.url, token).call('GET', '/functions');
    assert.deepEqual([stale.status, errorOf(stale).code], [401, 'ADMIN_TOKEN_INVALID']);
    assert.equal((await new Api(again.url, fresh).call('GET', '/functions')).status, 200);
    assert.ok(!(await stop(rotated)).includes(fresh));
  });

  it('shows the token, with a warning, when the file cannot be written (the token is never lost)', async () => {
    const proc = startMain(['--state-dir', join(work, 'state2'), '--port', '0'], { FP_ADMIN_TOKEN_FILE: join(work, 'no-such-folder', 'admin-token') });
    const { url, token } = await started(proc);
    assert.ok(token !== undefined, proc.stdout());
    assert.match(proc.stdout(), /warning: the admin token could not be written to FP_ADMIN_TOKEN_FILE .*no-such-folder\/admin-token \(ENOENT\): shown here instead/);
    assert.equal((await new Api(url, token).call('GET', '/functions')).status, 200);
    await stop(proc);
  });
});
