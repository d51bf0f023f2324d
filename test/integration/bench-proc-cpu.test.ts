/** bench/proc-cpu.ts: the /proc readings ab.ts reports per request (CPU, context switches, descendants). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { descendants, processCpuUs, processRunqueueWaitUs, processSwitches, treeCpuUs } from '../../bench/proc-cpu.js';

describe('bench proc-cpu', () => {
  it('counts this process\'s context switches, finds a child among its descendants, and reads nothing for a gone pid', async (t) => {
    const before = processSwitches(process.pid);
    await new Promise((resolve) => setTimeout(resolve, 20)); // sleeping is a voluntary switch
    const after = processSwitches(process.pid);
    assert.ok(after.voluntary > before.voluntary, `${after.voluntary} > ${before.voluntary}`);
    assert.ok(after.involuntary >= before.involuntary);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    t.after(() => child.kill('SIGKILL'));
    await new Promise((resolve) => child.once('spawn', resolve));
    assert.ok(descendants(process.pid).includes(child.pid!));
    assert.ok(!descendants(process.pid).includes(process.pid));
    // This process alone first: its CPU time only grows, so the tree read after it cannot be less
    // (read the other way round, the later self reading could pass the earlier tree one).
    const self = processCpuUs(process.pid);
    assert.ok(treeCpuUs(process.pid) >= self);
    assert.deepEqual(processSwitches(2 ** 22 + 12345), { voluntary: 0, involuntary: 0 });
  });

  it('reads the time a process waited for a CPU (bench/utilization.ts), growing, and nothing for a gone pid', () => {
    const before = processRunqueueWaitUs(process.pid);
    assert.ok(Number.isFinite(before) && before >= 0, String(before));
    // Three busy children on at most a few CPUs make this process wait for one now and then.
    const end = Date.now() + 300;
    const kids = [0, 1, 2].map(() => spawn(process.execPath, ['-e', `while (Date.now() < ${end}) {}`], { stdio: 'ignore' }));
    while (Date.now() < end) { /* busy, so it is runnable and competes */ }
    for (const kid of kids) kid.kill('SIGKILL');
    assert.ok(processRunqueueWaitUs(process.pid) >= before);
    assert.equal(processRunqueueWaitUs(2 ** 22 + 12345), 0);
  });
});
