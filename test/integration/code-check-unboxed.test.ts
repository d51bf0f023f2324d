/**
 * The code check where it has no box: the Kubernetes runtime host (`pod`) and `--unsafe-no-sandbox`
 * (ADR 0232, loose ends round 14). It runs in the control plane's process tree, sealed
 * (runtime/validate.py `--sealed`): its CPU and memory rlimits, 64 descriptors, no file written, no
 * core dump, and (x86_64) a seccomp filter with no socket, no new process and no exec; its wall-clock
 * deadline kills it. validate.py never runs the code it parses, so the test's checker is validate.py
 * with `check` replaced by one that tries what a flaw of the parser would let code try, and says what
 * it got. Fails without: the socket, the fork and the file write succeed, the limits are the host's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CodeChecker } from '../../controlplane/service/code-check.js';
import { eventually, processesWith } from '../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');

const HOSTILE = `
import json, os, socket, sys, time
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'runtime'))})
import validate

real = validate.check

def attempt(what):
    try:
        what()
        return "done"
    except OSError as err:
        return type(err).__name__

def write(path):
    with open(path, "w") as f:
        f.write("x")
        f.flush()

def hostile(root, entrypoint, files, installed=None):
    report = real(root, entrypoint, files, installed)
    if entrypoint == "main:sleep":
        time.sleep(60)  # no CPU: only the wall-clock deadline ends it
    limits = {line[:26].strip(): line[26:].split()[:2] for line in open("/proc/self/limits").read().splitlines()[1:]}
    seen = {
        "socket": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()),
        "fork": attempt(_fork),
        "write": attempt(lambda: write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "left"))),
        "limits": {k: limits.get(k) for k in ("Max cpu time", "Max address space", "Max open files", "Max file size", "Max core file size")},
    }
    report["warnings"].append({"file": None, "line": None, "message": "SEEN " + json.dumps(seen)})
    return report

def _fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)

validate.check = hostile
sys.exit(validate.main(sys.argv[1:]))
`;

describe('the code check without a box (Kubernetes host, --unsafe-no-sandbox) is sealed', { timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-unboxed-check-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const script = join(work, 'hostile-validate.py');
  writeFileSync(script, HOSTILE);
  const checker = (timeoutMs: number): CodeChecker =>
    new CodeChecker({ python: PYTHON, script, timeoutMs, maxMemoryMb: 300, box: { mode: 'pod', uid: 0, idmap: null, cgroups: null } }, () => undefined);
  const handler = [{ path: 'main.py', content: 'def handler(event, context):\n    return 1\ndef sleep(event, context):\n    return 2\n' }];

  it('has its rlimits, and no socket, no new process, no file written', async () => {
    const report = await checker(7_000).check('ws', handler);
    const line = report.warnings.find((w) => w.message.startsWith('SEEN '));
    assert.ok(line !== undefined, JSON.stringify(report));
    const seen = JSON.parse(line.message.slice(5)) as { socket: string; fork: string; write: string; limits: Record<string, string[]> };
    assert.deepEqual(seen.limits['Max cpu time'], ['7', '7'], 'RLIMIT_CPU: the deadline in seconds, hard');
    assert.deepEqual(seen.limits['Max address space'], [String(300 * 1024 * 1024), String(300 * 1024 * 1024)]);
    assert.deepEqual(seen.limits['Max open files'], ['64', '64']);
    assert.deepEqual(seen.limits['Max file size'], ['0', '0']);
    assert.deepEqual(seen.limits['Max core file size'], ['0', '0']);
    assert.notEqual(seen.write, 'done', 'the check wrote a file');
    if (arch() === 'x64') {
      assert.equal(seen.socket, 'PermissionError', 'the check opened a socket (the network)');
      assert.equal(seen.fork, 'PermissionError', 'the check forked a process');
    }
  });

  it('past its wall-clock deadline it is killed and answers VALIDATION_UNAVAILABLE', async () => {
    const started = Date.now();
    await assert.rejects(checker(1_500).check('ws', handler, 'main:sleep'), (err: { code?: string }) => err.code === 'VALIDATION_UNAVAILABLE');
    assert.ok(Date.now() - started < 20_000, 'the check ran on past its deadline');
    assert.ok(await eventually(() => processesWith(script).length === 0, 5_000), 'the check is still running');
  });
});
