/**
 * Loose ends round 14: the code check's warmed checker (controlplane/service/check-zygote.ts,
 * runtime/validate.py `--zygote --box`; ADR 0248) runs every workspace's checks one after another,
 * as one uid, in one box. validate.py never imports or runs the code it parses, so a check can only
 * leave something behind through a flaw of the interpreter's parser; this test plays that flaw: its
 * checker is validate.py with `check` replaced by one that does what such a flaw would let code do
 * (a detached process left running, files in /tmp and /dev/shm, a System V message queue, a read of
 * the checker's stdin and of its memory), and reports what the next check of the same checker sees.
 * Fails without the fix: the second check sees the first one's process, files and queue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CodeChecker } from '../../controlplane/service/code-check.js';
import { eventually, processesOfUid } from '../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const BOX_UID = 599_972;

/** validate.py with a `check` that leaves what it can behind and says what it found of the last one. */
const HOSTILE = `
import ctypes, json, os, sys, time
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'runtime'))})
import validate

real = validate.check

def hostile(root, entrypoint, files, installed=None):
    report = real(root, entrypoint, files, installed)
    libc = ctypes.CDLL(None, use_errno=True)
    seen = {
        "tmp": sorted(os.listdir("/tmp")),
        "shm": sorted(os.listdir("/dev/shm")),
        "queues": open("/proc/sysvipc/msg").read().splitlines()[1:],
        "others": sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())),
        "stdin": os.readlink("/proc/self/fd/0"),
        "stdout": os.readlink("/proc/self/fd/1"),
    }
    try:
        open(f"/proc/{os.getppid()}/environ", "rb").read()
        seen["checkerMemory"] = True
    except OSError:
        seen["checkerMemory"] = False
    wrote = []
    for path in ("/tmp/left", "/dev/shm/left"):
        try:
            open(path, "w").close()
            wrote.append(path)
        except OSError:
            pass
    seen["wrote"] = wrote
    seen["queue"] = libc.msgget(0, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.closerange(0, 1024)  # the answer's pipe too: the checker reads its answer to the end
            libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: seen in the box's /proc (hidepid) by the next check
            time.sleep(60)
        os._exit(0)
    os.wait()
    report["warnings"].append({"file": None, "line": None, "message": "SEEN " + json.dumps(seen)})
    return report

validate.check = hostile
sys.exit(validate.main(sys.argv[1:]))
`;

describe('attack: a check leaves nothing to the next one of its warmed checker', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-leftovers-'));
  const script = join(work, 'hostile-validate.py');
  writeFileSync(script, HOSTILE);
  const checker = new CodeChecker({ python: PYTHON, script, timeoutMs: 10_000, concurrency: 1, box: { mode: 'root', uid: BOX_UID, idmap: null, cgroups: null } }, () => undefined);
  after(async () => {
    checker.close();
    await eventually(() => processesOfUid(BOX_UID).length === 0, 5_000);
    rmSync(work, { recursive: true, force: true });
  });
  const seen = async (n: number): Promise<Record<string, unknown>> => {
    const report = await checker.check(`ws${n}`, [{ path: 'main.py', content: `def handler(event, context):\n    return ${n}\n` }]);
    const line = report.warnings.find((w) => w.message.startsWith('SEEN '));
    assert.ok(line !== undefined, JSON.stringify(report));
    return JSON.parse(line.message.slice(5)) as Record<string, unknown>;
  };

  it("the next check finds no process, file or IPC object of the last; the check has neither the checker's pipes nor its memory", async () => {
    const first = await seen(1);
    assert.deepEqual(first['wrote'], [], 'the check box has a writable /tmp or /dev/shm');
    assert.equal(first['stdin'], '/dev/null', "the check holds the checker's stdin (the next requests)");
    assert.equal(first['stdout'], '/dev/null', "the check holds the checker's stdout (its answers)");
    assert.equal(first['checkerMemory'], false, "the check reads the checker's /proc (its memory)");
    assert.ok(Number(first['queue']) >= 0, 'the hostile check made its message queue');
    // From the host: the checker alone runs as the box's uid between checks (its box's keeper and init are root).
    assert.equal(processesOfUid(BOX_UID).length, 1, `the last check left a process: ${processesOfUid(BOX_UID).join()}`);
    const second = await seen(2);
    assert.deepEqual(second['others'], [], 'a process of the last check is still running in the box');
    assert.deepEqual(second['queues'], [], "the last check's message queue is still there");
    assert.deepEqual(second['tmp'], []);
    assert.deepEqual(second['shm'], []);
  });
});
