/**
 * StreamWriter (gateway/uws-stream-writer.ts), chunked, against a recording stand-in for uWS's
 * HttpResponse: small pieces that arrive in one turn of the event loop leave in one write at its
 * end (ADR 0191), a piece alone still leaves in its turn, order is kept, the end and an abort send
 * what waits first, a big piece is not held, no cork holds more than uWS's cork buffer, bytes are
 * reported taken (acknowledged to the runtime) only once uWS took them and, after a flush that
 * backed up, only once the socket can take more, an `onWritable` that writes nothing still sends
 * what uWS buffered, and a client that left is written nothing more (ADR 0203).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HttpResponse } from 'uWebSockets.js';
import { COALESCE_MAX_BYTES, CORK_BUFFER_BYTES, StreamWriter } from '../../gateway/uws-stream-writer.js';
import { streamBody } from '../../gateway/streamed.js';
import type { BodyConsumer, BodyReader } from '../../poolmgr/index.js';

/**
 * What the writer did to its response: each send (what one cork wrote: uWS sends it in one system
 * call), each `end` and `close`, and the most bytes one cork held (a chunk's data and its framing:
 * CRLF, the size in hex, CRLF), which uWS's cork buffer bounds.
 */
class FakeResponse {
  writes: string[] = [];
  events: string[] = [];
  /** Corks that wrote nothing (an empty cork sends what uWS buffered). */
  emptyCorks = 0;
  /** The most bytes a cork held with more than one write in it (a big chunk alone overflows it as before: uWS sends its size line first). */
  maxCorkBytes = 0;
  private corkWrites = 0;
  private corked = 0;
  /** Writes and ends so far: a cork that made none is empty. */
  private ops = 0;
  private opsAtCork = 0;
  private corkText = '';
  private corkBytes = 0;
  /** What `write` answers (false: uWS backed up). */
  accept = true;

  cork(cb: () => void): this {
    if (this.corked === 0) this.opsAtCork = this.ops;
    this.corked++;
    try {
      cb();
    } finally {
      this.corked--;
      if (this.corked === 0) {
        if (this.ops === this.opsAtCork) this.emptyCorks++;
        this.send();
      }
    }
    return this;
  }

  write(chunk: Uint8Array | string): boolean {
    assert.ok(this.corked > 0, 'a write outside a cork');
    this.ops++;
    const text = Buffer.from(chunk as Uint8Array).toString();
    this.corkText += text;
    this.corkBytes += text.length + 4 + text.length.toString(16).length;
    if (++this.corkWrites > 1) this.maxCorkBytes = Math.max(this.maxCorkBytes, this.corkBytes);
    return this.accept;
  }

  end(): this {
    this.ops++;
    this.corkBytes += 7; // the last chunk: CRLF 0 CRLF CRLF
    if (++this.corkWrites > 1) this.maxCorkBytes = Math.max(this.maxCorkBytes, this.corkBytes);
    this.send();
    this.events.push('end');
    return this;
  }

  close(): this {
    this.events.push('close');
    return this;
  }

  private send(): void {
    this.corkBytes = 0;
    this.corkWrites = 0;
    if (this.corkText === '') return;
    this.writes.push(this.corkText);
    this.events.push(`write ${this.corkText}`);
    this.corkText = '';
  }
}

function writer(): { res: FakeResponse; w: StreamWriter; closed: () => number; taken: number[] } {
  const res = new FakeResponse();
  let closes = 0;
  const w = new StreamWriter(res as unknown as HttpResponse, true, undefined, () => closes++, () => false);
  const taken: number[] = [];
  w.onTaken((bytes) => taken.push(bytes));
  return { res, w, closed: () => closes, taken };
}

/** One turn of the event loop later (the writer's flush is a microtask of the turn that wrote). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StreamWriter: small pieces of one turn in one write', () => {
  test('pieces written in the same turn leave in one write at its end, in order; taken once written', async () => {
    const { res, w, taken } = writer();
    for (let i = 0; i < 20; i++) assert.equal(w.write(Buffer.from(`p${i};`)), true);
    assert.deepEqual(res.writes, [], 'nothing written before the turn ends');
    assert.deepEqual(taken, [], 'nothing acknowledged before uWS took it');
    await nextTurn();
    const all = Array.from({ length: 20 }, (_, i) => `p${i};`).join('');
    assert.deepEqual(res.writes, [all]);
    assert.deepEqual(taken, [all.length]);
  });

  test('a piece alone leaves in its own turn (a microtask), the next turn\'s piece in a write of its own', async () => {
    const { res, w } = writer();
    w.write(Buffer.from('first'));
    await Promise.resolve(); // the flush was queued first: it ran
    assert.deepEqual(res.writes, ['first']);
    w.write(Buffer.from('second'));
    await nextTurn();
    assert.deepEqual(res.writes, ['first', 'second']);
  });

  test('the caller\'s buffer may be reused once write returns: the waiting piece is a copy', async () => {
    const { res, w } = writer();
    const buf = Buffer.from('aaaa');
    w.write(buf);
    buf.fill('b'.charCodeAt(0));
    w.write(buf);
    await nextTurn();
    assert.deepEqual(res.writes, ['aaaabbbb']);
  });

  test('a big piece is written at once, after what waited, each in a cork of its own; taken at once', () => {
    const { res, w, taken } = writer();
    w.write(Buffer.from('small;'));
    const big = Buffer.alloc(64 * 1024, 'x');
    assert.equal(w.write(big), true);
    assert.deepEqual(res.writes, ['small;', big.toString()]);
    assert.deepEqual(taken, [6, big.byteLength]);
  });

  test('no cork holds more than uWS\'s cork buffer (but a big piece alone), whatever the sizes of a turn\'s pieces (ADR 0203)', async () => {
    const { res, w } = writer();
    let expected = '';
    for (const size of [15_000, 1_500, 16_000, 100, 15_300, 300, 8_000, 8_000, 8_000, 20_000, 1]) {
      const piece = String(size % 10).repeat(size);
      expected += piece;
      w.write(Buffer.from(piece));
    }
    w.end();
    assert.ok(res.maxCorkBytes > 0 && res.maxCorkBytes <= CORK_BUFFER_BYTES, `a cork held ${res.maxCorkBytes} B`);
    assert.equal(res.writes.join(''), expected);
    await nextTurn();
  });

  test('what is taken and not written stays within COALESCE_MAX_BYTES', () => {
    const { res, w } = writer();
    const piece = Buffer.alloc(1000, 'y');
    let given = 0;
    for (let i = 0; i < 40; i++) {
      w.write(piece);
      given += piece.byteLength;
      const written = res.writes.reduce((n, s) => n + s.length, 0);
      assert.ok(given - written <= COALESCE_MAX_BYTES, `${given - written} bytes waiting`);
    }
    assert.ok(res.writes.length >= 2 && res.writes.length <= 3, `${res.writes.length} writes for 40 pieces of 1000 B`);
  });

  test('end sends what waits first, in the same cork, then ends, once', async () => {
    const { res, w, closed } = writer();
    w.write(Buffer.from('a'));
    w.write(Buffer.from('b'));
    w.end();
    assert.deepEqual(res.events, ['write ab', 'end']);
    assert.equal(closed(), 1);
    await nextTurn();
    assert.deepEqual(res.events, ['write ab', 'end'], 'nothing written after the end');
  });

  test('an abort sends the pieces before it, then closes the connection', async () => {
    const { res, w } = writer();
    w.write(Buffer.from('before the failure'));
    w.abort();
    assert.deepEqual(res.events, ['write before the failure']);
    await nextTurn();
    assert.deepEqual(res.events, ['write before the failure', 'close']);
  });

  test('a client that left is written nothing: what waited is dropped, and not reported taken', async () => {
    const { res, w, taken } = writer();
    w.write(Buffer.from('lost'));
    w.gone();
    await nextTurn();
    assert.deepEqual(res.events, []);
    assert.deepEqual(taken, []);
    assert.equal(w.write(Buffer.from('after')), false);
  });
});

describe('StreamWriter: backpressure', () => {
  test('a flush that backs up: its bytes are taken only at writable, the next write answers false at once and waits for the drain', async () => {
    const { res, w, taken } = writer();
    res.accept = false;
    assert.equal(w.write(Buffer.from('1')), true);
    await nextTurn();
    assert.deepEqual(res.writes, ['1']);
    assert.deepEqual(taken, [], 'uWS holds it, the socket did not take it: not acknowledged');
    // Backed up: the next piece is handed to uWS now (it keeps it) and the caller told to wait.
    assert.equal(w.write(Buffer.from('2')), false);
    assert.deepEqual(res.writes, ['1', '2']);
    let drained = 0;
    w.onDrain(() => drained++);
    assert.equal(drained, 0, 'no drain while backed up');
    res.accept = true;
    assert.equal(w.writable(0), true);
    assert.equal(drained, 1);
    assert.deepEqual(taken, [1], 'the flush\'s bytes at writable; the piece answered false is the caller\'s to acknowledge at the drain');
    assert.equal(w.write(Buffer.from('3')), true);
    await nextTurn();
    assert.deepEqual(res.writes, ['1', '2', '3']);
  });

  test('pieces a drain delivers leave in the onWritable callback itself', () => {
    const { res, w } = writer();
    res.accept = false;
    assert.equal(w.write(Buffer.alloc(COALESCE_MAX_BYTES + 1, 'z')), false);
    res.accept = true;
    w.onDrain(() => {
      w.write(Buffer.from('x'));
      w.write(Buffer.from('y'));
    });
    w.writable(0);
    assert.deepEqual(res.writes.slice(1), ['xy']);
    assert.equal(res.emptyCorks, 0);
  });

  test('an onWritable with nothing to write uncorks an empty cork: uWS sends what it buffered (ADR 0203)', () => {
    const { res, w } = writer();
    res.accept = false;
    assert.equal(w.write(Buffer.alloc(COALESCE_MAX_BYTES + 1, 'z')), false);
    res.accept = true;
    let drained = 0;
    w.onDrain(() => drained++); // the app has nothing more yet
    w.writable(0);
    assert.equal(drained, 1);
    assert.equal(res.emptyCorks, 1);
    // Spurious writable events too: uWS then stops polling, with nothing of its own to send.
    w.writable(0);
    assert.equal(res.emptyCorks, 2);
  });

  test('a closed writer is written nothing at writable', () => {
    const { res, w } = writer();
    w.end();
    const events = res.events.length;
    w.writable(0);
    assert.equal(res.events.length, events);
    assert.equal(res.emptyCorks, 0);
  });
});

describe('streamBody through the writer: acknowledged to the runtime once uWS took the bytes', () => {
  /** A runtime's body: what the gateway acknowledged (`ack`), and a way to push its pieces. */
  function body(): { reader: BodyReader; acks: number[]; push: (text: string) => boolean } {
    let consumer: BodyConsumer | null = null;
    const acks: number[] = [];
    const reader: BodyReader = {
      done: false,
      pipe: (c) => {
        consumer = c;
      },
      resume: () => {},
      ack: (bytes) => acks.push(bytes),
      cancel: () => {},
      message: () => false,
    };
    return { reader, acks, push: (text) => consumer!.chunk(Buffer.from(text)) };
  }

  test('pieces held for the turn\'s end are acknowledged at the flush, not when taken; a flush that backs up at writable', async () => {
    const { res, w } = writer();
    const b = body();
    streamBody(b.reader).start(w);
    assert.equal(b.push('abc'), true);
    assert.equal(b.push('de'), true);
    assert.deepEqual(b.acks, [], 'not written yet: not acknowledged');
    await nextTurn();
    assert.deepEqual(res.writes, ['abcde']);
    assert.deepEqual(b.acks, [5]);
    res.accept = false;
    assert.equal(b.push('fgh'), true);
    await nextTurn();
    assert.deepEqual(b.acks, [5], 'uWS holds it, the socket did not take it');
    res.accept = true;
    w.writable(0);
    assert.deepEqual(b.acks, [5, 3]);
  });
});
