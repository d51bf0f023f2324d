/**
 * Frames decoded from a reused read buffer (FrameDecoder.feed; poolmgr/shared-reads.ts): the same
 * messages as frame by frame, however the reads cut them; no message but a `chunk` keeps a view of
 * the reused memory (a hostile runtime's frame included); a streamed body keeps a copy of what
 * waits in it. test/integration/shared-reads.test.ts: the sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameDecoder, FrameError } from '../../protocol/index.js';
import { ResponseBody } from '../../poolmgr/response-body.js';
import type { CallEnd, InvocationResult } from '../../poolmgr/index.js';
import { wholeResult } from '../../gateway/streamed.js';

/** A buffer that is overwritten after each feed, as the shared read buffer is by the next read. */
function feedAll(decoder: FrameDecoder, stream: Buffer, step: number, onMessage: (m: unknown) => void): void {
  const reused = Buffer.alloc(step);
  for (let at = 0; at < stream.length; at += step) {
    const n = stream.copy(reused, 0, at, at + step);
    decoder.feed(reused.subarray(0, n), onMessage);
    reused.fill(0xee);
  }
}


describe('FrameDecoder.feed', () => {
  const messages: Record<string, unknown>[] = [
    { t: 'hello', v: 4, pid: 12 },
    { t: 'response', id: 1, response: { status: 200, headers: [['a', 'b']], body: Buffer.alloc(70_000, 1) }, more: true },
    { t: 'chunk', id: 1, body: Buffer.alloc(65_536, 2), more: true },
    { t: 'chunk', id: 1, body: Buffer.from('tail'), more: false },
    { t: 'end', id: 1, logs: [], handlerMs: 1.5 },
    { t: 'result', id: 2, response: { status: 200, headers: [], body: Buffer.alloc(200_000, 3) }, logs: [{ stream: 'stdout', ts: 1, msg: 'x' }], handlerMs: 2 },
  ];
  const stream = Buffer.concat(messages.map((m) => encodeFrame(m)));
  const expected = new FrameDecoder().push(stream);

  it('gives the messages push() gives, however the reads cut the frames', () => {
    for (const step of [1, 3, 4, 5, 7, 100, 4096, 65_536, 65_541, 65_600, 70_000, 262_144, stream.length]) {
      const got: unknown[] = [];
      // A chunk's body is valid only during the call: what a test keeps of it is a copy.
      feedAll(new FrameDecoder(), stream, step, (m) => got.push((m as { t: string }).t === 'chunk' ? { ...(m as object), body: Buffer.from((m as { body: Buffer }).body) } : m));
      assert.deepEqual(got, expected, `reads of ${step} bytes`);
    }
  });

  it('leaves no message but a chunk holding reused memory', () => {
    const kept: unknown[] = [];
    feedAll(new FrameDecoder(), stream, 50_000, (m) => kept.push(m));
    // The reused buffer was overwritten after every read: whatever still reads right owns its bytes.
    const result = kept.at(-1) as { response: { body: Buffer } };
    assert.ok(result.response.body.equals(Buffer.alloc(200_000, 3)));
    const head = kept[1] as { response: { body: Buffer } };
    assert.ok(head.response.body.equals(Buffer.alloc(70_000, 1)));
  });

  it('decodes a frame that starts as a chunk but names another type from a copy (user code writes frames)', () => {
    // {"t": "chunk", "id": 3, "t": "result", "response": …}: a map that names `t` twice, the last one wins.
    const body = Buffer.from('secret of this function');
    const response = encodeFrame({ status: 200, headers: [], body }).subarray(4);
    const map = Buffer.concat([Buffer.from([0x84, 0xa1, 0x74, 0xa5]), Buffer.from('chunk'), Buffer.from([0xa2]), Buffer.from('id'), Buffer.from([3]),
      Buffer.from([0xa1, 0x74, 0xa6]), Buffer.from('result'), Buffer.from([0xa8]), Buffer.from('response'), response]);
    const frame = Buffer.alloc(4 + map.length);
    frame.writeUInt32BE(map.length, 0);
    map.copy(frame, 4);
    const kept: { t: string; response: { body: Buffer } }[] = [];
    feedAll(new FrameDecoder(), frame, frame.length, (m) => kept.push(m as { t: string; response: { body: Buffer } }));
    assert.equal(kept[0]!.t, 'result');
    assert.equal(kept[0]!.response.body.toString(), 'secret of this function');
  });

  it('refuses a frame over the limit as push() does', () => {
    const big = Buffer.alloc(8);
    big.writeUInt32BE(1_000_000, 0);
    assert.throws(() => new FrameDecoder(1000).feed(big, () => {}), (err: unknown) => err instanceof FrameError && err.code === 'RUNTIME_PROTOCOL_ERROR');
    // Cut inside its length prefix: found once the prefix is whole.
    const decoder = new FrameDecoder(1000);
    decoder.feed(big.subarray(0, 2), () => {});
    assert.throws(() => decoder.feed(big.subarray(2), () => {}), FrameError);
  });
});

describe('ResponseBody with reused pieces', () => {
  it('copies a piece that waits for its consumer; hands over one the consumer takes at once', () => {
    const channel = { ack() {}, cancel() {}, message() {}, backlog: () => 0, instanceRoom: () => true };
    const body = new ResponseBody(channel);
    const reused = Buffer.from('first');
    body.push(reused, true); // no consumer yet: it waits here
    reused.write('XXXXX');
    const got: string[] = [];
    let paused = false;
    body.pipe({ chunk: (d) => { got.push(Buffer.from(d).toString()); return !paused; }, end() {}, abort() {} });
    const second = Buffer.from('second');
    paused = true;
    body.push(second, true); // taken at once (the consumer then backs up)
    second.write('YYYYYY');
    const third = Buffer.from('third');
    body.push(third, false); // waits: the consumer is backed up
    third.write('ZZZZZ');
    body.resume();
    assert.deepEqual(got, ['first', 'second', 'third']);
  });
});


describe('wholeResult with reused pieces', () => {
  it('keeps a copy of each piece, not the reused buffer', async () => {
    const channel = { ack() {}, cancel() {}, message() {}, backlog: () => 0, instanceRoom: () => true };
    const body = new ResponseBody(channel);
    let ended: (end: CallEnd) => void = () => {};
    const after = new Promise<CallEnd>((resolve) => (ended = resolve));
    const result = { cold: false, start: 'warm', initMs: 0, handlerMs: 0, queuedMs: 0, logs: [], error: null,
      response: { status: 200, headers: [], body: Buffer.from('head ') }, body, after } as unknown as InvocationResult;
    const whole = wholeResult(result);
    const reused = Buffer.from('piece');
    body.push(reused, true); // the consumer is there: handed over as it is
    reused.write('XXXXX');
    body.push(Buffer.from(' end'), false);
    ended({ error: null, logs: [], handlerMs: 1, bytes: 9 });
    assert.equal(Buffer.from((await whole).response!.body).toString(), 'head piece end');
  });
});
