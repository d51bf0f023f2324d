/**
 * The dispatcher with a REAL Python function behind the AttemptRunner seam: a real PoolManager
 * runs a handler that fails on its first two attempts (it counts calls in a file in its own
 * directory and reads `context.attempt`), over the real SQLite queue and timeline.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pidNamed, pyNameSelf } from '../helpers/processes.js';
import { Dispatcher, enqueueRun, openSqliteTimeline, type AttemptOutcome, type AttemptRunner } from '../../controlplane/async/index.js';
import { openSqliteQueue } from '../../controlplane/async/index.js';
import { httpStatus, type ErrorCode } from '../../protocol/index.js';
import type { FunctionVersion, PoolManager } from '../../poolmgr/index.js';
import { makeEvent } from '../helpers/runtime-process.js';
import { fnVersion, openPool, py, removeFunction, writeFunction } from './poolmgr-harness.js';
import { drained, settled } from './dispatcher-harness.js';

const FLAKY_HANDLER = py(
  'import json, os',
  'COUNTER = "/tmp/calls.txt"  # the instance\'s private /tmp (its code directory is read-only)',
  'def handler(event, context):',
  '    calls = int(open(COUNTER).read()) + 1 if os.path.exists(COUNTER) else 1',
  '    with open(COUNTER, "w") as f: f.write(str(calls))',
  '    if context.attempt < 3: raise RuntimeError(f"attempt {context.attempt} fails")',
  '    return {"attempt": context.attempt, "calls": calls}',
);

/** A test-sized stand-in for the gateway's runner: one pool call per attempt, the result mapped. */
class PoolRunner implements AttemptRunner {
  constructor(private readonly pool: PoolManager, private readonly fn: FunctionVersion) {}
  async run(job: { payload: Buffer; attempt: number }, signal: AbortSignal): Promise<AttemptOutcome> {
    const started = performance.now();
    const event = makeEvent({ method: 'POST', body: new Uint8Array(job.payload) });
    const r = await this.pool.invoke(this.fn, event, { attempt: job.attempt, signal });
    const status = r.response?.status ?? (r.error ? httpStatus(r.error.code as ErrorCode) : 500);
    const base = { cold: r.cold, durationMs: performance.now() - started, initMs: r.initMs, handlerMs: r.handlerMs };
    if (r.error === null) return { ok: status < 400, httpStatus: status, errorCode: null, errorClass: null, ...base };
    const { type, message, file, line } = r.error;
    return {
      ok: false, httpStatus: status, errorCode: r.error.code, errorClass: r.error.class, ...base,
      error: { type, message, ...(file === undefined ? {} : { file }), ...(line === undefined ? {} : { line }) },
    };
  }
}

describe('dispatcher with a real Python function', () => {
  it('fails twice, then succeeds on the third attempt (context.attempt = 3)', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-dispatch-py-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const dir = await writeFunction({ 'main.py': FLAKY_HANDLER });
    t.after(() => removeFunction(dir));
    const pool = await openPool();
    t.after(() => pool.close());
    const queue = await openSqliteQueue({ stateDir, leaseMs: 2_000 });
    const timeline = await openSqliteTimeline({ stateDir });
    const fn = fnVersion(dir);
    const dispatcher = new Dispatcher({
      queue, timeline, runner: new PoolRunner(pool, fn), leaseMs: 2_000, pollMs: 20, concurrency: 2,
      policies: { policyFor: () => ({ backoffBaseMs: 20, backoffMaxMs: 50 }) },
    });
    t.after(async () => { await dispatcher.stop(); await queue.close(); await timeline.close(); });

    const runId = randomUUID();
    await enqueueRun(queue, timeline, { runId, function: fn.name, payload: Buffer.from('hello') }, Date.now());
    dispatcher.start();
    const view = await settled(timeline, runId, 20_000);

    assert.deepEqual(view.transitions.map((s) => s.state), ['queued', 'running', 'retried', 'running', 'retried', 'running', 'succeeded']);
    assert.deepEqual(view.attempts.map((a) => [a.attempt, a.status, a.errorCode, a.errorClass]), [
      [1, 'failed', 'FUNCTION_ERROR', 'user_error'],
      [2, 'failed', 'FUNCTION_ERROR', 'user_error'],
      [3, 'succeeded', null, null],
    ]);
    assert.equal(view.attempts[0]?.error?.type, 'RuntimeError');
    assert.match(view.attempts[0]?.error?.message ?? '', /attempt 1 fails/);
    assert.equal(view.attempts[0]?.cold, true);
    // The handler counted its calls in its instance's /tmp: a fourth call on the same warm instance says 4.
    const again = await pool.invoke(fn, makeEvent({ body: Buffer.from('again') }), { attempt: 3 });
    assert.deepEqual(JSON.parse(Buffer.from(again.response!.body).toString('utf8')), { attempt: 3, calls: 4 });
    assert.deepEqual(await drained(queue), { delayed: 0, ready: 0, leased: 0, dead: 0 });
  });

  it('an attempt whose runtime was stopped while it loaded (RUNTIME_UNAVAILABLE) spends none of maxAttempts: 1', async (t) => {
    // Chaos round 4: such an attempt (the platform's fault) was the run's only one, and the run
    // failed `max_attempts` without its code ever running (ADR 0234).
    const stateDir = await mkdtemp(join(tmpdir(), 'fp-dispatch-py-'));
    t.after(() => rm(stateDir, { recursive: true, force: true }));
    const tag = `st-${randomUUID().slice(0, 8)}`;
    const dir = await writeFunction({ 'main.py': py('import time', pyNameSelf(tag), 'time.sleep(0.5)',
      'def handler(event, context):', '    return {"attempt": context.attempt}') });
    t.after(() => removeFunction(dir));
    const pool = await openPool({ initTimeoutMs: 1500 });
    t.after(() => pool.close());
    const queue = await openSqliteQueue({ stateDir, leaseMs: 5_000 });
    const timeline = await openSqliteTimeline({ stateDir });
    const fn = fnVersion(dir, { timeoutMs: 200 });
    const dispatcher = new Dispatcher({
      queue, timeline, runner: new PoolRunner(pool, fn), leaseMs: 5_000, pollMs: 20, concurrency: 1,
      policies: { policyFor: () => ({ maxAttempts: 1, backoffBaseMs: 20, backoffMaxMs: 50 }) },
    });
    t.after(async () => { await dispatcher.stop(); await queue.close(); await timeline.close(); });
    const runId = randomUUID();
    await enqueueRun(queue, timeline, { runId, function: fn.name, payload: Buffer.from('hello') }, Date.now());
    dispatcher.start();
    // The first attempt's runtime is stopped while it loads.
    let stopped = 0;
    const deadline = Date.now() + 15_000;
    while ((stopped = pidNamed(tag)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(stopped > 0, 'the loading runtime');
    process.kill(stopped, 'SIGSTOP');
    t.after(() => { try { process.kill(stopped, 'SIGCONT'); } catch { /* gone */ } });
    const view = await settled(timeline, runId, 20_000);
    assert.deepEqual(view.attempts.map((a) => [a.attempt, a.status, a.errorCode]), [[1, 'failed', 'RUNTIME_UNAVAILABLE'], [2, 'succeeded', null]]);
    assert.match(view.transitions.find((s) => s.state === 'retried')?.detail ?? '', /^code:RUNTIME_UNAVAILABLE; attempt 2 at \S+ \(the platform's fault: not counted in maxAttempts\)$/);
  });
});
