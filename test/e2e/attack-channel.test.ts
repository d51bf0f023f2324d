/**
 * Red team, part 4 (December 2026, second probe): the runtime's own channel. User code runs in the
 * runtime's process, so it can write frames of its own on fd 3: replies, log batches, errors,
 * with any shape msgpack can carry. Whatever it writes may only ever concern its own call; the
 * platform's bounds (the run's log cap, error texts) and its records must hold as if the
 * runtime had written the frames itself.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { deployed, fnName, py, runsWritten } from './platform-harness.js';
import { useAttackPlatform, victimStillAnswers } from './attack-harness.js';

const h = useAttackPlatform();

/** Python: `conn` (the runtime's channel), `mid` (this call's message id) and `send(message)`. */
const FORGE = [
  'import gc, sys, time',
  'from fp_runtime.conn import Conn',
  'frame = sys._getframe()',
  'while frame is not None and frame.f_code.co_name not in ("run_sync", "run_async"): frame = frame.f_back',
  'mid = frame.f_locals["mid"]',
  'conn = [o for o in gc.get_objects() if isinstance(o, Conn)][0]',
  'send = conn.send',
].join('\n');

interface Answer {
  status: number;
  runId: string;
  text: string;
}

/** Runs `code` after FORGE in the attacker; the run id comes from the response's header. */
async function forge(code: string): Promise<Answer> {
  const res = await fetch(`${h.url}/fn/${h.attacker}/`, { method: 'POST', body: `${FORGE}\n${code}` });
  return { status: res.status, runId: res.headers.get('x-run-id') ?? '', text: await res.text() };
}

interface StoredRun {
  status: string;
  logs: { stream: string; ts: number; msg: string; level?: string }[];
  error: { code: string; type: string; message: string; stack?: string; file?: string; line?: number } | null;
}

async function runOf(runId: string): Promise<StoredRun> {
  await runsWritten(h.url);
  const res = await h.api.call('GET', `/runs/${runId}`);
  assert.equal(res.status, 200, `run ${runId}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  return (res.body as { run: StoredRun }).run;
}

/** The platform's bound on a call's lines (512 Ki units: characters + 40 per line), with room for JSON. */
const LOG_CAP_CHARS = 640 * 1024;

/** Characters of log text a record holds (what its lines cost the store, about). */
function logChars(run: StoredRun): number {
  return run.logs.reduce((n, l) => n + 40 + JSON.stringify(l).length, 0);
}

describe('attack: frames forged on the runtime\'s channel', () => {
  after(async () => {
    await victimStillAnswers(h);
  });

  it('a forged reply carrying 20 MB of log lines: the run record keeps at most the log cap, with the platform\'s notice', async () => {
    const res = await forge([
      'line = {"stream": "stdout", "ts": time.time() * 1000, "msg": "A" * 1000}',
      'send({"t": "result", "id": mid, "response": {"status": 200, "headers": [], "body": b"forged"}, "logs": [line] * 20000, "handlerMs": 1})',
      'time.sleep(0.3)',
    ].join('\n'));
    assert.equal(res.status, 200, res.text);
    const run = await runOf(res.runId);
    assert.ok(logChars(run) < LOG_CAP_CHARS, `the record holds ${logChars(run)} characters of logs`);
    assert.match(run.logs[run.logs.length - 1]!.msg, /^\[logs truncated by the platform: \d+ lines dropped\]$/);
  });

  it('forged log batches add up to the same cap as the reply\'s lines: streamed and final together', async () => {
    const res = await forge([
      'line = {"stream": "stdout", "ts": time.time() * 1000, "msg": "B" * 100000}',
      'for _ in range(8): send({"t": "logs", "id": mid, "logs": [line]})',
      'send({"t": "result", "id": mid, "response": {"status": 200, "headers": [], "body": b"x"}, "logs": [line] * 8, "handlerMs": 1})',
      'time.sleep(0.3)',
    ].join('\n'));
    assert.equal(res.status, 200, res.text);
    const run = await runOf(res.runId);
    assert.ok(logChars(run) < LOG_CAP_CHARS, `the record holds ${logChars(run)} characters of logs`);
  });

  it('log batches forged for the load (the specialize id, streamed since ADR 0081) are bounded by the same cap, never held past it', async () => {
    // 20 MB sent while loading: the host takes them through one call's budget as they arrive.
    const name = fnName('loadflood');
    await deployed(h.api, name, { 'main.py': py(
      'import gc, sys, time',
      'from fp_runtime.conn import Conn',
      'frame = sys._getframe()',
      'while frame is not None and frame.f_code.co_name != "_generic": frame = frame.f_back',
      'sid = frame.f_locals["msg"]["id"]',
      'conn = [o for o in gc.get_objects() if isinstance(o, Conn)][0]',
      'line = {"stream": "stdout", "ts": time.time() * 1000, "msg": "C" * 100000}',
      'for _ in range(200): conn.send({"t": "logs", "id": sid, "logs": [line]})',
      'def handler(event, context):',
      '    return {"ok": True}',
    ) }, {}, { check: false }); // its load is what is under test, at its first call (a deploy's start check refuses it)
    const res = await fetch(`${h.url}/fn/${name}/`);
    const runId = res.headers.get('x-run-id') ?? '';
    await res.text();
    const run = await runOf(runId);
    assert.ok(logChars(run) < LOG_CAP_CHARS, `the record holds ${logChars(run)} characters of logs`);
    assert.ok(run.logs.some((l) => l.msg.startsWith('CCCC')), `the lines within the budget are kept: ${res.status} ${JSON.stringify(run.error)} ${run.logs.length}`);
  });

  it('malformed log lines (null, numbers, a non-string message, an object for a stream) never reach the record: the function\'s logs still answer', async () => {
    const res = await forge([
      'bad = [None, 5, "text", [1, 2], {"stream": {"x": 1}, "ts": "abc", "msg": 123}, {"stream": "stdout", "ts": 1, "msg": {"nested": "x" * 10}}]',
      'good = {"stream": "stderr", "ts": float("nan"), "msg": "kept", "level": {"a": 1}}',
      'send({"t": "logs", "id": mid, "logs": bad + [good]})',
      'time.sleep(0.3)',
      'send({"t": "result", "id": mid, "response": {"status": 200, "headers": [], "body": b"x"}, "logs": bad, "handlerMs": 1})',
      'time.sleep(0.3)',
    ].join('\n'));
    assert.equal(res.status, 200, res.text);
    const run = await runOf(res.runId);
    for (const line of run.logs) {
      assert.equal(typeof line.msg, 'string', JSON.stringify(line));
      // `platform`: the host's own notice that it dropped lines (never a stream the runtime can name).
      assert.ok(['stdout', 'stderr', 'log'].includes(line.stream) || (line.stream === 'platform' && line.msg.startsWith('[logs truncated by the platform: ')), JSON.stringify(line));
      assert.ok(Number.isFinite(line.ts), JSON.stringify(line));
      assert.ok(line.level === undefined || typeof line.level === 'string', JSON.stringify(line));
    }
    assert.ok(run.logs.some((l) => l.msg === 'kept'));
    const logs = await h.api.call('GET', `/functions/${h.attacker}/logs?runId=${res.runId}`);
    assert.equal(logs.status, 200, JSON.stringify(logs.body));
  });

  it('a forged error with 20 MB of text and a file that is no string: FUNCTION_ERROR, a recorded run, its error bounded', async () => {
    const res = await forge([
      'err = {"class": "user_error", "type": "T" * 1000000, "message": "M" * 10000000, "stack": "S" * 10000000, "file": {"a": 1}, "line": "x" * 1000}',
      'send({"t": "error", "id": mid, "error": err, "logs": [], "fatal": False, "handlerMs": 1})',
      'time.sleep(0.3)',
    ].join('\n'));
    assert.equal(res.status, 500, res.text);
    assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'FUNCTION_ERROR');
    const run = await runOf(res.runId);
    assert.equal(run.status, 'failed');
    const error = run.error!;
    assert.ok(JSON.stringify(error).length < 256 * 1024, `the recorded error holds ${JSON.stringify(error).length} characters`);
    assert.equal(error.file, undefined);
    assert.equal(error.line, undefined);
  });

  it('a forged reply with CR LF in a header, status 101 or a header that is no pair: 502 FUNCTION_BAD_RESPONSE (the gateway checks what the runtime would have)', async () => {
    for (const response of [
      '{"status": 200, "headers": [["x-a", "v\\r\\nSet-Cookie: forged=1"]], "body": b"x"}',
      '{"status": 101, "headers": [], "body": b"x"}',
      '{"status": 200, "headers": [[1, 2], None], "body": b"x"}',
      '{"status": float("nan"), "headers": [], "body": b"x"}',
    ]) {
      const res = await forge(`send({"t": "result", "id": mid, "response": ${response}, "logs": [], "handlerMs": 1})\ntime.sleep(0.3)`);
      assert.equal(res.status, 502, `${response}: ${res.status} ${res.text}`);
      assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'FUNCTION_BAD_RESPONSE', response);
    }
  });

  it('a message of an unknown type named with 1 MB of escapes and newlines: RUNTIME_PROTOCOL_ERROR naming it in a few escaped characters', async () => {
    const res = await forge('send({"t": "\\u001b[31m\\nplatform: forged " + "x" * 1000000, "id": mid})\ntime.sleep(0.5)');
    assert.equal(res.status, 502, res.text.slice(0, 300));
    const error = (JSON.parse(res.text) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'RUNTIME_PROTOCOL_ERROR');
    assert.ok(error.message.length < 200, `${error.message.length} characters`);
    assert.equal(/[\u001b\n]/.test(error.message), false, error.message);
  });

  it('a protocol violation ends what the runtime says: a result in the same write after it is not delivered', async () => {
    for (const bad of ['{"no": "type"}', '{"t": "bogus", "id": mid}']) {
      const res = await forge([
        'from fp_runtime.frames import encode',
        `blob = encode(${bad}) + encode({"t": "result", "id": mid, "response": {"status": 200, "headers": [], "body": b"after the violation"}, "logs": [], "handlerMs": 1})`,
        'with conn._lock: conn.sock.sendall(blob)',
        'time.sleep(1)',
      ].join('\n'));
      assert.equal(res.status, 502, `${bad}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'RUNTIME_PROTOCOL_ERROR', bad);
    }
  });

  it('frames of two million tiny items each: the runtime is cut at the first, and the platform keeps answering others at once', async () => {
    const victim = async (): Promise<number> => {
      const at = performance.now();
      await victimStillAnswers(h);
      return performance.now() - at;
    };
    await victim(); // warm
    const attackDone = forge([
      'lines = [{"s": 1}] * 2000000',
      'for _ in range(5): send({"t": "logs", "id": mid, "logs": lines})',
      'out("sent")',
    ].join('\n'));
    const latencies: number[] = [];
    let attackOver = false;
    void attackDone.then(() => { attackOver = true; });
    while (!attackOver) latencies.push(await victim());
    const res = await attackDone;
    assert.equal(res.status, 502, res.text.slice(0, 300));
    assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'RUNTIME_PROTOCOL_ERROR');
    // Decoding one such frame took the platform's event loop ~2 s: every other call waited. The
    // bound leaves room for a loaded CI machine (a warm call is ~10 ms there), not for one frame's decode.
    assert.ok(Math.max(...latencies) < 1500, `the victim's calls took up to ${Math.round(Math.max(...latencies))} ms`);
  });

  it('a flood of small frames nobody asked for (health, replies for ended calls, empty log batches) ends the runtime after a few', async () => {
    for (const frame of [
      '{"t": "health", "id": 0, "ok": True, "rssBytes": 0, "inflight": 0}',
      '{"t": "result", "id": 1, "response": {"status": 200, "headers": [], "body": b""}, "logs": [], "handlerMs": 1}',
      '{"t": "logs", "id": mid, "logs": [None]}',
      '{"t": "error", "id": 0, "error": {"class": "protocol_error", "type": "X", "message": "x"}, "logs": [], "fatal": False}',
    ]) {
      const at = performance.now();
      const res = await forge([
        'from fp_runtime.frames import encode',
        `blob = encode(${frame}) * 5000`,
        'end = time.time() + 40',
        'with conn._lock:',
        '    while time.time() < end: conn.sock.sendall(blob)',
        'out("flooded for 40 s")',
      ].join('\n'));
      assert.equal(res.status, 502, `${frame}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'RUNTIME_PROTOCOL_ERROR', frame);
      // Not flooded to the end (40 s): the bound is far from both, for a loaded machine.
      assert.ok(performance.now() - at < 20_000, `${frame}: the flood ran ${Math.round(performance.now() - at)} ms`);
    }
  });

  it('replies forged for other message ids and a late "specialized" change nothing: the call answers with its own result', async () => {
    const res = await forge([
      'for other in (0, mid + 1, mid + 2, 10 ** 9):',
      '    send({"t": "result", "id": other, "response": {"status": 200, "headers": [], "body": b"forged"}, "logs": [], "handlerMs": 1})',
      'send({"t": "specialized", "id": mid, "initMs": 1, "contract": "asgi", "logs": []})',
      'out("own answer")',
    ].join('\n'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((JSON.parse(res.text) as { out: string[] }).out, ['own answer']);
    // And the instance still serves its next call normally.
    const next = await forge('out(1)');
    assert.equal(next.status, 200, next.text);
  });
});
