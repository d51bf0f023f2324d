/**
 * The code check in its box (controlplane/service/code-check.ts `box`, runtime/validate.py
 * `--box`; ADR 0248, loose ends round 11): its limits and codes are the unboxed check's. A check
 * past its wall-clock limit still ends VALIDATION_UNAVAILABLE, and the whole box goes with it (no
 * process of it left, its cgroup leaf removed); a small check answers as it did unboxed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CodeChecker } from '../../controlplane/service/code-check.js';
import { Cgroups } from '../../poolmgr/index.js';
import { eventually, processesOfUid, processesWith } from '../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const SCRIPT = join(ROOT, 'runtime', 'validate.py');
const BOX_UID = 599_974;

describe('the code check in a box (root mode)', { skip: process.getuid?.() !== 0 ? 'needs root' : false, timeout: 60_000 }, () => {
  const cgroups = Cgroups.open({ tasksMax: 64, cpuShares: 1024 }, `fp-${process.pid}-check-${Date.now()}`).cgroups;
  after(() => cgroups?.close());
  const checker = (timeoutMs: number): CodeChecker => new CodeChecker({ python: PYTHON, script: SCRIPT, timeoutMs, box: { mode: 'root', uid: BOX_UID, idmap: null, cgroups } }, () => undefined);

  it('answers a small check as unboxed', async () => {
    const report = await checker(10_000).check('ws', [{ path: 'main.py', content: 'import requests\ndef handler(event, context):\n    return 1\n' }]);
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.python.checked, 1);
    assert.match(report.warnings[0]?.message ?? '', /imports 'requests'/);
  });

  it('a check past its time limit ends VALIDATION_UNAVAILABLE, and its box with it', async () => {
    // ~1 MiB of statements: far more than a second of the check's CPU.
    const huge = checker(1_000).check('ws', [{ path: 'main.py', content: 'x=1\n'.repeat(250_000) }]);
    await assert.rejects(huge, (err: { code?: string }) => err.code === 'VALIDATION_UNAVAILABLE');
    // Its keeper (root, its --box names the uid) and what ran as the box's uid.
    assert.ok(await eventually(() => processesWith(`"uid":${BOX_UID}`).length === 0 && processesOfUid(BOX_UID).length === 0, 5_000), 'a process of the box is left');
  });
});
