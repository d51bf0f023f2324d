/** bench/proc-cpu.ts: the /proc readings ab.ts reports per request (CPU, context switches, descendants). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { descendants, mainThread, processCpuUs, processRunqueueWaitUs, processSwitches, treeCpuUs } from '../../bench/proc-cpu.js';

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

  it('tells the main thread\'s CPU and sleeps from the other threads\' (fastapi-cpu.ts: the gateway\'s loop vs V8\'s helpers)', async () => {
    const processBefore = processCpuUs(process.pid);
    const before = mainThread(process.pid);
    // A worker thread spins until its own CPU time (/proc/thread-self) reaches 60 ms, while this
    // thread sleeps in Atomics.wait until the worker says it is done: the CPU is the worker's.
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(`
      const { readFileSync } = require('node:fs');
      const { workerData } = require('node:worker_threads');
      const ticks = () => { const f = readFileSync('/proc/thread-self/stat', 'utf8'); const x = f.slice(f.lastIndexOf(')') + 2).split(' '); return Number(x[11]) + Number(x[12]); };
      while (ticks() < 6) { /* spin */ }
      Atomics.store(workerData, 0, 1);
      Atomics.notify(workerData, 0);
    `, { eval: true, workerData: flag });
    while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 1000);
    await worker.terminate();
    const after = mainThread(process.pid);
    const processGrew = processCpuUs(process.pid) - processBefore;
    const mainGrew = after.cpuUs - before.cpuUs;
    assert.ok(processGrew - mainGrew >= 60_000, `the process ${processGrew} µs, its main thread ${mainGrew} µs`);
    assert.ok(after.sleeps > before.sleeps, `${after.sleeps} > ${before.sleeps}`);
    assert.deepEqual(mainThread(2 ** 22 + 12345), { cpuUs: 0, sleeps: 0 });
  });
});
