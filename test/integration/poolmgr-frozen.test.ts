/**
 * A runtime frozen from outside (a cgroup freezer: `docker pause`, a checkpoint, an operator's
 * freeze) is the platform's stall, as a stopped one is (chaos round 5, ADR 0233): it answered
 * FUNCTION_INIT_FAILED, blaming code that loads in 0.8 s. Runs each freezer this host lets the test
 * write (root: cgroup v1's /sys/fs/cgroup/freezer, v2's cgroup.freeze); skipped where none.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { callWhileLoading, callWhileRunning, ev, isAlive, openPool, until } from './poolmgr-harness.js';

interface Freezer { root: string; freeze: [file: string, value: string]; thaw: [file: string, value: string] }

const FREEZERS: Record<string, Freezer> = {
  'cgroup v1': { root: '/sys/fs/cgroup/freezer', freeze: ['freezer.state', 'FROZEN'], thaw: ['freezer.state', 'THAWED'] },
  'cgroup v2': {
    root: existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup',
    freeze: ['cgroup.freeze', '1'], thaw: ['cgroup.freeze', '0'],
  },
};

/**
 * Thaws the groups an earlier run of this test left frozen (it was SIGKILLed mid-test: its runtime
 * stays in `D` and its processes cannot die until thawed), once they are older than any run takes:
 * a run going on beside this one keeps its own.
 */
function thawLeftovers(freezer: Freezer): void {
  let names: string[];
  try {
    names = readdirSync(freezer.root).filter((name) => name.startsWith('fp-test-'));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(freezer.root, name);
    try {
      if (Date.now() - statSync(dir).mtimeMs < 10 * 60_000) continue;
      writeFileSync(join(dir, freezer.thaw[0]), freezer.thaw[1]);
      rmdirSync(dir); // fails while its processes still run: removed by a later run
    } catch { /* gone, or not empty yet */ }
  }
}

/** A group of the test's own in `freezer`, thawed and removed after the test; null where none can be made. */
function freezerGroup(t: TestContext, freezer: Freezer): ((pid: number) => void) | null {
  thawLeftovers(freezer);
  const dir = join(freezer.root, `fp-test-${randomUUID().slice(0, 8)}`);
  try {
    mkdirSync(dir);
    if (!existsSync(join(dir, freezer.freeze[0]))) {
      rmdirSync(dir);
      return null;
    }
  } catch {
    return null;
  }
  const thaw = (): void => { try { writeFileSync(join(dir, freezer.thaw[0]), freezer.thaw[1]); } catch { /* gone */ } };
  t.after(async () => {
    thaw();
    await until(() => { try { rmdirSync(dir); return true; } catch { return false; } }, 15_000, 'the freezer group to empty');
  });
  return (pid) => {
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    writeFileSync(join(dir, freezer.freeze[0]), freezer.freeze[1]);
  };
}

describe('poolmgr: a frozen runtime', () => {
  for (const [name, freezer] of Object.entries(FREEZERS)) {
    it(`frozen while it loads (${name}): RUNTIME_UNAVAILABLE (RuntimeStalled), not FUNCTION_INIT_FAILED`, async (t) => {
      const freeze = freezerGroup(t, freezer);
      if (freeze === null) return t.skip(`no writable ${name} freezer here`);
      const lines: string[] = [];
      const pool = await openPool({ initTimeoutMs: 1500, hostLog: (line) => lines.push(line) });
      t.after(() => pool.close());
      const { fn, call, pid: frozen } = await callWhileLoading(t, pool);
      freeze(frozen);
      const result = await call;
      assert.equal(result.error?.code, 'RUNTIME_UNAVAILABLE', JSON.stringify(result.error));
      assert.equal(result.error?.type, 'RuntimeStalled');
      assert.equal(result.error?.class, null);
      assert.match(result.error?.message ?? '', /\(its process was frozen \(a cgroup freezer\)\)/);
      assert.ok(lines.some((l) => l.includes(`a runtime of ${fn.name} version v1 was stopped while it loaded the function`)), lines.join('\n'));
      // Another instance serves the function meanwhile (the frozen one is not waited for).
      assert.equal((await pool.invoke(fn, ev())).error, null);
      if (name === 'cgroup v2') await until(() => !isAlive(frozen), 15_000, 'the frozen runtime killed');
    });
  }

  it('a call whose runtime was frozen when its time ran out says so in its FUNCTION_TIMEOUT', async (t) => {
    const freeze = freezerGroup(t, FREEZERS['cgroup v1']!) ?? freezerGroup(t, FREEZERS['cgroup v2']!);
    if (freeze === null) return t.skip('no writable freezer here');
    const pool = await openPool({});
    t.after(() => pool.close());
    const { call, pid } = await callWhileRunning(t, pool);
    freeze(pid);
    const result = await call;
    assert.equal(result.error?.code, 'FUNCTION_TIMEOUT');
    assert.match(result.error?.message ?? '', /did not finish within 1500 ms \(its process was frozen \(a cgroup freezer\) when the time ran out: not the function's doing\)/);
  });
});
