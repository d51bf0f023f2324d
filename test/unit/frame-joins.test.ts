/** FrameJoins (poolmgr/frame-joins.ts): the bytes of runtime frames being read, bounded across decoders. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameDecoder, FrameError, FrameOverBudget, FrameSkimmer, MAX_FRAME_BYTES, MAX_FRAME_ITEMS } from '../../protocol/index.js';
import { FrameJoins } from '../../poolmgr/frame-joins.js';

const MIB = 1024 * 1024;

/** A decoder counted in `joins` under `workspace`. */
function decoder(joins: FrameJoins, workspace: string | null): FrameDecoder {
  return new FrameDecoder(MAX_FRAME_BYTES, MAX_FRAME_ITEMS, joins.account(() => workspace));
}

/** A frame's prefix naming `bytes` and its first byte (a frame begun, never finished). */
function begun(bytes: number): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes, 0);
  head[4] = 0x90;
  return head;
}

describe('frame joins', () => {
  it('a large frame counts from its prefix until it is whole, in feed and in push', () => {
    const joins = new FrameJoins(64 * MIB);
    const frame = encodeFrame({ t: 'result', id: 1, body: Buffer.alloc(MIB) });
    for (const mode of ['feed', 'push'] as const) {
      const d = decoder(joins, 'ws');
      const got: unknown[] = [];
      const give = (bytes: Buffer): void => {
        if (mode === 'feed') d.feed(bytes, (m) => got.push(m));
        else got.push(...d.push(bytes));
      };
      give(frame.subarray(0, 1000));
      assert.equal(joins.held, frame.length - 4, mode);
      assert.equal(joins.heldBy('ws'), frame.length - 4, mode);
      give(frame.subarray(1000));
      assert.equal(got.length, 1, mode);
      assert.equal(joins.held, 0, mode);
      assert.equal(joins.heldBy('ws'), 0, mode);
    }
  });

  it('small frames are not counted', () => {
    const joins = new FrameJoins(MIB);
    const d = decoder(joins, 'ws');
    d.feed(encodeFrame({ t: 'logs', id: 1, logs: [] }).subarray(0, 6), () => {});
    assert.equal(joins.held, 0);
  });

  it('a workspace holds at most half; another workspace still fits; close gives back', () => {
    const joins = new FrameJoins(64 * MIB);
    const a1 = decoder(joins, 'a');
    a1.feed(begun(20 * MIB), () => {});
    const a2 = decoder(joins, 'a');
    assert.throws(() => a2.feed(begun(20 * MIB), () => {}), FrameOverBudget);
    assert.equal(joins.refused, 1);
    const b = decoder(joins, 'b');
    b.feed(begun(20 * MIB), () => {});
    assert.equal(joins.held, 40 * MIB);
    a1.close();
    b.close();
    b.close();
    assert.equal(joins.held, 0);
    assert.equal(joins.heldBy('a'), 0);
  });

  it('the whole bound holds for runtimes not yet placed; alone, any frame fits', () => {
    const joins = new FrameJoins(16 * MIB);
    const first = decoder(joins, null);
    first.feed(begun(60 * MIB), () => {});
    assert.throws(() => decoder(joins, null).feed(begun(MIB), () => {}), FrameOverBudget);
    first.close();
    decoder(joins, null).feed(begun(MIB), () => {});
  });

  it('a skimmer (a second reader of a channel) decodes the small frames and keeps nothing of a large one', () => {
    const small = [encodeFrame({ t: 'forkExit', id: 1, code: 0 }), encodeFrame({ t: 'forkExit', id: 2, code: null })];
    const large = encodeFrame({ t: 'specialized', id: 3, logs: 'x'.repeat(200_000) });
    const stream = Buffer.concat([small[0]!, large, small[1]!, large, small[0]!]);
    for (const step of [1, 7, 4096, 65_536, stream.length]) {
      const skimmer = new FrameSkimmer(4096);
      const got: unknown[] = [];
      let most = 0;
      for (let at = 0; at < stream.length; at += step) {
        got.push(...skimmer.push(stream.subarray(at, at + step)));
        most = Math.max(most, (skimmer as unknown as { held: Buffer }).held.length);
      }
      assert.deepEqual(got.map((m) => (m as { id: number }).id), [1, 2, 1], `step ${step}`);
      assert.ok(most < 4096 + 4, `step ${step}: kept ${most} bytes between reads`);
    }
    // A bad small frame throws once; the frames after it are read.
    const skimmer = new FrameSkimmer(4096);
    assert.throws(() => skimmer.push(Buffer.from([0, 0, 0, 1, 0x81])), FrameError);
    assert.deepEqual(skimmer.push(small[1]!).map((m) => (m as { id: number }).id), [2]);
  });
});
