/**
 * Run records and Server-Timing of failed calls, over real HTTP: a call whose runtime was killed
 * (timeout, SIGKILL, os._exit, out of memory) has the lines it printed before in its run record,
 * and a failing handler's Server-Timing reports the time it ran.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorOf, fnName, py, runRecord, useGateway } from './gateway-harness.js';

const FAILS = fnName('fails');
const TIMES_OUT = fnName('timesout');
const HUNGRY = fnName('hungry');

/** Prints "<path> before", waits 0.3 s (or ?sleep=S) unless told to exit at once, then fails as the path says. */
const FAILING = py(
  'import os, time',
  'def handler(event, context):',
  '    how = event["path"].strip("/")',
  '    print(how, "before")',
  '    if how != "exit":',
  '        time.sleep(float(event["query"].get("sleep", "0.3")))',
  '    if how == "raise": raise ValueError("failed late")',
  '    if how == "hang": time.sleep(60)',
  '    if how == "kill": os.kill(os.getpid(), 9)',
  '    if how == "exit": os._exit(3)',
  '    if how == "alloc": blob = bytearray(1 << 36); blob[-1] = 1', // past 16 × 64Mi of address space (ADR 0202)
  '    return 1',
);

const h = useGateway({
  [FAILS]: { files: { 'main.py': FAILING } },
  [TIMES_OUT]: { manifest: 'limits:\n  timeout: 1s', files: { 'main.py': FAILING } },
  [HUNGRY]: { manifest: 'limits:\n  memory: 64Mi', files: { 'main.py': FAILING } },
});

/** The `handler` entry of Server-Timing, in ms. */
function handlerTiming(res: Response): number {
  const match = /(?:^|, )handler;dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '');
  assert.ok(match, `Server-Timing: ${res.headers.get('server-timing')}`);
  return Number(match[1]);
}

describe('run records and Server-Timing of failed calls', () => {
  for (const [fn, how, status, code] of [
    [TIMES_OUT, 'hang', 504, 'FUNCTION_TIMEOUT'],
    [FAILS, 'kill', 502, 'RUNTIME_CRASHED'],
    [FAILS, 'exit', 502, 'RUNTIME_CRASHED'],
    [HUNGRY, 'alloc', 502, 'FUNCTION_OUT_OF_MEMORY'],
  ] as const) {
    it(`${status} ${code} (${how}): the run record has the line printed before`, async () => {
      const res = await fetch(`${h.url}/fn/${fn}/${how}`);
      assert.equal(res.status, status);
      const err = errorOf(await res.text());
      assert.equal(err.code, code, JSON.stringify(err));
      const run = await runRecord(h, err.runId!);
      assert.equal(run.errorCode, code);
      assert.deepEqual(run.logs.map((l) => l.msg), [`${how} before`]);
      if (how !== 'exit') {
        assert.ok(run.handlerMs >= 300, `run handlerMs ${run.handlerMs}`);
        assert.ok(handlerTiming(res) >= 300, `Server-Timing ${res.headers.get('server-timing')}`);
      }
    });
  }

  it('500 FUNCTION_ERROR from a handler that slept 200 ms: Server-Timing and the run record report handler >= 200 ms', async () => {
    const sent = performance.now();
    const res = await fetch(`${h.url}/fn/${FAILS}/raise?sleep=0.2`);
    const roundTripMs = performance.now() - sent;
    assert.equal(res.status, 500);
    const err = errorOf(await res.text());
    assert.equal(err.code, 'FUNCTION_ERROR');
    const handlerMs = handlerTiming(res);
    // In ms: at least the handler's sleep, at most the request as the client saw it.
    assert.ok(handlerMs >= 200 && handlerMs <= roundTripMs, `Server-Timing ${res.headers.get('server-timing')}, round trip ${roundTripMs.toFixed(1)} ms`);
    const run = await runRecord(h, err.runId!);
    assert.ok(run.handlerMs >= 200, `run handlerMs ${run.handlerMs}`);
    assert.deepEqual(run.logs.map((l) => l.msg), ['raise before']);
  });
});
