/** bench/proc-cpu.ts: the /proc readings ab.ts reports per request (CPU, context switches, descendants). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { descendants, processCpuUs, processRunqueueWaitUs, processSwitches, treeCpuUs } from '../../bench/proc-cpu.js';

describe('bench proc-cpu', () => {
  it('counts this process\'s context switches, finds a child among its descendants, and reads nothing for a gone pid', async (t) => {
    const before = processSwitches(process.pid);
    // Sleeping is a voluntary switch, but only if the thread really sleeps: a 20 ms timer is no
    // sleep when the event loop has other work (the test runner's own, early in the file) that a
    // loaded CPU stretches past 20 ms; the timer is then due before the loop ever waits (1 in 15
    // under load). Atomics.wait blocks this thread in the kernel (a futex) whatever the loop holds.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
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
