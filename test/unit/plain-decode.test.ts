/**
 * The one-pass decoder of plain frames (protocol/plain-decode.ts) against msgpackr with the
 * platform's options: the same value for every plain frame, GENERIC for everything else, and the
 * FrameDecoder's results and errors unchanged (issue 11).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { encodeFrame, FrameDecoder, MAX_FRAME_ITEMS, withinItems } from '../../protocol/index.js';
import { decodePlain, GENERIC } from '../../protocol/plain-decode.js';

const msgpackr = createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
const packr = new msgpackr.Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: true });
const unpackr = new msgpackr.Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** The FrameDecoder's behaviour before the plain decoder: the item bound, then msgpackr. */
function before(body: Buffer, maxItems = MAX_FRAME_ITEMS): { value: unknown } | { error: string } {
  if (!withinItems(body, maxItems)) return { error: `frame holds more than ${maxItems} msgpack items` };
  try {
    return { value: unpackr.unpack(body) };
  } catch (err) {
    return { error: `undecodable frame: ${(err as Error).message}` };
  }
}

function now(body: Buffer, maxItems = MAX_FRAME_ITEMS): { value: unknown } | { error: string } {
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  try {
    return { value: new FrameDecoder(64 * 1024 * 1024, maxItems).push(frame)[0] };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

const PLAIN: unknown[] = [
  { t: 'result', id: 7, response: { status: 200, headers: [['content-type', 'application/json'], ['x', 'y'.repeat(300)]], body: Buffer.from('{"hello":"world"}') }, logs: [], handlerMs: 0.0123 },
  { t: 'result', id: 4_000_000_000, response: null, error: { code: 'FUNCTION_ERROR', message: 'boom', line: 3 }, initMs: 1.5 },
  [null, true, false, 0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1, 0.5, -1e300, Number.MAX_VALUE],
  { empty: {}, list: [], s: '', long: 'a'.repeat(70_000), bin: Buffer.alloc(70_000, 3), bin16: Buffer.alloc(300, 1), '0': 1, '10': 2, dup: 1 },
  { logs: Array.from({ length: 300 }, (_, i) => ({ stream: 'stdout', ts: 1_700_000_000_000 + i / 3, msg: 'x'.repeat(i * 7), level: i % 2 ? 'INFO' : null })) },
  Array.from({ length: 70_000 }, (_, i) => i),
];

const NOT_PLAIN: [string, Buffer][] = [
  ['a float32', hex('ca 3f c0 00 00')],
  ['a timestamp extension', hex('d6 ff 00 00 00 01')],
  ['a fixext', hex('d4 01 02')],
  ['a non-ASCII string', packr.pack('é')],
  ['a non-ASCII key', packr.pack({ é: 1 })],
  ['a __proto__ key', Buffer.concat([hex('81 a9'), Buffer.from('__proto__'), hex('01')])],
  ['an integer key', hex('81 01 02')],
  ['a nil key', hex('81 c0 02')],
  ['truncated', packr.pack({ a: 'bcdef' }).subarray(0, 5)],
  ['bytes after the value', Buffer.concat([packr.pack({ a: 1 }), hex('01')])],
  ['an array longer than the frame', hex('dd 00 10 00 00 01')],
  ['0xc1', hex('c1')],
  ['empty', Buffer.alloc(0)],
];

describe('plain frame decoder', () => {
  it('decodes plain frames to what msgpackr gives', () => {
    for (const sample of PLAIN) {
      const body = packr.pack(sample);
      const plain = decodePlain(body, MAX_FRAME_ITEMS);
      assert.notEqual(plain, GENERIC, JSON.stringify(sample).slice(0, 80));
      assert.deepStrictEqual(plain, unpackr.unpack(body));
    }
  });

  it('decodes bytes as Buffer views of the frame, as msgpackr does', () => {
    const body = packr.pack({ body: Buffer.from('abc') });
    const out = decodePlain(body, 10) as { body: Buffer };
    assert.ok(Buffer.isBuffer(out.body));
    assert.equal(out.body.buffer, body.buffer);
  });

  it('leaves everything else to the generic decoder', () => {
    for (const [what, body] of NOT_PLAIN) assert.equal(decodePlain(body, MAX_FRAME_ITEMS), GENERIC, what);
  });

  it('gives up past the item bound, exactly where withinItems refuses', () => {
    const body = packr.pack({ a: [1, 2, 3], b: { c: 'd' } }); // 1 + (1 + 4) + (1 + 1 + 2) = 10 items
    assert.notEqual(decodePlain(body, 10), GENERIC);
    assert.equal(decodePlain(body, 9), GENERIC);
    assert.equal(withinItems(body, 10), true);
    assert.equal(withinItems(body, 9), false);
  });

  it('leaves the FrameDecoder\'s values and errors as they were, for plain, odd and mangled frames', () => {
    const cases: [Buffer, number][] = [...PLAIN.map((s) => [packr.pack(s), MAX_FRAME_ITEMS] as [Buffer, number]), ...NOT_PLAIN.map(([, b]) => [b, MAX_FRAME_ITEMS] as [Buffer, number])];
    const base = packr.pack(PLAIN[0]);
    cases.push([base, 5]);
    // Mangled: every byte of a reply replaced by a few values, and every truncation.
    for (let i = 0; i < base.length; i++) {
      for (const v of [0x00, 0x7f, 0x80, 0x9f, 0xc0, 0xc1, 0xca, 0xcb, 0xd3, 0xdc, 0xdf, 0xff]) {
        const copy = Buffer.from(base);
        copy[i] = v;
        cases.push([copy, MAX_FRAME_ITEMS]);
      }
      cases.push([base.subarray(0, i), MAX_FRAME_ITEMS]);
    }
    for (const [body, max] of cases) assert.deepStrictEqual(now(body, max), before(body, max), body.toString('hex').slice(0, 80));
  });

  it('decodes repeated short strings and look-alikes of them (same length and first bytes) each as itself', () => {
    const strings = ['content-type', 'content-typf', 'co', 'c', '', 'application/json', 'application/jsoN', 'result', 'resulT', 'x'.repeat(16), 'x'.repeat(17)];
    for (let round = 0; round < 3; round++) {
      for (const s of strings) {
        const frame = Buffer.from(packr.pack([s, { [s]: s }, s]));
        assert.deepEqual(decodePlain(frame, 100), [s, { [s]: s }, s], JSON.stringify(s));
      }
    }
    assert.equal(decodePlain(Buffer.from(packr.pack(['caf\u00e9'])), 100), GENERIC);
  });

  it('decodes the frames the encoder writes, through the FrameDecoder', () => {
    const decoder = new FrameDecoder();
    const frames = PLAIN.map((s) => encodeFrame(s));
    assert.deepStrictEqual(decoder.push(Buffer.concat(frames)), PLAIN.map((s) => unpackr.unpack(packr.pack(s))));
  });
});
