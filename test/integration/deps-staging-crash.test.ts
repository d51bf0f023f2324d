/**
 * What a platform killed -9 while it published a dependency site leaves behind: publish freezes
 * the staged tree (folders 0555, files 0444) before renaming it into place, so a kill in between
 * leaves `<root>/.staging/<id>/pub` read-only. The next start's DependencyBuilds.init() removes
 * `.staging`; with a plain rm that failed with EACCES for every user but root, and the platform
 * did not start (a `dev` keeps its folder's deps root across starts: it never started again;
 * reliability round 6, probe-chaos6/nb/repro-stale-staging.sh).
 *
 * Run as the user a `dev` runs as (not root: root passes every mode): as root, the check runs in a
 * child process under uid/gid 65534.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROOT_DIR = join(DIST, '..');
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

describe('dependency builds after a crash mid-publish', () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-deps-staging-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('a read-only staged site left by a killed process is removed at the next start, as a user other than root', () => {
    chmodSync(work, 0o755);
    const root = join(work, 'deps');
    mkdirSync(root);
    if (isRoot) chownSync(root, NOBODY, NOBODY);
    const asUser = isRoot ? { uid: NOBODY, gid: NOBODY } : {};
    // The frozen tree as publish() leaves it between freeze() and rename(), made by that same user.
    const pub = join(root, '.staging', 'b1c2d3', 'pub');
    const freeze = [
      `mkdir -p ${pub}/site/pkg`,
      `echo 'VALUE = 1' > ${pub}/site/pkg/__init__.py`,
      `echo lock > ${pub}/lock.txt`,
      `chmod 444 ${pub}/site/pkg/__init__.py ${pub}/lock.txt`,
      `chmod 555 ${pub}/site/pkg ${pub}/site ${pub}`,
    ].join(' && ');
    const made = spawnSync('/bin/sh', ['-c', freeze], { ...asUser, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const script = [
      `const { DependencyBuilds } = await import(${JSON.stringify(join(DIST, 'controlplane', 'deps', 'index.js'))});`,
      `const opts = { root: ${JSON.stringify(root)}, pythonPath: '/usr/bin/python3', runtimeDir: ${JSON.stringify(join(ROOT_DIR, 'runtime'))}, path: '/usr/bin:/bin' };`,
      'await new DependencyBuilds(opts, null, () => {}).init();',
    ].join('\n');
    const init = spawnSync(process.execPath, ['--input-type=module', '-e', script], { ...asUser, encoding: 'utf8' });
    try {
      assert.equal(init.status, 0, `init failed: ${init.stderr}`);
      assert.equal(existsSync(join(root, '.staging')), false, 'the half-published site is gone');
      assert.deepEqual(readdirSync(root).sort(), ['.inputs']);
    } finally {
      // Left read-only when the check failed: the temporary folder must go all the same.
      spawnSync('chmod', ['-R', 'u+w', root]);
    }
  });
});
