/**
 * The code check in its box (controlplane/service/code-check.ts, check-zygote.ts; runtime/validate.py
 * `--box`, `--zygote`; ADR 0248, loose ends round 11): a warmed checker in a box forks a child per
 * check. Its limits and codes are the unboxed check's: a check past its wall-clock limit still ends
 * VALIDATION_UNAVAILABLE (its child killed, the checker kept). A checker killed mid-check fails no
 * check: that one runs in a box spawned for it, and the next starts a new checker.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CodeChecker } from '../../controlplane/service/code-check.js';
import { Cgroups } from '../../poolmgr/index.js';
import { eventually, processesOfUid, processesWith, signalIfAlive } from '../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const SCRIPT = join(ROOT, 'runtime', 'validate.py');
const BOX_UID = 599_974;

describe('the code check in a box (root mode)', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 90_000 }, () => {
  const cgroups = Cgroups.open({ tasksMax: 64, cpuShares: 1024 }, `fp-${process.pid}-check-${Date.now()}`).cgroups;
  const made: CodeChecker[] = [];
  // The checkers first, then the cgroups once their boxes are gone: a leaf still holding a dying
  // checker cannot be removed, and the test's own cgroup directories are left on the host.
  after(async () => {
    for (const checks of made) checks.close();
    await eventually(() => processesOfUid(BOX_UID).length === 0, 5_000);
    cgroups?.close();
  });
  const checker = (timeoutMs: number): CodeChecker => {
    made.push(new CodeChecker({ python: PYTHON, script: SCRIPT, timeoutMs, box: { mode: 'root', uid: BOX_UID, idmap: null, cgroups } }, () => undefined));
    return made.at(-1)!;
  };
  const small = (n: number): { path: string; content: string }[] => [{ path: 'main.py', content: `import requests\ndef handler(event, context):\n    return ${n}\n` }];
  /** The box's processes as its uid: the warmed checker, and a check's child while one runs. */
  const asBoxUid = (): number[] => processesOfUid(BOX_UID);

  it('answers a small check as unboxed, from a warmed checker kept for the next', async () => {
    const checks = checker(10_000);
    for (let n = 0; n < 3; n++) {
      const report = await checks.check('ws', small(n));
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.python.checked, 1);
      assert.match(report.warnings[0]?.message ?? '', /imports 'requests'/);
    }
    assert.equal(processesWith(`"uid":${BOX_UID}`).length > 0, true, 'the checker is kept');
    checks.close();
    assert.ok(await eventually(() => processesWith(`"uid":${BOX_UID}`).length === 0 && asBoxUid().length === 0, 5_000), 'a process of the box is left after close');
  });

  it('a check past its time limit ends VALIDATION_UNAVAILABLE; its child goes, the checker answers the next', async () => {
    const checks = checker(1_000);
    await checks.check('ws', small(0));
    const warm = asBoxUid();
    // ~1 MiB of statements: far more than a second of the check's CPU.
    const huge = checks.check('ws', [{ path: 'main.py', content: 'x=1\n'.repeat(250_000) }]);
    await assert.rejects(huge, (err: { code?: string }) => err.code === 'VALIDATION_UNAVAILABLE');
    assert.ok(await eventually(() => asBoxUid().join() === warm.join(), 5_000), `the check's child is left: ${asBoxUid().join()} (the checker: ${warm.join()})`);
    assert.equal((await checks.check('ws', small(1))).ok, true);
  });

  it('a checker killed mid-check: that check is answered (in a box of its own), the next starts a new checker', async () => {
    const checks = checker(20_000);
    await checks.check('ws', small(0));
    const keeper = processesWith(`"uid":${BOX_UID}`);
    assert.ok(keeper.length > 0);
    const slow = checks.check('ws', [{ path: 'main.py', content: 'x=1\n'.repeat(12_000) + 'def handler(event, context):\n    return 1\n' }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const pid of processesWith(`"uid":${BOX_UID}`).filter((p) => keeper.includes(p))) signalIfAlive(pid, 'SIGKILL');
    const report = await slow;
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal((await checks.check('ws', small(2))).ok, true);
    assert.ok(processesWith(`"uid":${BOX_UID}`).some((p) => !keeper.includes(p)), 'a new checker was started');
  });
});
