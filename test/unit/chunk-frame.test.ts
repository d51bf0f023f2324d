/**
 * The `chunk` frame read by position (protocol/frames.ts `decodeChunkFrame`, ADR 0203): for every
 * frame in the runtime's layout the message the plain decoder makes of it, and null (the general
 * path) for anything else: another key, order or type, a byte more or less.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeChunkFrame, FrameDecoder } from '../../protocol/frames.js';
import { decodePlain } from '../../protocol/plain-decode.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** A msgpack unsigned integer, smallest form, as the runtime's packer writes it. */
function uint(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0xcc, n]);
  if (n < 0x10000) return Buffer.from([0xcd, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xce;
  b.writeUInt32BE(n, 1);
  return b;
}

/** A bytes header of `width` length bytes (encode_chunk writes bin32; msgpack allows all three). */
function bin(n: number, width: 1 | 2 | 4): Buffer {
  const b = Buffer.alloc(1 + width);
  b[0] = width === 1 ? 0xc4 : width === 2 ? 0xc5 : 0xc6;
  b.writeUIntBE(n, 1, width);
  return b;
}

/** runtime/fp_runtime/frames.py encode_chunk's frame, without its length prefix. */
function chunkFrame(id: number, more: boolean, body: Buffer, width: 1 | 2 | 4 = 4): Buffer {
  return Buffer.concat([hex('84 a1 74 a5 6368756e6b a2 6964'), uint(id), hex('a4 6d6f7265'), Buffer.from([more ? 0xc3 : 0xc2]), hex('a4 626f6479'), bin(body.length, width), body]);
}

describe('decodeChunkFrame', () => {
  it('is the plain decoder\'s message for every frame in the runtime\'s layout, its body a view of the frame', () => {
    for (const id of [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1]) {
      for (const more of [true, false]) {
        for (const size of [0, 1, 100, 255, 256, 65_536]) {
          for (const width of [1, 2, 4] as const) {
            if (size >= 2 ** (8 * width)) continue;
            const frame = chunkFrame(id, more, Buffer.alloc(size, 'y'), width);
            const fast = decodeChunkFrame(frame);
            assert.deepEqual(fast, decodePlain(frame, 1000), `id ${id}, more ${more}, ${size} B, ${width}-byte length`);
            assert.equal(fast!.body.buffer, frame.buffer, 'a view, not a copy');
          }
        }
      }
    }
  });

  it('is null for any other frame: the general path decodes it', () => {
    const good = chunkFrame(7, true, Buffer.from('hello'));
    const others: [string, Buffer][] = [
      ['a byte more', Buffer.concat([good, Buffer.from([0])])],
      ['a byte less', good.subarray(0, good.length - 1)],
      ['cut in its head', good.subarray(0, 20)],
      ['a map of five', Buffer.concat([Buffer.from([0x85]), good.subarray(1)])],
      ['`t` twice (then `result`)', Buffer.concat([hex('84 a1 74 a5 6368756e6b a1 74 a6 726573756c74'), good.subarray(12)])],
      ['a 64-bit id', Buffer.concat([good.subarray(0, 12), hex('cf 0000000000000007'), good.subarray(13)])],
      ['a negative id', Buffer.concat([good.subarray(0, 12), hex('ff'), good.subarray(13)])],
      ['`more` not a boolean', Buffer.concat([good.subarray(0, 18), hex('01'), good.subarray(19)])],
      ['`body` a string', Buffer.concat([good.subarray(0, 24), hex('a5'), Buffer.from('hello')])],
      ['keys in another order', Buffer.concat([hex('84 a1 74 a5 6368756e6b a4 6d6f7265 c3 a2 6964 07 a4 626f6479 c6 00000005'), Buffer.from('hello')])],
      ['a `result`', hex('82 a1 74 a6 726573756c74 a2 6964 07')],
    ];
    for (const [what, frame] of others) assert.equal(decodeChunkFrame(frame), null, what);
  });

  it('the FrameDecoder hands the same messages over, a chunk by position and the rest as before', () => {
    const frames = [chunkFrame(3, true, Buffer.from('abc')), hex('83 a1 74 a3 656e64 a2 6964 03 a2 6f6b c3'), chunkFrame(3, false, Buffer.alloc(0))];
    const wire = Buffer.concat(frames.flatMap((f) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(f.length, 0);
      return [length, f];
    }));
    const got: unknown[] = [];
    new FrameDecoder(1024 * 1024).feed(wire, (m) => got.push(m));
    assert.deepEqual(got, frames.map((f) => decodePlain(f, 1000)));
  });
});
