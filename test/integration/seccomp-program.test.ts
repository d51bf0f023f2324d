/**
 * The spawn seccomp filter (runtime/fp_sandbox/seccomp.py, a binary search since ADR 0049) against
 * its rules written out independently, in a classic-BPF interpreter (seccomp-program.py): every
 * syscall number 0..1099, the x32 bit and other architectures, assorted first arguments.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pythonPath } from '../../cli/python.js';
import { repoRoot } from '../helpers/runtime-process.js';

describe('the spawn seccomp filter', () => {
  it('denies, allows and kills exactly as its rules say, each call after a short search', () => {
    const script = join(repoRoot(), 'test', 'integration', 'seccomp-program.py');
    const out = JSON.parse(execFileSync(pythonPath(undefined), [script, join(repoRoot(), 'runtime')], { encoding: 'utf8' })) as
      { checked: number; wrong: unknown[]; instructions: number; mostSteps: number };
    assert.deepEqual(out.wrong, []);
    assert.ok(out.checked > 100_000, `${out.checked} inputs`);
    // A search, not a list: a linear list of the ~60 numbers takes up to ~65 steps (17 since the
    // page-cache rules of red team round 21 made the tree one level deeper).
    assert.ok(out.mostSteps <= 17, `${out.mostSteps} steps at most`);
  });
});
