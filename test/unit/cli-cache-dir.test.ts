/**
 * dev's dependency cache is used only where no other local user can change it (cli/dev/cache-dir.ts,
 * red team 13): the sites in it are imported by the folder's functions at the next start.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { privateCacheDir, usableCacheDir } from '../../cli/dev/cache-dir.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'fp-cache-dir-')));
after(() => rmSync(root, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

function problem(path: string): string {
  const checked = privateCacheDir(path);
  assert.ok('problem' in checked, `${path} was taken`);
  return checked.problem;
}

describe('privateCacheDir', () => {
  it('makes a missing cache owner-only and takes it', () => {
    const path = join(root, 'own', 'cache', 'dev', 'abc', 'deps');
    assert.deepEqual(privateCacheDir(path), { path });
  });

  it('refuses a cache under a folder others can write (a shared FP_CACHE_DIR), however deep', () => {
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    assert.match(problem(join(shared, 'dev', 'abc', 'deps')), /shared can be written by other users \(mode 777\)/);
  });

  it('refuses a cache folder others can write, even sticky; takes one below a sticky folder (/tmp)', () => {
    const sticky = join(root, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    assert.match(problem(sticky), /can be written by other users \(mode 1777\)/);
    const mine = join(sticky, 'mine', 'deps');
    assert.deepEqual(privateCacheDir(mine), { path: mine });
    chmodSync(mine, 0o770);
    assert.match(problem(mine), /mode 770/);
  });

  it('refuses a cache in a folder of another user, and makes nothing there', { skip: isRoot ? false : 'needs root to give a folder away' }, () => {
    const theirs = join(root, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    chmodSync(theirs, 0o755);
    chownSync(theirs, 65534, 65534);
    assert.match(problem(join(theirs, 'dev', 'deps')), /theirs belongs to another user \(uid 65534\)/);
    assert.equal(existsSync(join(theirs, 'dev')), false, 'a folder was made in the other user\'s');
  });

  it('answers the real path of a cache behind a symbolic link, and checks that one', () => {
    const target = join(root, 'target');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(root, 'link'));
    assert.deepEqual(privateCacheDir(join(root, 'link', 'deps')), { path: join(target, 'deps') });
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    symlinkSync(open, join(root, 'link2'));
    assert.match(problem(join(root, 'link2', 'deps')), /open can be written/);
  });
});

describe('usableCacheDir', () => {
  it('takes a private cache it can write, leaving no probe behind; refuses one it cannot make (a file in its place) with why', () => {
    const path = join(root, 'usable', 'deps');
    assert.deepEqual(usableCacheDir(path), { path });
    assert.deepEqual(readdirSync(path), []);
    writeFileSync(join(root, 'afile'), 'not a directory');
    const refused = usableCacheDir(join(root, 'afile', 'deps'));
    assert.ok('problem' in refused && refused.problem.length > 0, JSON.stringify(refused));
  });
});
