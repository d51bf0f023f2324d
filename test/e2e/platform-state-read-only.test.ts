/**
 * A state directory, or a SQLite file in it, that cannot be written (reliability round 9): SQLite
 * opens a file it may not write read-only without a word, so a platform.db made immutable (or
 * 0444 for a non-root user, or another user's) started and served, every change failing "attempt
 * to write a readonly database"; an async.db so stopped the start with START_FAILED naming no file;
 * a read-only mount stopped it with START_FAILED "EROFS". Now the start stops: exit 1,
 * `fp-platform: error [STATE_READ_ONLY]` naming the file or the directory. Root only: `chattr +i`
 * and a read-only bind mount are how a root platform meets a file it may not write.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { started, startMain, type Proc } from './main-harness.js';
import { Api, deployed, py } from './platform-harness.js';

const skip = process.getuid?.() === 0 ? false : 'chattr +i and bind mounts need root';

/** The start must stop; before the fix it could serve: fail then instead of waiting for ever. */
async function refused(proc: Proc, what: string): Promise<string> {
  const served = started(proc).then(() => true, () => new Promise<never>(() => {}));
  if (await Promise.race([served, proc.exited.then(() => false)])) {
    proc.child.kill('SIGKILL');
    assert.fail(`the platform started on ${what}`);
  }
  const ended = await proc.exited;
  assert.equal(ended.code, 1, ended.stdout + ended.stderr);
  assert.match(ended.stderr, /fp-platform: error \[STATE_READ_ONLY\] /);
  assert.doesNotMatch(ended.stderr, /\n\s+at /, 'no stack trace');
  return ended.stderr;
}

describe('a state directory that cannot be written', { skip, timeout: 120_000 }, () => {
  let stateDir = '';
  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fp-read-only-'));
    const first = startMain(['--state-dir', stateDir, '--port', '0']);
    const { url, token } = await started(first);
    await deployed(new Api(url, token ?? null), 'hello', { 'main.py': py('def handler(event, context):', '    return {"ok": 1}') });
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
  });
  after(() => {
    if (stateDir !== '') rmSync(stateDir, { recursive: true, force: true });
  });

  for (const file of ['platform.db', 'async.db', 'cron-ticks.db']) {
    it(`${file} made immutable: the start stops with STATE_READ_ONLY naming it`, async () => {
      const path = join(stateDir, file);
      execFileSync('chattr', ['+i', path]);
      try {
        const stderr = await refused(startMain(['--state-dir', stateDir, '--port', '0']), `an immutable ${file}`);
        assert.ok(stderr.includes(path), stderr);
      } finally {
        execFileSync('chattr', ['-i', path]);
      }
    });
  }

  it('on a read-only mount: the start stops with STATE_READ_ONLY naming the directory', async () => {
    execFileSync('mount', ['--bind', stateDir, stateDir]);
    try {
      execFileSync('mount', ['-o', 'remount,ro,bind', stateDir]);
      const stderr = await refused(startMain(['--state-dir', stateDir, '--port', '0']), 'a read-only mount');
      assert.ok(stderr.includes(stateDir), stderr);
    } finally {
      execFileSync('umount', [stateDir]);
    }
  });

  // New-user round 13: a directory this user cannot make (a service user, /var/lib root's, no
  // StateDirectory=), or a file where it should be, was `[START_FAILED] EACCES: … mkdir …` / `EEXIST`.
  it('a state directory that cannot be made: STATE_READ_ONLY naming the folder and install -d; a file in its place: BAD_CONFIG', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'fp-read-only-parent-'));
    try {
      execFileSync('chattr', ['+i', parent]);
      try {
        const stderr = await refused(startMain(['--state-dir', join(parent, 'state'), '--port', '0']), 'a folder it may not write');
        assert.match(stderr, new RegExp(`the state directory ${parent}/state cannot be created: this user may not make folders in ${parent} \\(EPERM\\).*install -d -m 0700 -o <user> ${parent}/state`));
      } finally {
        execFileSync('chattr', ['-i', parent]);
      }
      writeFileSync(join(parent, 'file'), '');
      const ended = await startMain(['--state-dir', join(parent, 'file', 'state'), '--port', '0']).exited;
      assert.equal(ended.code, 1, ended.stderr);
      assert.match(ended.stderr, new RegExp(`\\[BAD_CONFIG\\] the state directory ${parent}/file/state cannot be a directory: ${parent}/file is a file`));
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('made writable again, it starts and serves, no repair needed', async () => {
    const proc = startMain(['--state-dir', stateDir, '--port', '0']);
    const { url } = await started(proc);
    assert.deepEqual(await (await fetch(`${url}/fn/hello/`)).json(), { ok: 1 });
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exited).code, 0);
  });
});
