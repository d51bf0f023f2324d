/**
 * A call's logs and handler time as the pool puts them together (no runtime): import-time lines,
 * then streamed batches, then the reply's; a failed call keeps what was streamed; the host's bound
 * on streamed lines.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Call } from '../../poolmgr/call.js';
import { boundedLogLines, levelOf, MAX_CALL_LOG_UNITS } from '../../protocol/index.js';
import { FunctionGroup } from '../../poolmgr/group.js';
import { hostError } from '../../poolmgr/outcome.js';
import type { FunctionVersion } from '../../poolmgr/types.js';
import type { LogLine, WireEvent } from '../../protocol/index.js';

const FN: FunctionVersion = {
  name: 'f', version: 'v1', dir: '/tmp/f', entrypoint: 'main:handler', env: {}, memoryBytes: 0,
  timeoutMs: 1_000, concurrency: 1, maxInstances: 1, minWarm: 0, maxQueue: 1,
};
const EVENT: WireEvent = { method: 'GET', path: '/', rawQuery: '', query: [], headers: [], body: new Uint8Array(0), requestId: 'r' };
const CRASH = hostError('RUNTIME_CRASHED', 'crash', 'RuntimeExited', 'the runtime process died during the call');

const line = (msg: string): LogLine => ({ stream: 'stdout', ts: 1, msg });
const msgs = (logs: LogLine[]): string[] => logs.map((l) => l.msg);

function newCall(): Call {
  return new Call(new FunctionGroup('f@v1', FN), EVENT, undefined, 1, performance.now());
}

describe('poolmgr call logs', () => {
  it('puts import-time lines, streamed batches and the reply\'s lines together, in that order', async () => {
    const call = newCall();
    call.initLogs = [line('imported')];
    call.addLogs([line('a'), line('b')]);
    call.addLogs([line('c')]);
    call.finish({ status: 200, headers: [], body: new Uint8Array(0) }, null, [line('d')], 5);
    const result = await call.promise;
    assert.deepEqual(msgs(result.logs), ['imported', 'a', 'b', 'c', 'd']);
    assert.equal(result.handlerMs, 5);
  });

  it('a call failed without a reply keeps what was streamed, and a started one reports the time it ran', async () => {
    const call = newCall();
    call.started = true;
    call.startedAt = performance.now() - 250;
    call.addLogs([line('before the crash')]);
    call.fail(CRASH);
    const result = await call.promise;
    assert.deepEqual(msgs(result.logs), ['before the crash']);
    assert.ok(result.handlerMs >= 250 && result.handlerMs < 10_000, `handlerMs ${result.handlerMs}`);
    call.addLogs([line('late')]); // after the end: ignored
    assert.deepEqual(msgs(result.logs), ['before the crash']);
  });

  it('a call that never started reports handlerMs 0', async () => {
    const call = newCall();
    call.fail(CRASH);
    assert.equal((await call.promise).handlerMs, 0);
  });

  it('bounds what streamed batches add up to, and says how many lines it dropped', async () => {
    const call = newCall();
    const big = 'x'.repeat(100_000);
    const count = Math.ceil(MAX_CALL_LOG_UNITS / 100_000) + 3;
    for (let i = 0; i < count; i++) call.addLogs([line(big)]);
    call.fail(CRASH);
    const { logs } = await call.promise;
    const kept = Math.floor(MAX_CALL_LOG_UNITS / (100_000 + 40));
    assert.equal(logs.length, kept + 1);
    assert.equal(logs[logs.length - 1]!.msg, `[logs truncated by the platform: ${count - kept} lines dropped]`);
  });
});

describe('poolmgr call logs from a runtime whose user code writes frames (protocol/runtime-reports.ts)', () => {
  it('counts the reply\'s lines in the same budget as the streamed ones', async () => {
    const call = newCall();
    const big = 'x'.repeat(100_000);
    call.addLogs([line(big), line(big), line(big)]);
    call.finish({ status: 200, headers: [], body: new Uint8Array(0) }, null, Array.from({ length: 10 }, () => line(big)), 1);
    const { logs } = await call.promise;
    const kept = Math.floor(MAX_CALL_LOG_UNITS / (100_000 + 40));
    assert.equal(logs.length, kept + 1);
    assert.equal(logs[logs.length - 1]!.msg, `[logs truncated by the platform: ${13 - kept} lines dropped]`);
  });

  it('drops what is no line and mends the fields of one that is', async () => {
    const call = newCall();
    call.addLogs([null, 5, 'text', [1], { stream: 'stdout', ts: 1, msg: { a: 1 } }]);
    call.addLogs({ not: 'a list' });
    call.finish(null, CRASH, [{ stream: { x: 1 }, ts: Number.NaN, msg: 'kept', level: { a: 1 } }], 1);
    const { logs } = await call.promise;
    assert.equal(logs.length, 2);
    assert.equal(logs[0]!.stream, 'stdout');
    assert.ok(Number.isFinite(logs[0]!.ts));
    assert.equal(logs[0]!.msg, 'kept');
    assert.equal('level' in logs[0]!, false);
    assert.equal(logs[1]!.msg, '[logs truncated by the platform: 5 lines dropped]');
  });
});

describe("the truncation notes are the platform's lines, not the function's stderr (ADR 0055, Round 4b)", () => {
  const marker = '[logs truncated: 1200 lines, 98304 bytes dropped]';
  it("the runtime's marker, the reply's last line, is stream platform (level warning); the same text elsewhere stays stderr", async () => {
    const call = newCall();
    call.addLogs([{ stream: 'stderr', ts: 1, msg: marker }]);
    call.finish({ status: 200, headers: [], body: new Uint8Array(0) }, null, [line('a'), { stream: 'stderr', ts: 2, msg: marker }], 1);
    const { logs } = await call.promise;
    assert.deepEqual(logs.map((l) => l.stream), ['stderr', 'stdout', 'platform']);
    assert.equal(levelOf(logs[2]!), 'warning');
    assert.equal(levelOf(logs[0]!), 'error');
    // A runtime cannot name its lines `platform` itself.
    const other = newCall();
    other.finish(null, CRASH, [{ stream: 'platform', ts: 1, msg: 'forged' }], 1);
    assert.equal((await other.promise).logs[0]!.stream, 'stdout');
  });

  it("the host's own notice is stream platform", async () => {
    const call = newCall();
    call.finish(null, CRASH, [null], 1);
    const { logs } = await call.promise;
    assert.equal(logs[0]!.msg, '[logs truncated by the platform: 1 lines dropped]');
    assert.equal(logs[0]!.stream, 'platform');
    assert.equal(boundedLogLines([{ stream: 'stderr', ts: 1, msg: marker }])[0]!.stream, 'platform');
  });
});
