/**
 * The start-up sweep of `<tmp>/fp-zygote-*` and `<tmp>/fp-tpl-*` (poolmgr/host/owned-dirs.ts)
 * removes only directories this user made (red team round 26). The names are anyone's to pick in
 * a shared TMPDIR: another local user planted `fp-zygote-default-<a dead pid>-1` holding a folder
 * of 20 000 files and, once root's sweep was inside it, swapped the folder for a symlink; the
 * recursive removal then went through the link and root removed the directory it named
 * (/work/probe-red26/race.sh). A directory of another user's, one others may write in, or any in
 * a TMPDIR where others could rename ours, is left alone now.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { makeOwnedDir } from '../../poolmgr/host/owned-dirs.js';
import { PID_NS_SUFFIX } from '../../poolmgr/host/host-pids.js';

const PREFIX = 'fp-zygote-red26';
/** A pid no process has (pid_max is at most 2^22). */
const DEAD_PID = 4_194_304 + 7;
const isRoot = process.getuid?.() === 0;

/** A shared-looking TMPDIR (mode `mode`) for one test; makeOwnedDir made in it, then removed. */
function withTmp(t: TestContext, mode: number): string {
  const base = mkdtempSync(join(tmpdir(), 'fp-red26-od-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const tmp = join(base, 'tmp');
  mkdirSync(tmp);
  chmodSync(tmp, mode);
  return tmp;
}

/** makeOwnedDir(PREFIX) with TMPDIR = `tmp`; its own directory is removed again. */
function sweep(tmp: string): void {
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = tmp;
  try {
    rmSync(makeOwnedDir(PREFIX), { recursive: true });
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
}

/** A stale-looking `<tmp>/<PREFIX>-<dead pid>-<n>-<ns>` holding one file. */
function stale(tmp: string, n: number): string {
  const dir = join(tmp, `${PREFIX}-${DEAD_PID}-${n}${PID_NS_SUFFIX}`);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, 'z.sock'), '');
  return dir;
}

describe('owned directories: what the start-up sweep removes', () => {
  it('a killed platform\'s own directory goes (as before)', (t) => {
    const tmp = withTmp(t, 0o1777);
    const mine = stale(tmp, 1);
    sweep(tmp);
    assert.equal(existsSync(mine), false);
  });

  it('a directory another user made under such a name stays: root does not walk what someone else can change under it', { skip: !isRoot && 'needs root (chown)' }, (t) => {
    const tmp = withTmp(t, 0o1777);
    const planted = stale(tmp, 1);
    chownSync(planted, 65534, 65534);
    const victim = join(tmp, '..', 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'important'), 'x');
    symlinkSync(victim, join(planted, 'sub')); // what a swap mid-walk would leave
    sweep(tmp);
    assert.equal(existsSync(planted), true, 'the other user\'s directory is not the platform\'s to remove');
    assert.equal(existsSync(join(victim, 'important')), true);
  });

  it('one that others may write in stays (it was not made by makeOwnedDir, 0700)', (t) => {
    const tmp = withTmp(t, 0o1777);
    const open = stale(tmp, 1);
    chmodSync(open, 0o777);
    sweep(tmp);
    assert.equal(existsSync(open), true);
  });

  it('in a TMPDIR others may write in without the sticky bit (they could rename ours mid-walk) nothing is swept', (t) => {
    const tmp = withTmp(t, 0o777);
    const mine = stale(tmp, 1);
    sweep(tmp);
    assert.equal(existsSync(mine), true);
  });
});
