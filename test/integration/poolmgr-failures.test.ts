/**
 * Failure handling: failed specialization, timeout, crash, memory limit, protocol violation and
 * spawn failure each give their code, and the broken process is discarded, never reused.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultPoolConfig, PoolManager, type ProcessHost } from '../../poolmgr/index.js';
import { startsProblems } from '../../gateway/gateway.js';
import {
  callWhileLoading, callWhileRunning, childPids, ev, fnVersion, isAlive, keyOf, openPool, pidOf, py, removeFunction, STEERED_HANDLER, until, writeFunction,
} from './poolmgr-harness.js';

describe('poolmgr failures', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ poolSize: 2 });
    dir = await writeFunction({ 'main.py': STEERED_HANDLER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('fails a call with FUNCTION_INIT_FAILED when the code does not load, and never reuses that process', async (t) => {
    await until(() => pool.stats().generic === 2, 15_000, 'a full pool');
    const genericPids = childPids();
    const broken = await writeFunction({ 'main.py': py('def handler(event, context:', '    return 1') });
    t.after(() => removeFunction(broken));
    const fn = fnVersion(broken);
    const result = await pool.invoke(fn, ev());
    assert.equal(result.error?.code, 'FUNCTION_INIT_FAILED');
    assert.equal(result.error?.class, 'init_error');
    assert.equal(result.error?.type, 'SyntaxError');
    assert.equal(result.error?.file, 'main.py');
    assert.equal(result.cold, true);
    assert.equal(result.response, null);
    // The failed process is gone and the pool is back to full size with other processes.
    await until(() => genericPids.some((pid) => !isAlive(pid)), 15_000, 'the failed process to exit');
    const failedPid = genericPids.find((pid) => !isAlive(pid))!;
    await until(() => pool.stats().generic === 2, 15_000, 'the refill');
    assert.equal(pool.stats().functions[keyOf(fn)]?.warm ?? 0, 0);
    // Fixed code at the same version now loads, on a different process.
    await writeFile(join(broken, 'main.py'), STEERED_HANDLER);
    const fixed = await pool.invoke(fn, ev());
    assert.equal(fixed.error, null);
    assert.equal(fixed.start, 'pool');
    assert.notEqual(pidOf(fixed), failedPid);
  });

  it('fails a call past its timeout with FUNCTION_TIMEOUT, kills the process and serves the next call on a new one', async () => {
    const fn = fnVersion(dir, { timeoutMs: 300 });
    const warm = await pool.invoke(fn, ev());
    const pid = pidOf(warm);
    // The handler would sleep 10 s and then succeed: a FUNCTION_TIMEOUT can only come from the 300 ms limit.
    const slow = await pool.invoke(fn, ev({ sleep: '10' }));
    assert.equal(slow.error?.code, 'FUNCTION_TIMEOUT');
    assert.equal(slow.error?.class, 'timeout');
    assert.ok(slow.handlerMs >= 300, `handlerMs ${slow.handlerMs}`);
    await until(() => !isAlive(pid), 15_000, 'the timed-out process to die');
    const next = await pool.invoke(fn, ev());
    assert.equal(next.error, null);
    assert.equal(next.cold, true);
    assert.notEqual(next.instanceId, warm.instanceId);
  });

  /**
   * concurrency 2 on one instance: a slow call (10 s) that times out at 800 ms, and a neighbour
   * sleeping `neighbourSleep` s started 300 ms after it. `after` runs once the slow call timed out.
   */
  async function besideATimeout(neighbourSleep: string, after: (fn: ReturnType<typeof fnVersion>, instanceId: string | null) => Promise<void> = async () => {}) {
    const fn = fnVersion(dir, { timeoutMs: 800, concurrency: 2, maxInstances: 2 });
    const warm = await pool.invoke(fn, ev());
    const slow = pool.invoke(fn, ev({ sleep: '10' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const neighbour = pool.invoke(fn, ev({ sleep: neighbourSleep }));
    const timedOut = await slow;
    assert.equal(timedOut.error?.code, 'FUNCTION_TIMEOUT');
    assert.match(timedOut.error!.message, /killed once the calls running beside it end/);
    await after(fn, warm.instanceId);
    const beside = await neighbour;
    assert.equal(beside.instanceId, warm.instanceId);
    await until(() => !isAlive(pidOf(warm)), 15_000, 'the process with the timed-out handler to be killed');
    return beside;
  }

  it('a call that times out beside others lets them finish: the instance takes no new call and is killed once they end', async () => {
    // The neighbour runs 600 ms. Before, it failed with RUNTIME_CRASHED.
    const beside = await besideATimeout('0.6', async (fn, instanceId) => {
      // A call made now goes elsewhere: the condemned instance takes none.
      const after = await pool.invoke(fn, ev());
      assert.equal(after.error, null, JSON.stringify(after.error));
      assert.notEqual(after.instanceId, instanceId);
    });
    assert.equal(beside.error, null, JSON.stringify(beside.error));
  });

  it('a call beside a timed-out one still ends at its own timeout (it ran on with none: oddfn round 2)', async () => {
    // The neighbour would run 6 s: it must time out at its own 800 ms. The instance's call timer
    // stopped at the first timeout, and the neighbour (a stream, a WebSocket) ran on for as long as it liked.
    const beside = await besideATimeout('6');
    assert.equal(beside.error?.code, 'FUNCTION_TIMEOUT', JSON.stringify(beside.error));
    assert.ok(beside.handlerMs < 3_000, `handlerMs ${beside.handlerMs}`);
  });

  it('gives each pipelined call its whole timeout from its own start (one timer per instance, issue 11)', async () => {
    // Three calls of 0.5 s behind each other on one instance under a 900 ms timeout: together they
    // run 1.5 s, each within its limit. A timer counted from the first call's start would kill the third.
    const fn = fnVersion(dir, { timeoutMs: 900, maxInstances: 1 });
    const warm = await pool.invoke(fn, ev());
    const calls = await Promise.all([1, 2, 3].map(() => pool.invoke(fn, ev({ sleep: '0.5' }))));
    for (const call of calls) {
      assert.equal(call.error, null, JSON.stringify(call.error));
      assert.equal(call.instanceId, warm.instanceId);
    }
    // A call that starts behind a quick one still times out at its own limit, measured from its own start.
    const quick = pool.invoke(fn, ev({ sleep: '0.2' }));
    const slow = pool.invoke(fn, ev({ sleep: '10' }));
    assert.equal((await quick).error, null);
    const timedOut = await slow;
    assert.equal(timedOut.error?.code, 'FUNCTION_TIMEOUT');
    assert.ok(timedOut.handlerMs >= 900 && timedOut.handlerMs < 5_000, `handlerMs ${timedOut.handlerMs}`);
  });

  it('fails the call of a process that exits mid-call with RUNTIME_CRASHED, and the next call works', async () => {
    const fn = fnVersion(dir);
    const crashed = await pool.invoke(fn, ev({ exit: '3' }));
    assert.equal(crashed.error?.code, 'RUNTIME_CRASHED');
    assert.equal(crashed.error?.class, 'crash');
    const next = await pool.invoke(fn, ev());
    assert.equal(next.error, null);
    assert.notEqual(next.instanceId, crashed.instanceId);
  });

  it('fails the call of a process killed by a signal with RUNTIME_CRASHED, without touching other instances', async () => {
    const fn = fnVersion(dir, { maxInstances: 2 });
    const other = pool.invoke(fn, ev({ sleep: '0.5' }));
    const killed = await pool.invoke(fn, ev({ kill: '1' }));
    assert.equal(killed.error?.code, 'RUNTIME_CRASHED');
    const survivor = await other;
    assert.equal(survivor.error, null);
    assert.notEqual(survivor.instanceId, killed.instanceId);
    assert.equal((await pool.invoke(fn, ev())).error, null);
  });

  it('fails a call past its memory limit with FUNCTION_OUT_OF_MEMORY and discards the instance', async () => {
    const fn = fnVersion(dir, { memoryBytes: 64 * 1024 * 1024 });
    const hungry = await pool.invoke(fn, ev({ alloc: String(2 ** 36) })); // past 16 × 64Mi of address space (ADR 0202)
    assert.equal(hungry.error?.code, 'FUNCTION_OUT_OF_MEMORY');
    assert.equal(hungry.error?.class, 'out_of_memory');
    const next = await pool.invoke(fn, ev());
    assert.equal(next.error, null);
    assert.equal(next.cold, true);
    assert.notEqual(next.instanceId, hungry.instanceId);
  });

  it('kills a runtime that sends a malformed frame and fails its call with RUNTIME_PROTOCOL_ERROR', async () => {
    const fn = fnVersion(dir);
    const garbled = await pool.invoke(fn, ev({ garbage: '1', sleep: '0.2' }));
    assert.equal(garbled.error?.code, 'RUNTIME_PROTOCOL_ERROR');
    const next = await pool.invoke(fn, ev());
    assert.equal(next.error, null);
    assert.notEqual(next.instanceId, garbled.instanceId);
  });

  it('reports a user exception as FUNCTION_ERROR and keeps the instance', async (t) => {
    const raising = await writeFunction({ 'main.py': py('def handler(event, context):', '    raise ValueError("no")') });
    t.after(() => removeFunction(raising));
    const fn = fnVersion(raising);
    const first = await pool.invoke(fn, ev());
    assert.equal(first.error?.code, 'FUNCTION_ERROR');
    assert.equal(first.error?.type, 'ValueError');
    assert.equal(first.error?.line, 2);
    const second = await pool.invoke(fn, ev());
    assert.equal(second.start, 'warm');
    assert.equal(second.instanceId, first.instanceId);
  });
});

describe('poolmgr slow specialization', () => {
  it('fails a call with FUNCTION_INIT_FAILED when loading takes longer than initTimeoutMs', async (t) => {
    const pool = await openPool({ initTimeoutMs: 300 });
    t.after(() => pool.close());
    const slow = await writeFunction({ 'main.py': py('import time', 'time.sleep(10)', 'def handler(event, context):', '    return 1') });
    t.after(() => removeFunction(slow));
    // The import would take 10 s and then succeed: an InitTimeout can only come from the 300 ms limit
    // (the function's own timeout, when longer, would bound its init instead: e2e/gateway-asgi-startup).
    const result = await pool.invoke(fnVersion(slow, { timeoutMs: 200 }), ev());
    assert.equal(result.error?.code, 'FUNCTION_INIT_FAILED');
    assert.equal(result.error?.type, 'InitTimeout');
    assert.equal(pool.stats().specializing, 0);
  });

  it('a load that runs out of time keeps what it printed, says where it was, and its init time', async (t) => {
    // Before: `logs (none)` and init 0 ms for a module-level call that never answered.
    const pool = await openPool({ initTimeoutMs: 1500 });
    t.after(() => pool.close());
    const hanging = await writeFunction({
      'main.py': py('import time', 'def connect():', '    print("connecting to the database...", flush=True)', '    time.sleep(30)', 'connect()',
        'def handler(event, context):', '    return 1'),
    });
    t.after(() => removeFunction(hanging));
    const result = await pool.invoke(fnVersion(hanging, { timeoutMs: 200 }), ev());
    assert.equal(result.error?.type, 'InitTimeout');
    assert.match(result.error?.message ?? '', /did not load within 1500 ms; its log says where its load was/);
    const text = result.logs.map((l) => l.msg).join('\n');
    assert.match(text, /connecting to the database\.\.\./);
    // At 80 % of the limit (or 1 s before it): the function's own frames, innermost last.
    assert.match(text, /\[platform\] still loading after 1\.2 s \(the limit is 1\.5 s\); it is at:\n[^]*main\.py", line 5, in <module>[^]*main\.py", line 4, in connect/);
    assert.doesNotMatch(text, /fp_runtime|zygote\.py|importlib/, 'the runtime\'s own frames are not the function\'s');
    assert.ok(result.initMs >= 1400, `initMs ${result.initMs}`);
  });

  it('a runtime stopped while it loads (SIGSTOP) is RUNTIME_UNAVAILABLE, the platform\'s, not FUNCTION_INIT_FAILED; a hanging load still is', async (t) => {
    // Chaos round 4: a runtime SIGSTOPped during its specialize answered FUNCTION_INIT_FAILED
    // "the function did not load", blaming code that loads in 0.3 s (ADR 0233).
    const lines: string[] = [];
    const pool = await openPool({ initTimeoutMs: 1500, hostLog: (line) => lines.push(line) });
    t.after(() => pool.close());
    const { fn, call, pid: stopped } = await callWhileLoading(t, pool);
    process.kill(stopped, 'SIGSTOP');
    t.after(() => { try { process.kill(stopped, 'SIGCONT'); } catch { /* gone */ } });
    const result = await call;
    assert.equal(result.error?.code, 'RUNTIME_UNAVAILABLE', JSON.stringify(result.error));
    assert.equal(result.error?.type, 'RuntimeStalled');
    assert.equal(result.error?.class, null);
    assert.match(result.error?.message ?? '', /stopped answering while it loaded the function \(its process was stopped \(SIGSTOP/);
    assert.ok(lines.some((l) => l.includes(`a runtime of ${fn.name} version v1 was stopped while it loaded the function`)), lines.join('\n'));
    assert.doesNotMatch(result.error?.message ?? '', new RegExp(`\\b${stopped}\\b`), 'no host pid for the function\'s callers');
    await until(() => !isAlive(stopped), 15_000, 'the stopped runtime to be killed');
    // Not stopped, the same code loads.
    assert.equal((await pool.invoke(fn, ev())).error, null);
    // A load of the function's that hangs is still the function's.
    const hangs = await writeFunction({ 'main.py': py('import time', 'time.sleep(30)', 'def handler(event, context):', '    return 1') });
    t.after(() => removeFunction(hangs));
    const hung = await pool.invoke(fnVersion(hangs, { timeoutMs: 200 }), ev());
    assert.equal(hung.error?.code, 'FUNCTION_INIT_FAILED');
    assert.equal(hung.error?.type, 'InitTimeout');
  });

  it('a call whose runtime was stopped (SIGSTOP) when its time ran out says so in its FUNCTION_TIMEOUT', async (t) => {
    const pool = await openPool({});
    t.after(() => pool.close());
    const { call, pid: stopped } = await callWhileRunning(t, pool);
    process.kill(stopped, 'SIGSTOP');
    t.after(() => { try { process.kill(stopped, 'SIGCONT'); } catch { /* gone */ } });
    const result = await call;
    assert.equal(result.error?.code, 'FUNCTION_TIMEOUT');
    assert.match(result.error?.message ?? '', /did not finish within 1500 ms \(its process was stopped \(SIGSTOP or a job-control stop\) when the time ran out: not the function's doing\)/);
  });

  it('a load that exits keeps what it printed', async (t) => {
    const pool = await openPool({});
    t.after(() => pool.close());
    const exiting = await writeFunction({ 'main.py': py('import os', 'print("about to leave", flush=True)', 'os._exit(3)', 'def handler(event, context):', '    return 1') });
    t.after(() => removeFunction(exiting));
    const result = await pool.invoke(fnVersion(exiting), ev());
    assert.notEqual(result.error, null);
    assert.deepEqual(result.logs.map((l) => l.msg), ['about to leave']);
  });
});

describe('poolmgr spawn failures', () => {
  it('rejects start() with RUNTIME_UNAVAILABLE when the interpreter cannot start, its zygote bypassed (not waited for)', async (t) => {
    const pool = new PoolManager(defaultPoolConfig({ pythonPath: '/nonexistent/python', poolSize: 1 }));
    t.after(() => pool.close());
    await assert.rejects(pool.start(), (err: { code?: string }) => err.code === 'RUNTIME_UNAVAILABLE');
    // A spawn that fails emits no 'exit': the zygote was neither restarted nor bypassed, and start()
    // waited its whole spawnTimeoutMs (10 s) for it, twice.
    const zygote = (pool as unknown as { host: ProcessHost }).host.zygote('default')!;
    assert.equal(zygote.bypassed, true);
    assert.equal(zygote.starts, 3);
  });

  it('gives a call whose runtime died before it was given the function another runtime', async (t) => {
    // The interpreter fails its first start only (as a runtime forked by a zygote killed mid-fork).
    const dir = await writeFunction({ 'main.py': STEERED_HANDLER });
    t.after(() => removeFunction(dir));
    const mark = join(dir, 'failed-once');
    const wrapper = join(dir, 'python-once.sh');
    await writeFile(wrapper, `#!/bin/sh\nif [ ! -e ${mark} ]; then : > ${mark}; exit 1; fi\nexec ${defaultPoolConfig().pythonPath} "$@"\n`, { mode: 0o755 });
    const pool = new PoolManager(defaultPoolConfig({ pythonPath: wrapper, poolSize: 0, sandbox: 'off', zygotes: false }));
    t.after(() => pool.close());
    const result = await pool.invoke(fnVersion(dir), ev());
    assert.equal(result.error, null, JSON.stringify(result.error));
    assert.equal(result.cold, true);
  });

  it('starts failing in a row are told (/readyz degraded, RUNTIME_UNAVAILABLE, no path) until a runtime starts again (chaos round 3)', async (t) => {
    // The interpreter fails while the mark is there (as every spawn did with the host out of pids):
    // each call answered RUNTIME_UNAVAILABLE while /readyz said ready.
    const dir = await writeFunction({ 'main.py': STEERED_HANDLER });
    t.after(() => removeFunction(dir));
    const mark = join(dir, 'failing');
    await writeFile(mark, '');
    const wrapper = join(dir, 'python-while-marked.sh');
    await writeFile(wrapper, `#!/bin/sh\nif [ -e ${mark} ]; then exit 1; fi\nexec ${defaultPoolConfig().pythonPath} "$@"\n`, { mode: 0o755 });
    const pool = new PoolManager(defaultPoolConfig({ pythonPath: wrapper, poolSize: 0, sandbox: 'off', zygotes: false }));
    t.after(() => pool.close());
    for (let i = 0; i < 2; i++) assert.equal((await pool.invoke(fnVersion(dir), ev())).error?.code, 'RUNTIME_UNAVAILABLE');
    const failing = pool.startHealth()?.failing;
    assert.ok(failing !== undefined && failing.failures >= 3, JSON.stringify(pool.startHealth()));
    const [problem, ...more] = startsProblems(pool.startHealth());
    assert.equal(more.length, 0);
    assert.equal(problem?.code, 'RUNTIME_UNAVAILABLE');
    assert.equal(problem?.degraded, true, 'warm instances still serve: degraded, not refused');
    assert.match(problem!.message, /^no runtime could start since \d{4}-.*starts in a row failed; the platform's log says why/);
    assert.ok(!problem!.message.includes(dir), 'no path of the host to an anonymous /readyz');
    assert.doesNotMatch(problem!.message, /python-while-marked/);
    await rm(mark);
    const served = await pool.invoke(fnVersion(dir), ev());
    assert.equal(served.error, null, JSON.stringify(served.error));
    assert.equal(pool.startHealth()?.failing, undefined, 'a start ends the streak');
    assert.deepEqual(startsProblems(pool.startHealth()), []);
  });

  it('fails a call with RUNTIME_UNAVAILABLE when no runtime can be spawned', async (t) => {
    const pool = new PoolManager(defaultPoolConfig({ pythonPath: '/nonexistent/python', poolSize: 0 }));
    t.after(() => pool.close());
    const dir = await writeFunction({ 'main.py': STEERED_HANDLER });
    t.after(() => removeFunction(dir));
    const result = await pool.invoke(fnVersion(dir), ev());
    assert.equal(result.error?.code, 'RUNTIME_UNAVAILABLE');
    assert.equal(result.start, 'spawn');
    assert.equal(pool.stats().specializing, 0);
  });
});
