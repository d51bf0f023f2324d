/**
 * Red team round 50: the code check's warmed checker (controlplane/service/check-zygote.ts,
 * runtime/validate.py `--zygote`; ADR 0248 amended) runs one workspace's check after another in
 * one box, as one uid. The box is there for a flaw of CPython's parser that runs code of a crafted
 * source; such code in a check's child (simulated here: a validate.py whose `check` is replaced for
 * files holding `attacker.py`, run as the checker) could leave a process behind that read the next
 * check's files (another workspace's code, at /run/fp-check/<n>) and wrote a forged answer on the
 * checker's stdout, inherited, which the platform took for the next check's report. A check's child
 * now has /dev/null for stdin and stdout, the checker is not dumpable (no /proc/<checker>/fd/1 for
 * its uid), and once a check is answered every other process of the box is killed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CodeChecker } from '../../controlplane/service/code-check.js';
import { Cgroups } from '../../poolmgr/index.js';
import { eventually, processesOfUid } from '../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const BOX_UID = 599_973;

/** validate.py with the code a parser flaw would run: a detached process that waits for another check's folder. */
const HOSTILE = (runtime: string): string => `
import json, os, sys, time
sys.path.insert(0, ${JSON.stringify(runtime)})
import validate
real = validate.check

def answer(report, checker):
    """One answer line on the checker's stdout: through its /proc descriptor, else the inherited fd 1."""
    line = json.dumps({"report": report}) + "\\n"
    try:
        with open("/proc/%d/fd/1" % checker, "w") as out:
            out.write(line)
    except OSError:
        try:
            os.write(1, line.encode())
        except OSError:
            pass

def forge(root, checker):
    mine = os.path.basename(root)
    end = time.time() + 10
    while time.time() < end:
        for d in os.listdir("/run/fp-check"):
            path = os.path.join("/run/fp-check", d, "main.py")
            if d != mine and os.path.exists(path):
                report = real(os.path.dirname(path), "main:handler", ["main.py"], None)
                report["warnings"].append({"file": "main.py", "line": 1, "message": "forged: " + open(path).read()})
                return answer(report, checker)
        time.sleep(0.002)

def shift(root, entrypoint, files, installed):
    """An answer of its own now, on the checker's stdout: the checker's true one goes to the next check."""
    report = real(root, entrypoint, files, installed)
    answer(report, os.getppid())
    return report

def check(root, entrypoint, files, installed):
    if "shifter.py" in files:
        return shift(root, entrypoint, files, installed)
    if "attacker.py" in files:
        checker = os.getppid()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.closerange(3, 64)  # the answer's pipe: the check ends
                try:
                    forge(root, checker)
                finally:
                    os._exit(0)
            os._exit(0)
    return real(root, entrypoint, files, installed)

validate.check = check
sys.exit(validate.main(sys.argv[1:]))
`;

describe('attack: one check of the warmed checker against the next (root mode)', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 60_000 }, () => {
  const cgroups = Cgroups.open({ tasksMax: 64, cpuShares: 1024 }, `fp-${process.pid}-checkz-${Date.now()}`).cgroups;
  const dir = mkdtempSync(join(tmpdir(), 'fp-red50-'));
  const script = join(dir, 'validate_hostile.py');
  writeFileSync(script, HOSTILE(join(ROOT, 'runtime')));
  const checks = new CodeChecker({ python: PYTHON, script, timeoutMs: 10_000, box: { mode: 'root', uid: BOX_UID, idmap: null, cgroups } }, () => undefined);
  after(async () => {
    checks.close();
    await eventually(() => processesOfUid(BOX_UID).length === 0, 5_000);
    cgroups?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves nothing of a check running into the next, which gets its own report', async () => {
    const attacker = await checks.check('red', [
      { path: 'main.py', content: 'def handler(event, context):\n    return 1\n' },
      { path: 'attacker.py', content: 'x = 1\n' },
    ]);
    assert.equal(attacker.ok, true, JSON.stringify(attacker));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(processesOfUid(BOX_UID).length, 1, 'a process of the check is left beside the checker');
    const victim = await checks.check('victim', [{ path: 'main.py', content: 'import requests  # SECRET-OF-VICTIM\ndef handler(event, context):\n    return 2\n' }]);
    assert.equal(JSON.stringify(victim).includes('SECRET-OF-VICTIM'), false, `another check read the victim's files and answered for it: ${JSON.stringify(victim)}`);
    assert.match(victim.warnings[0]?.message ?? '', /imports 'requests'/, JSON.stringify(victim));
  });

  it("a check's child cannot answer for the next check through the checker's stdout", async () => {
    const attacker = await checks.check('red', [
      { path: 'main.py', content: 'def handler(event, context):\n    return 1\n' },
      { path: 'shifter.py', content: 'x = 1\n' },
    ]);
    assert.equal(attacker.ok, true, JSON.stringify(attacker));
    const victim = await checks.check('victim', [{ path: 'main.py', content: 'import requests\ndef handler(event, context):\n    return 2\n' }]);
    assert.match(victim.warnings[0]?.message ?? '', /imports 'requests'/, `the victim got another check's answer: ${JSON.stringify(victim)}`);
  });
});
