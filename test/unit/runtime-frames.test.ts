/**
 * The sync runtime's per-call shortcuts (issue 11; runtime/fp_runtime/frames.py, responses.py,
 * event.py) give what the generic paths give: a `result` reply encoded from constant pieces is
 * byte for byte what msgpack's Packer writes for its map, the decoder reading frames in place
 * returns what it returned frame by frame, the kept JSON encoder recovers from a failure, and
 * the one-header event equals the general one. Runs the runtime's Python (no I/O besides that).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FrameDecoder } from '../../protocol/index.js';
import { repoRoot } from '../helpers/runtime-process.js';

const REPO = repoRoot();
const PYTHON = join(REPO, '.venv', 'bin', 'python');

function python(lines: string[]): string {
  const script = ['import sys; sys.path.insert(0, sys.argv[1])', ...lines].join('\n');
  return execFileSync(PYTHON, ['-I', '-c', script, join(REPO, 'runtime')]).toString().trim();
}

describe('the sync runtime\'s frames', () => {
  it('a result reply built from pieces is the bytes the Packer writes for its map', () => {
    const out = python([
      'from fp_runtime.frames import encode, encode_result, encode_json_result',
      'from fp_runtime import responses as R',
      'n = 0',
      'logs_cases = [[], [{"stream": "stdout", "ts": 1.5, "msg": "h\\u00e9"}], [{"stream": "log", "ts": 2.0, "msg": "x", "level": "INFO"}] * 3]',
      'values = [{"a": 1}, [1, "two", None], {"x": "y" * 300}, {"x": "y" * 70000}, b"raw", None, "text", 7,',
      '          {"statusCode": 201, "headers": {"a": "b", "c": ["d", "e"]}, "body": "x" * 255},',
      '          {"statusCode": 302, "body": None}, {"statusCode": 200, "body": {"k": [1]}}]',
      'for mid in [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**40, -1]:',
      '    for logs in logs_cases:',
      '        for ms in [0.0, 0.0123, 1e300, float("nan")]:',
      '            for v in values:',
      '                response = R.to_response(v)',
      '                want = encode({"t": "result", "id": mid, "response": response, "logs": logs, "handlerMs": ms})',
      '                assert encode_result(mid, response, logs, ms) == want, (mid, v)',
      '                if type(v) in (dict, list) and "statusCode" not in v:',
      '                    assert encode_json_result(mid, R.json_body(v), logs, ms) == want, (mid, v)',
      '                n += 1',
      '            odd = {"status": 200, "headers": [], "body": b"", "extra": 1}',
      '            assert encode_result(mid, odd, logs, ms) == encode({"t": "result", "id": mid, "response": odd, "logs": logs, "handlerMs": ms})',
      'print(n)',
    ]);
    assert.ok(Number(out) > 1000, out);
  });

  it('a chunk frame built by hand is the chunk message, `t` first, and the host decodes it where it lies', () => {
    const out = python([
      'import msgpack',
      'from fp_runtime.frames import encode_chunk',
      'n = 0',
      'for mid in [0, 1, 127, 128, 65536, 2**32, 2**40]:',
      '    for size in [0, 1, 255, 256, 65535, 65536]:',
      '        for more in (True, False):',
      '            body = bytes(range(256)) * (size // 256 + 1)',
      '            frame = encode_chunk(mid, memoryview(body)[:size], more)',
      '            assert int.from_bytes(frame[:4], "big") == len(frame) - 4',
      '            assert frame[4:13] == b"\\x84\\xa1t\\xa5chunk"',
      '            assert msgpack.unpackb(frame[4:]) == {"t": "chunk", "id": mid, "more": more, "body": body[:size]}, (mid, size, more)',
      '            n += 1',
      'print(n, encode_chunk(7, b"abc", False).hex())',
    ]);
    const [count, hex] = out.split(' ') as [string, string];
    assert.equal(Number(count), 7 * 6 * 2);
    const decoded: unknown[] = [];
    new FrameDecoder().feed(Buffer.from(hex, 'hex'), (m) => decoded.push({ ...(m as object), body: Buffer.from((m as { body: Buffer }).body).toString() }));
    assert.deepEqual(decoded, [{ t: 'chunk', id: 7, more: false, body: 'abc' }]);
  });

  it('the decoder returns the same messages however the bytes arrive', () => {
    const out = python([
      'import msgpack',
      'from fp_runtime.frames import Decoder, FrameTooLarge, encode',
      'msgs = [{"t": "logs", "id": i, "event": {"body": b"x" * i * 37}} for i in range(40)]',
      'stream = b"".join(encode(m) for m in msgs[:20]) + b"\\x00\\x00\\x00\\x02\\xc1\\xc1" + b"".join(encode(m) for m in msgs[20:])',
      'def run(step, kind):',
      '    d = Decoder(); out = []',
      '    for i in range(0, len(stream), step):',
      '        out += d.feed(kind(stream[i:i + step]))',
      '    assert not d.buf, (step, len(d.buf))',
      '    return out',
      'whole = run(len(stream), bytes)',
      'assert [m for m in whole if isinstance(m, dict)] == msgs and type(whole[20]).__name__ == "BadFrame", whole[20]',
      'for step in [1, 2, 3, 5, 7, 64, 333, 4096]:',
      '    for kind in (bytes, bytearray, lambda b: memoryview(bytearray(b))):',
      '        got = run(step, kind)',
      '        assert [m for m in got if isinstance(m, dict)] == msgs and len(got) == 41, step',
      'd = Decoder()',
      'assert d.feed(encode(msgs[1])[:6]) == [] and len(d.buf) == 6',
      '# a v3 map invoke: made the v4 array, unless the reader takes maps (the bench\'s limit)',
      'v3 = {"t": "invoke", "id": 3, "event": {"method": "GET", "headers": [["host", "h"]]}}',
      'assert Decoder().feed(encode(v3))[0][:2] == ["invoke", 3]',
      'assert Decoder(invoke_maps=False).feed(encode(v3)) == [v3]',
      'try:',
      '    Decoder().feed(b"\\x7f\\xff\\xff\\xff")',
      '    raise SystemExit("no FrameTooLarge")',
      'except FrameTooLarge:',
      '    pass',
      'print("ok")',
    ]);
    assert.equal(out, 'ok');
  });

  it('the kept JSON encoder refuses a circular value and then encodes the next one', () => {
    const out = python([
      'from fp_runtime import responses as R',
      'from fp_runtime.errors import BadReturn',
      'loop = {"a": 1}; loop["self"] = loop',
      'for i in range(3):',
      '    try:',
      '        R.json_body(loop); raise SystemExit("no BadReturn")',
      '    except BadReturn:',
      '        pass',
      '    assert R.json_body({"a": [1, {"b": "\\u00fc"}]}) == \'{"a":[1,{"b":"\\u00fc"}]}\'.encode()',
      '    shared = [1]',
      '    assert R.json_body({"x": shared, "y": shared}) == b\'{"x":[1],"y":[1]}\'',
      '# taken by a caller (another thread, or re-entered): a fresh encoder, the same text',
      'R._kept_lock.acquire()',
      'assert R.json_body([1, 2]) == b"[1,2]"',
      'R._kept_lock.release()',
      'print("ok")',
    ]);
    assert.equal(out, 'ok');
  });

  it('an event with one header is the event the general path makes', () => {
    const out = python([
      'from fp_runtime import event as E',
      'wire = {"method": "GET", "path": "/", "rawQuery": "a=1&a=2", "query": [["a", "1"], ["a", "2"]], "headers": [["host", "h"]], "body": b"", "requestId": "r"}',
      'one = E.make_event(wire)',
      'assert one["headers"] == {"host": "h"} and one["multiHeaders"] == {"host": ["h"]}, one',
      'assert one["query"] == {"a": "2"} and one["multiQuery"] == {"a": ["1", "2"]}, one',
      'assert list(one) == ["method", "path", "rawQuery", "query", "multiQuery", "headers", "multiHeaders", "body", "requestId", "clientIp", "scheme", "httpVersion"]',
      // the request's HTTP version, as ASGI's scope says it (ADR 0260): "1.1" unless the gateway says 1.0
      'assert one["httpVersion"] == "1.1" and E.make_event({**wire, "httpVersion": "1.0"})["httpVersion"] == "1.0"',
      'assert one["clientIp"] is None and E.make_event({**wire, "client": ["10.1.2.3", 7]})["clientIp"] == "10.1.2.3"',
      '# the scheme the gateway determined (a trusted TLS proxy\'s word): a plain handler could not tell https (ops round 2)',
      'assert one["scheme"] is None and E.make_event({**wire, "scheme": "https"})["scheme"] == "https" and E.make_event({**wire, "scheme": "ftp"})["scheme"] is None',
      'two = E.make_event({**wire, "headers": [["x", "1"], ["x", "2"]], "query": []})',
      'assert two["headers"] == {"x": "1, 2"} and two["multiHeaders"] == {"x": ["1", "2"]} and two["query"] == {}, two',
      '# protocol v4: the event of an invoke array (flat query/headers) is the one of its map form',
      'from fp_runtime.frames import invoke_array',
      'for w in (wire, {**wire, "headers": [["x", "1"], ["x", "2"]], "query": []}, {**wire, "headers": []}, {**wire, "scheme": "https"}, {**wire, "scheme": "http"}, {**wire, "httpVersion": "1.0"}):',
      '    a = invoke_array({"t": "invoke", "id": 1, "event": w, "context": {}})',
      '    assert E.event_from_invoke(a) == E.make_event(w), (a, w)',
      'print("ok")',
    ]);
    assert.equal(out, 'ok');
  });

  it('the serial serve loop leaves a remote connection its own messages (a `code` frame mid-serve)', () => {
    const out = python([
      'import os, socket, tempfile, threading',
      'from fp_runtime import main, remote',
      'from fp_runtime.frames import Decoder, encode',
      'from fp_runtime.specialize import load',
      'fn = tempfile.mkdtemp(); code = tempfile.mkdtemp()',
      'open(os.path.join(fn, "main.py"), "w").write("def handler(event, context):\\n    return {\\"ok\\": event[\\"path\\"]}\\n")',
      'ours, host = socket.socketpair()',
      'conn = remote.RemoteConn(ours, code)',
      'loaded = load({"name": "f", "version": "1", "dir": fn})',
      'class Done(BaseException): pass',
      'def done(status): raise Done(status)',
      'main.os._exit = done',
      'def serve():',
      '    try: main._serve_sync(conn, loaded)',
      '    except Done: pass',
      't = threading.Thread(target=serve); t.start()',
      'event = {"method": "GET", "path": "/a", "rawQuery": "", "query": [], "headers": [["host", "h"]], "requestId": "r", "body": b""}',
      'host.sendall(encode({"t": "code", "id": 1, "dir": "/src", "files": [["x.txt", b"hi", 420]]}))',
      'host.sendall(encode({"t": "invoke", "id": 2, "context": {"requestId": "r", "timeoutMs": 1000, "attempt": 1}, "event": event}))',
      'd = Decoder(); got = []',
      'while not got: got += d.feed(host.recv(65536))',
      'host.close(); t.join(10)',
      'print(got[0][0], got[0][1], bytes(got[0][4]).decode(), sorted(conn.copies))',  // the result array (protocol v4)
    ]);
    assert.equal(out, 'result 2 {"ok":"/a"} [\'/src\']');
  });
});
