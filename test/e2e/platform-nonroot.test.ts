/**
 * A platform that does not run as root (the homelab case, issue 8): started as `nobody` with
 * setpriv, it boxes functions in user namespaces. The box must hold as it does for root: no
 * capabilities, no_new_privs, seccomp, nothing of the host or the platform's state visible.
 * Needs root to drop to nobody, and a system Python (nobody cannot reach the repository's venv
 * interpreter under /root); the venv made here borrows msgpack from the repository's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/runtime-process.js';
import { Api, deployed, py } from './platform-harness.js';

const NOBODY = 65534;
const SYSTEM_PYTHON = '/usr/bin/python3';
const skip = process.geteuid?.() !== 0 ? 'needs root (to start the platform as nobody)'
  : !existsSync(SYSTEM_PYTHON) ? `no ${SYSTEM_PYTHON} to build a venv nobody can run` : false;

const PROBE = py(
  'import os',
  'def handler(event, context):',
  '    status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)',
  '    readable = []',
  '    for path in event["query"].get("paths", "").split(","):',
  '        try:',
  '            os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)',
  '            readable.append(path)',
  '        except OSError:',
  '            pass',
  '    try:',
  '        os.kill(int(event["query"]["platform"]), 0); signalled = True',
  '    except OSError:',
  '        signalled = False',
  '    return {"uid": os.getuid(), "caps": [status[k].strip() for k in ("CapPrm", "CapEff", "CapBnd")],',
  '            "nnp": status["NoNewPrivs"].strip(), "seccomp": status["Seccomp"].strip(),',
  '            "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()), "readable": readable, "signalled": signalled}',
);

describe('a platform not running as root (user-namespace sandbox)', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let child: ChildProcess;
  let api: Api;
  let url: string;
  let stateDir: string;
  let stale = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-nonroot-'));
    chmodSync(dir, 0o755);
    const venv = join(dir, 'venv');
    execFileSync(SYSTEM_PYTHON, ['-m', 'venv', '--without-pip', venv]);
    const minor = execFileSync(SYSTEM_PYTHON, ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'], { encoding: 'utf8' }).trim();
    cpSync(join(repoRoot(), '.venv', 'lib', `python${minor}`, 'site-packages', 'msgpack'), join(venv, 'lib', `python${minor}`, 'site-packages', 'msgpack'), { recursive: true });
    // A template root left in /tmp by a root platform that was killed (0700, root's): nobody
    // cannot remove it, and that must not keep the platform from starting (CI saw START_FAILED).
    const dead = spawnSync('true').pid!;
    stale = join(tmpdir(), `fp-tpl-${dead}-1`);
    mkdirSync(join(stale, 'x'), { recursive: true, mode: 0o700 });
    stateDir = join(dir, 'state');
    const home = join(dir, 'home');
    for (const d of [stateDir, home]) {
      execFileSync('mkdir', ['-p', d]);
      chownSync(d, NOBODY, NOBODY);
    }
    child = spawn('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups',
      process.execPath, join(repoRoot(), 'dist', 'platform', 'main.js'), '--port', '0', '--state-dir', stateDir], {
      env: { PATH: '/usr/bin:/bin', HOME: home, FP_PYTHON: join(venv, 'bin', 'python'), FP_POOL_SIZE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { out += s; });
    const deadline = Date.now() + 20_000;
    while (!/admin token: (\S+)/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const token = /admin token: (\S+)/.exec(out)?.[1];
    url = /listening on (\S+)/.exec(out)?.[1] ?? '';
    assert.ok(token !== undefined && url !== '', `the platform did not start as nobody:\n${out}`);
    assert.match(out, /sandbox: user namespaces/);
    api = new Api(url, token);
  });
  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (stale) rmSync(stale, { recursive: true, force: true });
  });

  it('reports the user-namespace sandbox in /readyz', async () => {
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { sandbox: { mode: string; unsafe: boolean } };
    assert.equal(ready.sandbox.mode, 'userns');
    assert.equal(ready.sandbox.unsafe, false);
  });

  it('boxes a function: uid 1000 inside, no capabilities, no_new_privs, seccomp, no host process or state reachable', async () => {
    await deployed(api, 'probe', { 'main.py': PROBE });
    const platformPid = child.pid!;
    const paths = [join(stateDir, 'platform.db'), stateDir, join(dir, 'home'), `/proc/${platformPid}/environ`].join(',');
    const res = await fetch(`${url}/fn/probe/?platform=${platformPid}&paths=${encodeURIComponent(paths)}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { uid: number; caps: string[]; nnp: string; seccomp: string; pids: number[]; readable: string[]; signalled: boolean };
    assert.equal(body.uid, 1000);
    assert.deepEqual(body.caps, ['0000000000000000', '0000000000000000', '0000000000000000']);
    assert.equal(body.nnp, '1');
    assert.equal(body.seccomp, '2');
    assert.ok(body.pids.every((pid) => pid < 100), `host pids visible: ${body.pids}`);
    assert.deepEqual(body.readable, []);
    assert.equal(body.signalled, false);
  });
});
