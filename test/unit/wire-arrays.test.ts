/**
 * Protocol v4 (docs/adr/0057-fixed-position-frames.md): the `invoke` and `result` arrays have the
 * same positions on both sides. protocol/wire-arrays.ts (TypeScript) and runtime/fp_runtime/frames.py
 * (Python) each define them once; this pins the two against each other and against the documented
 * layout, with frames written by one side read by the other. Runs the runtime's Python (no I/O besides that).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  encodeFrame, encodeInvokeFrame, FrameDecoder, INVOKE, INVOKE_HTTP_VERSION, INVOKE_LENGTH, PROTOCOL_VERSION, RESULT, RESULT_LENGTH, resultToArray,
  type WireContext, type WireEvent,
} from '../../protocol/index.js';
import { repoRoot } from '../helpers/runtime-process.js';

const REPO = repoRoot();
const PYTHON = join(REPO, '.venv', 'bin', 'python');

function python(lines: string[], input?: Buffer): string {
  const script = ['import sys, json; sys.path.insert(0, sys.argv[1])', ...lines].join('\n');
  return execFileSync(PYTHON, ['-I', '-c', script, join(REPO, 'runtime')], input === undefined ? {} : { input }).toString().trim();
}

const EVENT: WireEvent = {
  method: 'PUT', path: '/a/b', rawQuery: 'x=1&x=2', query: [['x', '1'], ['x', '2']],
  headers: [['host', 'h'], ['x-r', '1'], ['x-r', '2']], body: Buffer.from('body'), requestId: 'req-1',
  rootPath: '/fn/f', scheme: 'https', client: ['10.0.0.1', 5000],
};
const CONTEXT: WireContext = { requestId: 'ctx-1', timeoutMs: 1234, attempt: 3 };

describe('fixed-position frames (protocol v4 and on)', () => {
  it('the documented layout, the same in TypeScript and Python', () => {
    assert.equal(PROTOCOL_VERSION, 6); // 5: WebSockets; 6: an invoke's optional HTTP version (INVOKE_HTTP_VERSION)
    assert.deepEqual(Object.entries(INVOKE).sort((a, b) => a[1] - b[1]).map(([k]) => k), [
      'tag', 'id', 'contextRequestId', 'timeoutMs', 'attempt', 'method', 'path', 'rawQuery', 'query', 'headers',
      'requestId', 'rootPath', 'scheme', 'client', 'body',
    ]);
    assert.equal(INVOKE_LENGTH, Object.keys(INVOKE).length);
    assert.deepEqual(Object.entries(RESULT).sort((a, b) => a[1] - b[1]).map(([k]) => k), [
      'tag', 'id', 'status', 'headers', 'body', 'latin1', 'logs', 'handlerMs', 'error',
    ]);
    assert.equal(RESULT_LENGTH, Object.keys(RESULT).length);
    const py = JSON.parse(python([
      'from fp_runtime import frames as F',
      'print(json.dumps({k: getattr(F, k) for k in dir(F) if k.startswith(("INVOKE_", "RESULT_")) or k == "PROTOCOL_VERSION"}))',
    ])) as Record<string, number | string>;
    assert.equal(py.PROTOCOL_VERSION, PROTOCOL_VERSION);
    assert.equal(py.INVOKE_LENGTH, INVOKE_LENGTH);
    assert.equal(py.INVOKE_HTTP_VERSION, INVOKE_HTTP_VERSION);
    assert.equal(INVOKE_HTTP_VERSION, INVOKE_LENGTH, 'the optional version follows the body');
    assert.equal(py.RESULT_LENGTH, RESULT_LENGTH);
    assert.equal(py.INVOKE_TAG, 'invoke');
    assert.equal(py.RESULT_TAG, 'result');
    const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
    for (const [k, at] of Object.entries(INVOKE)) if (k !== 'tag') assert.equal(py[`INVOKE_${snake(k)}`], at, k);
  });

  it('an invoke written by the gateway is read by the runtime field by field', () => {
    const frame = Buffer.concat(encodeInvokeFrame(77, EVENT, CONTEXT));
    const out = JSON.parse(python([
      'from fp_runtime.frames import Decoder, invoke_message, is_invoke',
      'from fp_runtime.event import Context, event_from_invoke',
      '[a] = Decoder().feed(sys.stdin.buffer.read())',
      'assert is_invoke(a), a',
      'm = invoke_message(a)',
      'm["event"]["body"] = bytes(m["event"]["body"]).decode()',
      'e = event_from_invoke(a); e["body"] = e["body"].decode()',
      'c = Context.of_invoke(a, "f", "1", None)',
      'print(json.dumps({"raw": [x if not isinstance(x, bytes) else x.decode() for x in a], "message": m, "event": e,',
      '                  "context": [c.request_id, c.attempt, 0 < c.remaining_ms <= 1234]}))',
    ], frame)) as { raw: unknown[]; message: Record<string, unknown>; event: Record<string, unknown>; context: unknown[] };
    assert.deepEqual(out.raw, ['invoke', 77, 'ctx-1', 1234, 3, 'PUT', '/a/b', 'x=1&x=2', ['x', '1', 'x', '2'],
      ['host', 'h', 'x-r', '1', 'x-r', '2'], 'req-1', '/fn/f', 'https', ['10.0.0.1', 5000], 'body']);
    assert.deepEqual(out.message, { t: 'invoke', id: 77, context: CONTEXT, event: { ...EVENT, body: 'body' } });
    assert.deepEqual(out.event, {
      method: 'PUT', path: '/a/b', rawQuery: 'x=1&x=2', query: { x: '2' }, multiQuery: { x: ['1', '2'] },
      headers: { host: 'h', 'x-r': '1, 2' }, multiHeaders: { host: ['h'], 'x-r': ['1', '2'] }, body: 'body', requestId: 'req-1',
      clientIp: '10.0.0.1', scheme: 'https', httpVersion: '1.1',
    });
    assert.deepEqual(out.context, ['ctx-1', 3, true]);
    // The optional fields absent: nil at their positions.
    const { rootPath: _r, scheme: _s, client: _c, ...bare } = EVENT;
    const nils = python([
      'from fp_runtime.frames import Decoder, invoke_message',
      '[a] = Decoder().feed(sys.stdin.buffer.read())',
      'print(a[11:14], sorted(invoke_message(a)["event"]))',
    ], Buffer.concat(encodeInvokeFrame(1, bare as WireEvent, CONTEXT)));
    assert.equal(nils, "[None, None, None] ['body', 'headers', 'method', 'path', 'query', 'rawQuery', 'requestId']");
  });

  it('an ASGI scope read from the invoke array is the scope of its map form', () => {
    // invoke.run_asgi builds the scope from the array (scope.scope_of_invoke); tests and the
    // zygote's warm-up build it from the map (scope.build_scope): the same scope, field by field.
    const { rootPath: _r, scheme: _s, client: _c, ...bare } = EVENT;
    const odd = { ...EVENT, path: '/a%20b/%C3%A9', rootPath: '/fn/f%2Dx', scheme: 'ftp', client: ['', 1] };
    const frames = [EVENT, bare as WireEvent, odd as unknown as WireEvent].map((e, i) => encodeInvokeFrame(i + 1, e, CONTEXT));
    assert.deepEqual(JSON.parse(python([
      'from fp_runtime.frames import Decoder, invoke_message',
      'from fp_runtime.scope import build_scope, scope_of_invoke',
      'import warnings; warnings.simplefilter("ignore")  # FastAPI deprecates root_path; apps still set it',
      'from fastapi import FastAPI',
      'own = FastAPI(root_path="/api")  # only a FastAPI app declares a prefix of its own (ADR 0079)',
      'out = []',
      'for a in Decoder().feed(sys.stdin.buffer.read()):',
      '    for app in (None, own):',
      '        got, want = scope_of_invoke(a, app), build_scope(invoke_message(a)["event"], app)',
      '        assert got == want and len(got["headers"]) == 3, (got, want)',
      '        out.append((got["path"], got["root_path"], got["scheme"], got["client"]))',
      'print(json.dumps(out))',
    ], Buffer.concat(frames.flat()))), [
      ['/fn/f/a/b', '/fn/f', 'https', ['10.0.0.1', 5000]], ['/a/b', '/fn/f', 'https', ['10.0.0.1', 5000]],
      ['/a/b', '', 'http', ['127.0.0.1', 0]], ['/a/b', '', 'http', ['127.0.0.1', 0]],
      ['/fn/f-x/a b/é', '/fn/f-x', 'http', ['127.0.0.1', 0]], ['/a b/é', '/fn/f-x', 'http', ['127.0.0.1', 0]],
    ]);
  });

  it('a v3 map invoke (tests, hand-written hosts) becomes the same array the gateway writes', () => {
    const v10: WireEvent = { ...EVENT, httpVersion: '1.0' };
    const frame = Buffer.concat([encodeFrame({ t: 'invoke', id: 77, event: EVENT, context: CONTEXT }), ...encodeInvokeFrame(77, EVENT, CONTEXT),
      encodeFrame({ t: 'invoke', id: 78, event: v10, context: CONTEXT }), ...encodeInvokeFrame(78, v10, CONTEXT)]);
    assert.equal(python([
      'from fp_runtime.frames import Decoder',
      '[a, b, c, d] = Decoder().feed(sys.stdin.buffer.read())',
      'for x in (a, b, c, d): x[14] = bytes(x[14])',
      'print(a == b, c == d, len(d), d[-1])',
    ], frame), 'True True 16 1.0');
  });

  it('a result written by the runtime is read by the gateway as the message', () => {
    const lines = python([
      'from fp_runtime.frames import encode, encode_result, encode_json_result',
      'from fp_runtime import responses  # registers the JSON answer\'s constant head (known_headers)',
      'logs = [{"stream": "stdout", "ts": 1.5, "msg": "h\\u00e9"}]',
      'out = [encode_result(5, {"status": 201, "headers": [["a", "b"]], "body": b"xy"}, logs, 2.5),',
      '       encode_json_result(6, b"{}", [], 0.5),',
      '       encode({"t": "result", "id": 7, "response": {"status": 500, "headers": [["x", "\\u00ff"]], "body": b"e", "latin1": True},',
      '               "error": {"code": "USER_ERROR"}, "logs": [], "handlerMs": 1.0})]',
      'print(b"".join(out).hex())',
    ]);
    const got = new FrameDecoder().push(Buffer.from(lines, 'hex'));
    const plain = JSON.parse(JSON.stringify(got, (_k, v: unknown) => ((v as { type?: string })?.type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v))) as unknown;
    assert.deepEqual(plain, [
      { t: 'result', id: 5, response: { status: 201, headers: [['a', 'b']], body: 'xy' }, logs: [{ stream: 'stdout', ts: 1.5, msg: 'hé' }], handlerMs: 2.5 },
      { t: 'result', id: 6, response: { status: 200, headers: [['content-type', 'application/json']], body: '{}' }, logs: [], handlerMs: 0.5 },
      { t: 'result', id: 7, response: { status: 500, headers: [['x', 'ÿ']], body: 'e', latin1: true }, logs: [], handlerMs: 1, error: { code: 'USER_ERROR' } },
    ]);
  });

  it('a result array written by TypeScript is the one Python writes', () => {
    const message = { t: 'result' as const, id: 9, response: { status: 200, headers: [['a', 'b']] as [string, string][], body: Buffer.from('ok') }, logs: [], handlerMs: 1.25 };
    const ts = encodeFrame(resultToArray(message));
    const py = python([
      'from fp_runtime.frames import encode_result',
      'print(encode_result(9, {"status": 200, "headers": [["a", "b"]], "body": b"ok"}, [], 1.25).hex())',
    ]);
    assert.equal(ts.toString('hex'), py);
    // Anything but a well-formed result array is given to the receiver as it is (it reports it).
    assert.deepEqual(new FrameDecoder().push(encodeFrame(['result', 1])), [['result', 1]]);
  });
});
