/**
 * ResponseBody (poolmgr/response-body.ts): a streamed body between the instance and the gateway.
 * Pieces are delivered in order, delivery pauses when the consumer is backed up, the window is
 * enforced (a runtime past it is refused), acks (once half the window is used) and the cancel reach the runtime once, a body
 * with a declared length is complete at that length, and a body whose call ended before its last
 * piece aborts its consumer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResponseBody, type BodyChannel } from '../../poolmgr/response-body.js';
import type { BodyConsumer } from '../../poolmgr/types.js';
import { STREAM_WINDOW_BYTES, WS_INBOUND_WINDOW_BYTES, WS_INBOUND_WINDOW_MESSAGES, WS_MESSAGE_COST_BYTES } from '../../protocol/messages.js';

class Channel implements BodyChannel {
  acks: number[] = [];
  cancels = 0;
  ack(bytes: number): void {
    this.acks.push(bytes);
  }
  cancel(): void {
    this.cancels++;
  }
  messages: number[] = [];
  message(body: Uint8Array): void {
    this.messages.push(body.byteLength);
  }
  backlog(): number {
    return 0;
  }
  room = true;
  instanceRoom(): boolean {
    return this.room;
  }
}

class Consumer implements BodyConsumer {
  got: string[] = [];
  ended = 0;
  aborted = 0;
  /** chunk() answers this: false means "backed up". */
  accept = true;
  chunk(data: Uint8Array): boolean {
    this.got.push(Buffer.from(data).toString());
    return this.accept;
  }
  end(): void {
    this.ended++;
  }
  abort(): void {
    this.aborted++;
  }
}

const bytes = (s: string): Uint8Array => Buffer.from(s);

describe('ResponseBody', () => {
  test('pieces that arrived before pipe() are delivered at once, in order, then the end', () => {
    const body = new ResponseBody(new Channel());
    body.push(bytes('a'), true);
    body.push(bytes('b'), true);
    const c = new Consumer();
    body.pipe(c);
    assert.deepEqual(c.got, ['a', 'b']);
    body.push(bytes('c'), false);
    assert.deepEqual(c.got, ['a', 'b', 'c']);
    assert.equal(c.ended, 1);
    assert.equal(body.done, true);
    assert.equal(body.received, 3);
  });

  test('with a declared length, complete (and ended) once that many bytes arrived; pieces past it are dropped and acknowledged', () => {
    const channel = new Channel();
    const body = new ResponseBody(channel, 4);
    const c = new Consumer();
    body.pipe(c);
    body.push(bytes('ab'), true);
    assert.equal(body.done, false);
    body.push(bytes('cd'), true);
    // The client has the whole body: the call only finishes now (a WSGI close(), a teardown).
    assert.equal(body.done, true);
    assert.equal(c.ended, 1);
    // The runtime's last piece, and bytes an app wrote past what it declared: dropped, the latter acknowledged.
    body.push(bytes(''), false);
    body.push(bytes('xyz'), true);
    assert.deepEqual(c.got, ['ab', 'cd']);
    assert.deepEqual(channel.acks, [3]);
    // Without a declared length the body ends at the last piece only.
    const open = new ResponseBody(new Channel());
    open.push(bytes('abcd'), true);
    assert.equal(open.done, false);
    open.push(bytes(''), false);
    assert.equal(open.done, true);
  });

  test('a backed-up consumer gets nothing more until resume(); the end waits for the queue', () => {
    const body = new ResponseBody(new Channel());
    const c = new Consumer();
    body.pipe(c);
    c.accept = false;
    body.push(bytes('a'), true);
    body.push(bytes('b'), true);
    body.push(bytes('c'), false);
    assert.deepEqual(c.got, ['a']);
    assert.equal(c.ended, 0);
    c.accept = true;
    body.resume();
    assert.deepEqual(c.got, ['a', 'b', 'c']);
    assert.equal(c.ended, 1);
  });

  test('the window: unacknowledged bytes past STREAM_WINDOW_BYTES are refused; acks open it again', () => {
    const channel = new Channel();
    const body = new ResponseBody(channel);
    const c = new Consumer();
    c.accept = false;
    body.pipe(c);
    assert.equal(body.push(new Uint8Array(STREAM_WINDOW_BYTES), true), true);
    assert.equal(body.push(new Uint8Array(1), true), false, 'one byte past the window');
    body.ack(1024);
    assert.deepEqual(channel.acks, [1024]);
    assert.equal(body.push(new Uint8Array(1024), true), true);
  });

  test('the runtime is acknowledged once it used half its window, not for every piece, and never left without room', () => {
    const channel = new Channel();
    const body = new ResponseBody(channel);
    // The gateway's consumer: acknowledges each piece the client's connection took (gateway/streamed.ts).
    const c = { chunk: (data: Uint8Array) => (body.ack(data.byteLength), true), end() {}, abort() {} };
    body.pipe(c);
    const piece = STREAM_WINDOW_BYTES / 4; // the runtime's largest piece (streaming.py MAX_PIECE)
    // What the runtime may send: never more than the window past what it was told.
    let told = 0;
    let sent = 0;
    for (let i = 0; i < 64; i++) {
      assert.ok(sent + piece - told <= STREAM_WINDOW_BYTES, `the runtime would wait for room at piece ${i}`);
      assert.equal(body.push(new Uint8Array(piece), true), true);
      sent += piece;
      told = channel.acks.reduce((a, b) => a + b, 0);
    }
    assert.equal(channel.acks.length, 32, 'one ack per two pieces');
    assert.equal(told, 64 * piece);
  });

  test('the call ended before the last piece: the consumer aborts, at once or when it pipes', () => {
    const piped = new ResponseBody(new Channel());
    const c = new Consumer();
    piped.pipe(c);
    piped.push(bytes('a'), true);
    piped.close();
    assert.equal(c.aborted, 1);
    assert.equal(c.ended, 0);

    const late = new ResponseBody(new Channel());
    late.push(bytes('a'), true);
    late.close();
    const d = new Consumer();
    late.pipe(d);
    assert.equal(d.aborted, 1);
    assert.deepEqual(d.got, ['a'], 'what arrived before the end goes out first (apps round 14)');
  });

  test('a complete body is not aborted by the call\'s end: it finishes its delivery', () => {
    const body = new ResponseBody(new Channel());
    body.push(bytes('a'), false);
    body.close();
    const c = new Consumer();
    body.pipe(c);
    assert.deepEqual(c.got, ['a']);
    assert.equal(c.ended, 1);
    assert.equal(c.aborted, 0);
  });

  test('cancel reaches the runtime once (not for a complete body); no acks after it', () => {
    const channel = new Channel();
    const body = new ResponseBody(channel);
    const c = new Consumer();
    body.pipe(c);
    body.push(bytes('a'), true);
    body.cancel();
    body.cancel();
    assert.equal(channel.cancels, 1);
    body.ack(1);
    assert.deepEqual(channel.acks, []);
    body.push(bytes('b'), true);
    assert.deepEqual(c.got, ['a'], 'nothing is delivered after a cancel');

    const completeChannel = new Channel();
    const complete = new ResponseBody(completeChannel);
    complete.push(bytes('a'), false);
    complete.cancel();
    assert.equal(completeChannel.cancels, 0);
  });

  test('a WebSocket client\'s messages go within the inbound window: one past it is refused until the app takes some; a close goes anyway', () => {
    const channel = new Channel();
    const body = new ResponseBody(channel);
    // Each message counts its bytes and WS_MESSAGE_COST_BYTES: two of these fill the window.
    const half = new Uint8Array(WS_INBOUND_WINDOW_BYTES / 2 - WS_MESSAGE_COST_BYTES);
    assert.equal(body.message(half), true);
    assert.equal(body.message(half), true);
    assert.equal(body.message(new Uint8Array(1)), false, 'past the window');
    assert.deepEqual(channel.messages, [half.byteLength, half.byteLength]);
    assert.equal(body.message(new Uint8Array(3), true), true, 'forced (the client\'s close)');
    assert.equal(body.taken(half.byteLength), true, 'one wsack per message taken');
    assert.equal(body.message(new Uint8Array(1)), true, 'room again');
    assert.equal(body.taken(WS_INBOUND_WINDOW_BYTES), false, 'more than was sent: a violation');
    const big = new ResponseBody(channel);
    assert.equal(big.message(new Uint8Array(WS_INBOUND_WINDOW_BYTES + 5)), true, 'one message larger than the window goes when nothing waits');
    body.cancel();
    assert.equal(body.message(new Uint8Array(1)), false, 'nothing after the cancel');
  });

  test('empty WebSocket messages count their cost in the window: a flood of them is refused as bytes are (red team, December 2026)', () => {
    const body = new ResponseBody(new Channel());
    assert.equal(body.taken(0), false, 'an ack with no message sent: a violation');
    let sent = 0;
    while (body.message(new Uint8Array(1))) sent++;
    // Without the cost, 16 Mi empty messages (~3.4 GB of the gateway's memory) waited for an app that did not read.
    assert.equal(sent, Math.min(WS_INBOUND_WINDOW_MESSAGES, Math.floor(WS_INBOUND_WINDOW_BYTES / (1 + WS_MESSAGE_COST_BYTES))));
    assert.equal(body.taken(1), true);
    assert.equal(body.message(new Uint8Array(1)), true, 'one taken, one more goes');
  });

  test('at most WS_INBOUND_WINDOW_MESSAGES messages wait for the app, and none past the instance\'s share; the consumer is told when room is made (ADR 0194)', () => {
    const channel = new Channel();
    const body = new ResponseBody(channel);
    let rooms = 0;
    body.pipe({ chunk: () => true, end: () => {}, abort: () => {}, room: () => rooms++ });
    for (let i = 0; i < WS_INBOUND_WINDOW_MESSAGES; i++) assert.equal(body.message(new Uint8Array(10)), true);
    assert.equal(body.message(new Uint8Array(10)), false, 'past the count, though bytes are left (uvicorn\'s max_queue)');
    assert.equal(body.taken(10), true);
    body.roomMade();
    assert.equal(rooms, 1, 'told once (the instance tells every connection when any app took some: the consumer tries again)');
    body.roomMade();
    assert.equal(rooms, 1, 'not again until a message is refused again');
    channel.room = false;
    assert.equal(body.message(new Uint8Array(10)), false, 'the instance\'s share is full');
    channel.room = true;
    assert.equal(body.message(new Uint8Array(10)), true);
  });

  test('what arrived before the call ended (a WebSocket call\'s messages, a body\'s pieces) is delivered, then the abort', () => {
    // A body's pieces were dropped: a body whose first piece and failure came together reached the
    // client as an empty reply where uvicorn sends the head and that piece (apps round 14).
    for (const declared of [undefined, 10]) {
      const body = new ResponseBody(new Channel(), declared);
      body.push(Buffer.from('a'), true);
      body.push(Buffer.from('b'), true);
      body.close(); // the call failed before the gateway took its stream
      const consumer = new Consumer();
      body.pipe(consumer);
      assert.deepEqual([consumer.got, consumer.aborted, consumer.ended], [['a', 'b'], 1, 0], `declared: ${declared}`);
    }
    const paused = new ResponseBody(new Channel());
    const consumer = new Consumer();
    consumer.accept = false;
    paused.pipe(consumer);
    paused.push(Buffer.from('x'), true);
    paused.push(Buffer.from('y'), true);
    paused.close();
    assert.deepEqual([consumer.got, consumer.aborted], [['x'], 0], 'the client is backed up: the rest waits');
    consumer.accept = true;
    paused.resume();
    assert.deepEqual([consumer.got, consumer.aborted], [['x', 'y'], 1]);
  });
});
