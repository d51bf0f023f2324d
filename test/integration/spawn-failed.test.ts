/**
 * A spawn that failed (no such program; EMFILE the same way) and is killed before its 'error' event:
 * Node's kill() then sends the signal to pid 0, the caller's own process group (chaos round 8: the
 * platform, and the shell it was started from, took the SIGKILL meant for a runtime that never
 * started). `spawnedWithoutFds` disarms it. Run in a process group of its own, so a failure here
 * never reaches the test runner.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

// The one file, not the index: with the index loaded first, the failed handle's pid was not always 0 (so a bare kill() signalled another pid, or none).
const PROTOCOL = fileURLToPath(new URL('../../protocol/spawn-failed.js', import.meta.url));

function run(guarded: boolean): { status: number | null; signal: string | null; stdout: string } {
  const script = `
    import { spawn } from 'node:child_process';
    import { spawnedWithoutFds } from ${JSON.stringify(PROTOCOL)};
    const child = spawn('/nonexistent/fp-no-such-program', [], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', () => {});
    ${guarded ? 'spawnedWithoutFds(child);' : ''}
    child.kill('SIGKILL');
    setTimeout(() => console.log('alive'), 100);
  `;
  // setsid: the script leads its own group, the one a stray kill(0) would signal.
  const res = spawnSync('setsid', ['--wait', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: res.status, signal: res.signal, stdout: res.stdout };
}

describe('a failed spawn, killed at once', { skip: process.platform !== 'linux' && 'needs setsid' }, () => {
  it('signals nothing once guarded (run by hand without the guard from a shell, `setsid node x.mjs`, the process killed itself)', () => {
    const guarded = run(true);
    assert.equal(guarded.stdout.trim(), 'alive', JSON.stringify(guarded));
    assert.equal(guarded.status, 0);
  });
});
