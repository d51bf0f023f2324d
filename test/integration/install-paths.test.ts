/**
 * The platform installed where its user puts it (runtime/fp_sandbox/install.py, ADR 0112): the
 * runtimes' interpreter and runtime/ bound (in a mount namespace of the test's own: nothing is
 * mounted on the host) under /var/lib, /var/tmp and /code, then a box built from there. A box of a
 * platform under /var failed EEXIST on its own /var (new-user round 14: every runtime of a clone at
 * /var/lib/…); one under /code is refused, naming the collision, by the box and at start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkInstallPath } from '../../platform/install-path.js';
import { defaultPoolConfig } from '../../poolmgr/index.js';

const config = defaultPoolConfig();
const runtimeDir = dirname(config.runtimeEntry);
const venv = dirname(dirname(config.pythonPath));
const isRoot = process.getuid?.() === 0;

/** In the box: the interpreter's prefix and executable still there, a package and a stdlib module imported afresh, what /var/tmp is. */
const PROBE = `
import json, os, sys
sys.path.insert(0, sys.argv[1])
from fp_sandbox.keeper import start
box = start({"mode": "root", "net": "none", "tmpBytes": 16 << 20}, 3)
import decimal, msgpack
out = {"prefix": os.path.isdir(sys.prefix), "exe": os.path.exists(sys.executable),
       "varTmp": os.path.realpath("/var/tmp"), "msgpack": msgpack.__file__.startswith(sys.prefix)}
os.write(3, json.dumps(out).encode())
`;

const made: string[] = [];
after(() => {
  for (const dir of made.reverse()) rmSync(dir, { recursive: true, force: true });
});

/** `top` made on the host (removed after), the .venv and runtime/ bound under it in a namespace of the run's own. */
function installAt(top: string): { python: string; runtime: string; wrap: (argv: string[]) => string[] } {
  for (const dir of [dirname(top), top]) {
    if (!existsSync(dir)) {
      mkdirSync(dir);
      made.push(dir);
    }
  }
  mkdirSync(join(top, '.venv'));
  mkdirSync(join(top, 'runtime'));
  const wrap = (argv: string[]): string[] => [
    '--mount', '--propagation', 'private', 'sh', '-c',
    'mount --bind "$1" "$2" && mount --bind "$3" "$4" && shift 4 && exec "$@"', 'sh',
    venv, join(top, '.venv'), runtimeDir, join(top, 'runtime'), ...argv,
  ];
  return { python: join(top, '.venv', 'bin', 'python'), runtime: join(top, 'runtime'), wrap };
}

async function run(argv: string[]): Promise<{ out: string; err: string; code: number | null }> {
  const child = spawn('unshare', argv, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdio[3]!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { out, err, code };
}

describe('the platform installed where its user puts it', { skip: isRoot ? false : 'needs root (bind mounts, the root-mode box)' }, () => {
  const name = `newuser14-test-${randomBytes(4).toString('hex')}`;

  for (const top of [`/var/lib/${name}`, `/var/tmp/${name}`]) {
    it(`a box starts with the interpreter and runtime under ${dirname(top)}`, async () => {
      const at = installAt(top);
      const { out, err } = await run(at.wrap([at.python, '-I', '-c', PROBE, at.runtime]));
      assert.ok(out !== '', err);
      const seen = JSON.parse(out) as { prefix: boolean; exe: boolean; varTmp: string; msgpack: boolean };
      assert.deepEqual({ prefix: seen.prefix, exe: seen.exe, msgpack: seen.msgpack }, { prefix: true, exe: true, msgpack: true });
      // The box's /var/tmp is its own /tmp, unless the platform lives under the host's /var/tmp.
      assert.equal(seen.varTmp, top.startsWith('/var/tmp/') ? '/var/tmp' : '/tmp');
    });
  }

  it('a box starts with the interpreter reached through a symlinked folder (FP_PYTHON=/srv/app-link/.venv/bin/python)', async () => {
    const top = `/var/lib/${name}-real`;
    const at = installAt(top);
    const link = `/srv/${name}-link`;
    symlinkSync(top, link);
    made.push(link);
    const { out, err } = await run(at.wrap([join(link, '.venv', 'bin', 'python'), '-I', '-c', PROBE, at.runtime]));
    assert.ok(out !== '', err);
    // Its sys.prefix is the link's path: the box has the link, so the prefix, its packages and the executable resolve.
    assert.deepEqual(JSON.parse(out), { prefix: true, exe: true, varTmp: '/tmp', msgpack: true });
  });

  it('one under /code is refused, naming the collision: by the box, and at start (INSTALL_PATH_COLLIDES)', async () => {
    const at = installAt(`/code/${name}`);
    const boxed = await run(at.wrap([at.python, '-I', '-c', PROBE, at.runtime]));
    assert.equal(boxed.out, '');
    assert.match(boxed.err, /InstallPathCollision: \/code\/newuser14-test-\S+ .*collides with \/code,/);
    // The start check, as the platform runs it (its interpreter and runtime/ seen there).
    const started = await run(at.wrap([process.execPath, '--input-type=module', '-e',
      `import { checkInstallPath } from ${JSON.stringify(new URL('../../platform/install-path.js', import.meta.url).href)};
       checkInstallPath(process.argv[1], process.argv[2]).then(() => console.log('started'), (e) => console.log(e.code, e.message));`,
      at.python, at.runtime]));
    assert.match(started.out, /^INSTALL_PATH_COLLIDES .*\/code\/newuser14-test-\S+ .*collides with \/code, .*install the platform .* elsewhere/, started.err);
  });

  it('the platform where it is now passes the start check', async () => {
    await checkInstallPath(config.pythonPath, runtimeDir, ['/tmp/newuser14-state', join(venv, '..', '.state')]);
  });

  it('a state directory or key file inside what a box shows (the .venv, runtime/, the interpreter\'s prefix) is refused at start', async () => {
    for (const own of [join(runtimeDir, 'state'), join(venv, 'keys', 'secrets.key')]) {
      await assert.rejects(checkInstallPath(config.pythonPath, runtimeDir, ['/tmp/newuser14-state', own]), (err: { code?: string; message: string }) => {
        assert.equal(err.code, 'INSTALL_PATH_COLLIDES');
        assert.ok(err.message.includes(`${own} (the platform's state or keys) is inside`), err.message);
        return true;
      });
    }
  });
});

describe('the collision rule (install.py `collisions`)', () => {
  it('at, under or above a mount point of the box collides; /tmp, /var, /etc, /run/user, /srv, /build, /check do not', async () => {
    const cases = ['/code', '/code/app/.venv', '/deps/x', '/run/fp-data', '/run', '/', '/.fp/x', '/proc/1', '/run/fp-build/fp', '/run/fp-wheels',
      '/build/fp', '/wheels', '/check/work/main', '/tmp/fp', '/var/lib/fp', '/var/tmp/fp', '/etc/fp', '/run/user/0/fp', '/srv/fp fp', '/codes/fp', '/opt/deps'];
    const script = `import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom fp_sandbox.install import collisions\n` +
      `print(json.dumps({p: [t for _, t in collisions([p])] for p in json.loads(sys.argv[2])}))`;
    const child = spawn(config.pythonPath, ['-I', '-c', script, runtimeDir, JSON.stringify(cases)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    await new Promise((resolve) => child.on('close', resolve));
    const found = JSON.parse(out) as Record<string, string[]>;
    const colliding = Object.keys(found).filter((p) => found[p]!.length > 0);
    assert.deepEqual(colliding, ['/code', '/code/app/.venv', '/deps/x', '/run/fp-data', '/run', '/', '/.fp/x', '/proc/1', '/run/fp-build/fp', '/run/fp-wheels']);
    assert.deepEqual(found['/run'], ['/run/fp-data', '/run/fp-tpl', '/run/fp-check', '/run/fp-build', '/run/fp-wheels']);
  });
});
