/**
 * protocol/invoke-frame.ts: the hand-written `invoke` frame decodes, with the generic decoder the
 * gateway uses for every other frame and with the runtime's own (Python, msgpack), to the message
 * it was built from; frames handed out never change when later ones are written.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeInvokeFrame, FrameDecoder, invokeFromArray, type WireContext, type WireEvent } from '../../protocol/index.js';
import { repoRoot } from '../helpers/runtime-process.js';

const REPO = repoRoot();
const PYTHON = join(REPO, '.venv', 'bin', 'python');

function event(over: Partial<WireEvent> = {}): WireEvent {
  return {
    method: 'POST', path: '/items/42', rawQuery: 'q=1&q=2', query: [['q', '1'], ['q', '2']],
    headers: [['host', 'example.com'], ['content-type', 'application/json']], body: Buffer.from('{"a":1}'),
    requestId: '0d3c5b0e-2f7a-4b47-9a53-1e0e7e0a4f11', rootPath: '/fn/hello', scheme: 'https', client: ['203.0.113.9', 51234],
    ...over,
  };
}
const CONTEXT: WireContext = { requestId: '0d3c5b0e-2f7a-4b47-9a53-1e0e7e0a4f11', timeoutMs: 30_000, attempt: 2 };

/** The frame (protocol v4: an array, protocol/wire-arrays.ts) read back as the message `{t, id, context, event}`. */
function decode(parts: Buffer[]): unknown {
  const messages = new FrameDecoder().push(Buffer.concat(parts));
  assert.equal(messages.length, 1);
  assert.ok(Array.isArray(messages[0]));
  return { t: 'invoke', ...invokeFromArray(messages[0] as unknown[]) };
}

/** What the decoder gives back: bodies as Uint8Array views, compared by content. */
function normal(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array || (v as { type?: string })?.type === 'Buffer' ? `bytes:${Buffer.from(v instanceof Uint8Array ? v : (v as { data: number[] }).data).toString('hex')}` : v)));
}

function roundTrip(ev: WireEvent, id = 7, ctx = CONTEXT): void {
  const got = decode(encodeInvokeFrame(id, ev, ctx));
  const expected: Record<string, unknown> = { ...ev };
  for (const key of ['rootPath', 'scheme', 'client', 'httpVersion'] as const) if (ev[key] === undefined) delete expected[key];
  assert.deepEqual(normal(got), normal({ t: 'invoke', id, context: ctx, event: expected }));
}

describe('encodeInvokeFrame', () => {
  it('decodes to the message it was built from', () => {
    roundTrip(event());
    roundTrip(event({ body: new Uint8Array(0), query: [], rawQuery: '' }), 0, { requestId: '', timeoutMs: 0, attempt: 1 });
  });

  it('leaves out the optional fields that are absent', () => {
    const { rootPath: _r, scheme: _s, client: _c, ...bare } = event();
    roundTrip(bare as WireEvent);
    const got = decode(encodeInvokeFrame(1, bare as WireEvent, CONTEXT)) as { event: Record<string, unknown> };
    assert.ok(!('rootPath' in got.event) && !('scheme' in got.event) && !('client' in got.event));
  });

  it('writes every string length and non-ASCII text (a lone surrogate as U+FFFD)', () => {
    for (const n of [0, 31, 32, 255, 256, 65_535, 65_536, 200_000]) roundTrip(event({ path: `/${'p'.repeat(n)}` }));
    roundTrip(event({ headers: [['x-name', 'Zoë ☃ 𝄞'], ['x-long', 'é'.repeat(300)]] }));
    const got = decode(encodeInvokeFrame(1, event({ path: '/a\ud800b' }), CONTEXT)) as { event: { path: string } };
    assert.equal(got.event.path, '/a\ufffdb');
  });

  it('writes every integer size, negative and fractional numbers', () => {
    for (const id of [0, 127, 128, 65_535, 65_536, 2 ** 32 - 1, 2 ** 40]) roundTrip(event(), id);
    roundTrip(event(), 3, { requestId: 'r', timeoutMs: 12.5, attempt: 1 });
    roundTrip(event(), 3, { requestId: 'r', timeoutMs: -5, attempt: 1 });
    roundTrip(event({ client: ['::1', 0] }));
  });

  it('writes many pairs (map and array heads past 15 and 65,535 entries)', () => {
    const many: [string, string][] = Array.from({ length: 70_000 }, (_, i) => [`h${i}`, `v${i}`]);
    roundTrip(event({ headers: many, query: many.slice(0, 20) }));
  });

  it('sends a large body as a second buffer, the body itself, not a copy', () => {
    const body = Buffer.alloc(100_000, 7);
    const parts = encodeInvokeFrame(1, event({ body }), CONTEXT);
    assert.equal(parts.length, 2);
    assert.equal(parts[1]!.buffer, body.buffer);
    roundTrip(event({ body }));
    roundTrip(event({ body: Buffer.alloc(4096, 1) }));
    assert.equal(encodeInvokeFrame(1, event({ body: Buffer.alloc(4096) }), CONTEXT).length, 1);
  });

  it('an HTTP/1.0 request\'s version goes last (protocol v6); an HTTP/1.1 call\'s frame is as before', () => {
    const plain = Buffer.concat(encodeInvokeFrame(1, event(), CONTEXT));
    assert.equal(plain[4], 0x9f, 'fixarray of 15');
    const versioned = Buffer.concat(encodeInvokeFrame(1, event({ httpVersion: '1.0' }), CONTEXT));
    assert.deepEqual([...versioned.subarray(4, 7)], [0xdc, 0, 16], 'array16 of 16');
    assert.equal(versioned.subarray(-4).toString('latin1'), '\xa31.0');
    roundTrip(event({ httpVersion: '1.0' }));
    // A large body: the version follows it as a third buffer.
    const body = Buffer.alloc(100_000, 7);
    const parts = encodeInvokeFrame(1, event({ body, httpVersion: '1.0' }), CONTEXT);
    assert.equal(parts.length, 3);
    assert.equal(parts[1]!.buffer, body.buffer);
    roundTrip(event({ body, httpVersion: '1.0' }));
    // Read by the runtime: its scope says 1.0, an HTTP/1.1 call's says 1.1.
    const script = [
      'import sys; sys.path.insert(0, sys.argv[1])',
      'from fp_runtime.frames import Decoder, invoke_message, is_invoke',
      'from fp_runtime.scope import build_scope, scope_of_invoke',
      'for a in Decoder().feed(sys.stdin.buffer.read()):',
      '    assert is_invoke(a)',
      '    s = scope_of_invoke(a)',
      '    assert s == build_scope(invoke_message(a)["event"]), s',
      '    print(len(a), s["http_version"])',
    ].join('\n');
    const out = execFileSync(PYTHON, ['-I', '-c', script, join(REPO, 'runtime')], { input: Buffer.concat([plain, versioned, ...parts]) }).toString().trim();
    assert.equal(out, '15 1.1\n16 1.0\n16 1.0');
  });

  it('never changes a frame it handed out while writing the next ones (the slab is not reused)', () => {
    const first = encodeInvokeFrame(1, event(), CONTEXT);
    const copy = Buffer.concat(first);
    for (let i = 0; i < 5_000; i++) encodeInvokeFrame(i, event({ path: `/${'x'.repeat(i % 700)}` }), CONTEXT);
    assert.deepEqual(Buffer.concat(first), copy);
  });

  it('is read by the runtime (Python msgpack) as the same message', () => {
    const frame = Buffer.concat(encodeInvokeFrame(9, event({ headers: [['x-name', 'Zoë']] }), CONTEXT));
    const script = [
      'import sys; sys.path.insert(0, sys.argv[1])',
      'from fp_runtime.frames import Decoder, invoke_message',
      '[m] = Decoder().feed(sys.stdin.buffer.read())',
      'm = invoke_message(m)',
      'e = m["event"]',
      'print(m["t"], m["id"], m["context"]["attempt"], e["method"], e["headers"][0][1], e["client"][1], bytes(e["body"]).decode())',
    ].join('\n');
    const out = execFileSync(PYTHON, ['-I', '-c', script, join(REPO, 'runtime')], { input: frame }).toString().trim();
    assert.equal(out, 'invoke 9 2 POST Zoë 51234 {"a":1}');
    // Integers past 32 bits stay integers there (ids and timeouts are checked as int).
    const big = Buffer.concat(encodeInvokeFrame(2 ** 40, event(), { requestId: 'r', timeoutMs: -(2 ** 33), attempt: 1 }));
    const types = execFileSync(PYTHON, ['-I', '-c', [
      'import sys; sys.path.insert(0, sys.argv[1])',
      'from fp_runtime.frames import Decoder, invoke_message',
      '[m] = Decoder().feed(sys.stdin.buffer.read())',
      'm = invoke_message(m)',
      'print(type(m["id"]).__name__, m["id"], type(m["context"]["timeoutMs"]).__name__, m["context"]["timeoutMs"])',
    ].join('\n'), join(REPO, 'runtime')], { input: big }).toString().trim();
    assert.equal(types, `int ${2 ** 40} int ${-(2 ** 33)}`);
  });
});
