/**
 * FunctionSocket (gateway/websocket.ts) against what a hostile runtime or client may send: the
 * app's pieces joined and bounded, close codes a server may not send replaced, reasons cut, acks
 * held while the client's socket is full, the client's messages within the window, and a close
 * from either side told once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BodyConsumer, BodyReader, CallEnd } from '../../poolmgr/index.js';
import { FunctionSocket, WS_HELD_INBOUND_BYTES, WS_HIGH_WATER_BYTES, WS_MAX_MESSAGE_BYTES, type WebSocketSide } from '../../gateway/websocket.js';
import { WS_MESSAGE_COST_BYTES } from '../../protocol/index.js';

class Body implements BodyReader {
  done = false;
  consumer: BodyConsumer | null = null;
  acked = 0;
  resumed = 0;
  cancelled = 0;
  messages: Uint8Array[] = [];
  refuse = false;
  pipe(consumer: BodyConsumer): void {
    this.consumer = consumer;
  }
  resume(): void {
    this.resumed++;
  }
  ack(bytes: number): void {
    this.acked += bytes;
  }
  cancel(): void {
    this.cancelled++;
  }
  message(data: Uint8Array, force = false): boolean {
    if (this.refuse && !force) return false;
    this.messages.push(data);
    return true;
  }
}

class Side implements WebSocketSide {
  sent: [string, boolean][] = [];
  ends: [number, string][] = [];
  bufferedBytes = 0;
  send(data: Uint8Array, binary: boolean): void {
    this.sent.push([Buffer.from(data).toString('latin1'), binary]);
  }
  joining: number[] = [];
  joined(bytes: number): void {
    this.joining.push(bytes);
  }
  waits: number[] = [];
  waiting(bytes: number): void {
    this.waits.push(bytes);
  }
  buffered(): number {
    return this.bufferedBytes;
  }
  end(code: number, reason: string): void {
    this.ends.push([code, reason]);
  }
}

const piece = (kind: number, payload: string | Buffer): Uint8Array => Buffer.concat([Buffer.from([kind]), Buffer.from(payload)]);
const closePiece = (code: number, reason: string | Buffer): Uint8Array => Buffer.concat([Buffer.from([8, code >> 8, code & 0xff]), Buffer.from(reason)]);

function open(end: CallEnd | null = null): { body: Body; side: Side; socket: FunctionSocket } {
  const body = new Body();
  const side = new Side();
  const after = end === null ? new Promise<CallEnd>(() => undefined) : Promise.resolve(end);
  const socket = new FunctionSocket(body, 'chat', after, 'run-1');
  socket.open(side);
  return { body, side, socket };
}

describe('FunctionSocket', () => {
  test('text and binary messages go to the client, each acknowledged once sent; pieces are joined', () => {
    const { body, side } = open();
    assert.equal(body.consumer!.chunk(piece(1, 'héllo')), true);
    assert.equal(body.consumer!.chunk(piece(0x12, 'ab')), true);
    assert.equal(body.consumer!.chunk(piece(2, 'cd')), true);
    assert.deepEqual(side.sent, [[Buffer.from('héllo').toString('latin1'), false], ['abcd', true]]);
    assert.equal(body.acked, 7 + 3 + 3);
    assert.deepEqual(side.joining, [2, 0], 'the bytes being joined are told (the held-answer budget counts them), then let go');
  });

  test('a message in pieces past 16 MiB closes 1009 and stops the call', () => {
    const { body, side } = open();
    const big = Buffer.alloc(1024 * 1024);
    let i = 0;
    while (side.ends.length === 0 && i++ < 20) body.consumer!.chunk(piece(0x11, big));
    assert.ok(i * big.length > WS_MAX_MESSAGE_BYTES);
    assert.deepEqual(side.ends, [[1009, 'the function sent a message larger than 16 MiB']]);
    assert.equal(body.cancelled, 1);
    assert.deepEqual(side.sent, []);
  });

  test('the app\'s close: a code a server may send is kept, any other is 1000; the reason is cut at 123 bytes', () => {
    for (const [code, sent] of [[4001, 4001], [1011, 1011], [1005, 1000], [1006, 1000], [999, 1000], [5000, 1000]] as const) {
      const { body, side } = open();
      body.consumer!.chunk(closePiece(code, 'r'.repeat(300)));
      assert.equal(side.ends.length, 1);
      assert.equal(side.ends[0]![0], sent, `code ${code}`);
      assert.equal(Buffer.byteLength(side.ends[0]![1]), 123);
    }
  });

  test('a reason cut inside a character is cut before it: the close frame stays valid UTF-8, at most 123 bytes', () => {
    const { body, side } = open();
    // 122 bytes, then a 3-byte character the runtime's cut (123 bytes) split.
    body.consumer!.chunk(closePiece(4000, Buffer.from(`${'r'.repeat(122)}€`).subarray(0, 123)));
    assert.deepEqual(side.ends, [[4000, 'r'.repeat(122)]]);
  });

  test('acks are held while the client\'s socket is above the high-water mark, and given at its drain', () => {
    const { body, side, socket } = open();
    side.bufferedBytes = WS_HIGH_WATER_BYTES + 1;
    assert.equal(body.consumer!.chunk(piece(1, 'x')), false, 'delivery pauses');
    assert.equal(body.acked, 0);
    socket.drained();
    assert.equal(body.acked, 0, 'still full');
    side.bufferedBytes = 0;
    socket.drained();
    assert.deepEqual([body.acked, body.resumed], [2, 1]);
  });

  test('the client\'s messages go with their kind; past the window they wait, counted, and go in order when the app makes room (ADR 0194)', () => {
    const { body, side, socket } = open();
    socket.message(Buffer.from('hi'), false);
    socket.message(Buffer.from([1, 2]), true);
    assert.deepEqual(body.messages.map((m) => [...m]), [[1, 104, 105], [2, 1, 2]]);
    body.refuse = true;
    socket.message(Buffer.from('a'), false);
    socket.message(Buffer.from('b'), false);
    assert.equal(body.messages.length, 2, 'refused: they wait');
    assert.deepEqual(side.waits, [2 + WS_MESSAGE_COST_BYTES, 4 + 2 * WS_MESSAGE_COST_BYTES], 'what waits counts in the held-answer budget');
    body.refuse = false;
    socket.message(Buffer.from('c'), false); // behind those that wait, not before them
    assert.equal(body.messages.length, 2, 'a message never overtakes those waiting');
    body.consumer!.room!();
    assert.deepEqual(body.messages.slice(2).map((m) => Buffer.from(m.subarray(1)).toString()), ['a', 'b', 'c']);
    assert.equal(side.waits.at(-1), 0);
    assert.deepEqual(side.ends, []);
  });

  test('past WS_HELD_INBOUND_BYTES waiting for the app the connection closes 1008, and what waited is dropped', () => {
    const { body, side, socket } = open();
    body.refuse = true;
    const mib = Buffer.alloc(1024 * 1024);
    for (let i = 0; i * (mib.byteLength + 1 + WS_MESSAGE_COST_BYTES) <= WS_HELD_INBOUND_BYTES; i++) socket.message(mib, true);
    assert.deepEqual(side.ends, [[1008, 'the function is not reading its messages']]);
    body.refuse = false;
    body.consumer!.room!();
    socket.message(Buffer.from('after'), false);
    assert.equal(body.messages.length, 0, 'nothing after the close');
  });

  test('the client\'s close reaches the app once (its code and reason), and the call is cancelled', () => {
    const { body, side, socket } = open();
    socket.gone(4002, 'bye');
    socket.gone(1006, '');
    assert.deepEqual(body.messages.map((m) => Buffer.from(m).toString('latin1')), ['\x08\x0f\xa2bye']);
    assert.equal(body.cancelled, 1);
    body.consumer!.chunk(piece(1, 'late'));
    assert.deepEqual(side.sent, [], 'nothing is sent after the client left');
  });

  test('a call that ends without the app\'s close: 1001 at its timeout, 1011 naming the run on a failure', async () => {
    const timeout = open({ error: { code: 'FUNCTION_TIMEOUT', class: 'timeout', type: 'Timeout', message: '' }, logs: [], handlerMs: 0, bytes: 0 });
    timeout.body.consumer!.abort();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(timeout.side.ends, [[1001, "the connection reached the function's timeout (limits.timeout)"]]);
    const failed = open({ error: { code: 'FUNCTION_ERROR', class: 'user_error', type: 'RuntimeError', message: 'secret text' }, logs: [], handlerMs: 0, bytes: 0 });
    failed.body.consumer!.abort();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(failed.side.ends, [[1011, 'the function failed: run run-1']], 'the error\'s text stays in the run record');
    const ended = open();
    ended.body.consumer!.end();
    assert.deepEqual(ended.side.ends, [[1000, '']]);
  });
});
