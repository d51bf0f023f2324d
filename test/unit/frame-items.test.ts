/** The host counts a frame's msgpack items before decoding it (protocol/frames.ts MAX_FRAME_ITEMS). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameDecoder, FrameError, withinItems } from '../../protocol/index.js';

/** Items as msgpack counts them: every value, and every map key. */
function items(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + items(x), 0);
  if (v instanceof Uint8Array) return 1;
  if (typeof v === 'object' && v !== null) return 1 + Object.values(v).reduce((n: number, x) => n + 1 + items(x), 0);
  return 1;
}

const SAMPLES: unknown[] = [
  { t: 'result', id: 7, response: { status: 200, headers: [['a', 'b'], ['c', 'd'.repeat(300)]], body: new Uint8Array(70_000) }, logs: [], handlerMs: 1.5 },
  { t: 'logs', id: 1, logs: Array.from({ length: 300 }, (_, i) => ({ stream: 'stdout', ts: Date.now() + i / 3, msg: 'x'.repeat(i * 7), level: i % 2 ? 'INFO' : undefined })) },
  { n: [null, true, false, -1, -200, 300, 70_000, 5_000_000_000, -5_000_000_000, 0.5, 'é'.repeat(40_000), Array.from({ length: 20 }, () => ({}))] },
  { big: Array.from({ length: 70_000 }, () => 1) },
];

describe('frame items', () => {
  it('counts every value and key, with no decoding, exactly at the bound', () => {
    for (const sample of SAMPLES) {
      const body = encodeFrame(sample).subarray(4);
      const decoded = new FrameDecoder().push(encodeFrame(sample))[0];
      const n = items(decoded);
      assert.equal(withinItems(body, n), true, JSON.stringify(sample).slice(0, 80));
      assert.equal(withinItems(body, n - 1), false, JSON.stringify(sample).slice(0, 80));
    }
  });

  it('the decoder refuses a frame with more items than its bound, before decoding it', () => {
    const frame = encodeFrame({ t: 'logs', id: 1, logs: Array.from({ length: 1000 }, () => ({ s: 1 })) });
    assert.throws(() => new FrameDecoder(undefined, 2000).push(frame), (err: unknown) => err instanceof FrameError && err.code === 'RUNTIME_PROTOCOL_ERROR');
    assert.equal(new FrameDecoder(undefined, 3007).push(frame).length, 1);
  });

  it('a length that claims more than the frame holds is left to the decoder', () => {
    assert.equal(withinItems(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]), 1000), true);
    assert.equal(withinItems(Uint8Array.from([0xdb, 0xff, 0xff, 0xff]), 1000), true);
  });
});
