/**
 * Loose ends round 11: the code check behind `POST /validate` and every upload (ADR 0248) parses
 * code anyone with a token sends. It ran as the platform's own process (root here, with the state
 * directory, its keys and every socket in reach); now it runs in a box like a runtime's
 * (runtime/validate.py `--box`). An upload cannot make `ast` do I/O, so this looks at the box from
 * the host while a slow check runs: its uid, its namespaces, its root (the state directory is not
 * in it), its capabilities, seccomp, and its cgroup's memory and tasks limits.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BOX_DIR } from '../../controlplane/service/check-zygote.js';
import { processesOfUid } from '../helpers/processes.js';
import { started, startMain } from './main-harness.js';
import { Api } from './platform-harness.js';

/** The builder's uid of this test's own: the check's box takes it (nothing else on the host runs as it). */
const BOX_UID = 599_973;

/** A cgroup v1 controller's (or v2's) leaf file of `pid`, or null. */
function cgroupFile(pid: number, controller: string, file: string): string | null {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [, names, path] = line.split(':');
    if (names === undefined || path === undefined) continue;
    const v1 = names.split(',').includes(controller) ? `/sys/fs/cgroup/${controller}${path}/${file}` : null;
    const v2 = names === '' ? `/sys/fs/cgroup${path}/${file.replace('limit_in_bytes', 'max')}` : null;
    for (const candidate of [v1, v2]) if (candidate !== null && existsSync(candidate)) return readFileSync(candidate, 'utf8').trim();
  }
  return null;
}

describe('attack: the code check runs in a box, not as the platform', { skip: process.getuid?.() !== 0 ? 'needs root (root-mode sandbox)' : false, timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-check-box-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const stateDir = join(work, 'state');

  it('a slow check is its own uid, in its own namespaces, without the state directory, under memory and tasks limits', async () => {
    const main = startMain(['--state-dir', stateDir, '--port', '0'], { FP_DEPS_BUILDER_UID: String(BOX_UID) });
    after(async () => {
      main.child.kill('SIGTERM');
      await main.exited;
    });
    const { url, token } = await started(main);
    const api = new Api(url, token!);
    // ~48 KiB of statements: seconds of the check's CPU (attack-code-checks), time to look at it.
    const answer = api.call('POST', '/validate', { files: [{ path: 'main.py', content: 'x=1\n'.repeat(12_000) }] });
    let pids: number[] = [];
    const deadline = Date.now() + 20_000;
    // The box's pid 2 (the check itself) is the one running validate.py's parse as BOX_UID.
    while (Date.now() < deadline && (pids = processesOfUid(BOX_UID)).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(pids.length > 0, 'no process of the check ran as the box uid (it ran as the platform)');
    const pid = pids[0]!;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /^CapEff:\s+0+$/m, 'the check has no capabilities');
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^Seccomp:\s+2$/m, 'the check is under a seccomp filter');
    for (const ns of ['net', 'mnt', 'pid', 'ipc', 'uts']) {
      assert.notEqual(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), `the check shares the host's ${ns} namespace`);
    }
    // Its root is the box's: the state directory (keys, stores, every version's code) is not there.
    assert.equal(existsSync(`/proc/${pid}/root${stateDir}`), false, 'the state directory is in the check\'s view');
    // The check's files at BOX_DIR/<n> (the warmed checker's folder: one check's at a time).
    assert.ok(readdirSync(`/proc/${pid}/root${BOX_DIR}`).some((n) => existsSync(`/proc/${pid}/root${BOX_DIR}/${n}/main.py`)), 'the checked file is under BOX_DIR');
    const memory = Number(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'));
    assert.ok(memory > 0 && memory <= 600 * 1024 * 1024, `the check's cgroup memory limit is ${memory}`);
    const tasks = cgroupFile(pid, 'pids', 'pids.max');
    assert.ok(tasks !== null && tasks !== 'max', `the check's cgroup has no tasks limit (${tasks})`);
    const done = await answer;
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.python.checked, 1, JSON.stringify(done.body)); // checked (it has no handler: a problem, not a failure)
  });
});
