/**
 * StreamWriter (gateway/uws-stream-writer.ts), chunked, against a recording stand-in for uWS's
 * HttpResponse: small pieces that arrive in one turn of the event loop leave in one write at its
 * end (ADR 0191), a piece alone still leaves in its turn, order is kept, the end and an abort send
 * what waits first, a big piece is not held, a backed-up response answers false at once and what
 * is taken but not written stays bounded, and a client that left is written nothing more.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HttpResponse } from 'uWebSockets.js';
import { COALESCE_MAX_BYTES, StreamWriter } from '../../gateway/uws-stream-writer.js';

/**
 * What the writer did to its response: each send (what one cork wrote: uWS sends it in one system
 * call; a write outside a cork is a send of its own), each `end` and `close`.
 */
class FakeResponse {
  writes: string[] = [];
  events: string[] = [];
  corked = 0;
  uncorkedWrites = 0;
  private corkedText = '';
  /** What `write` answers (false: uWS backed up). */
  accept = true;

  cork(cb: () => void): this {
    this.corked++;
    try {
      cb();
    } finally {
      this.corked--;
      if (this.corked === 0) this.send();
    }
    return this;
  }

  write(chunk: Uint8Array | string): boolean {
    this.corkedText += Buffer.from(chunk as Uint8Array).toString();
    if (this.corked === 0) {
      this.uncorkedWrites++;
      this.send();
    }
    return this.accept;
  }

  end(): this {
    this.send();
    this.events.push('end');
    return this;
  }

  close(): this {
    this.events.push('close');
    return this;
  }

  private send(): void {
    if (this.corkedText === '') return;
    this.writes.push(this.corkedText);
    this.events.push(`write ${this.corkedText}`);
    this.corkedText = '';
  }
}

function writer(): { res: FakeResponse; w: StreamWriter; closed: () => number } {
  const res = new FakeResponse();
  let closes = 0;
  const w = new StreamWriter(res as unknown as HttpResponse, true, undefined, () => closes++, () => false);
  return { res, w, closed: () => closes };
}

/** One turn of the event loop later (the writer's flush is a microtask of the turn that wrote). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StreamWriter: small pieces of one turn in one write', () => {
  test('pieces written in the same turn leave in one write at its end, in order', async () => {
    const { res, w } = writer();
    for (let i = 0; i < 20; i++) assert.equal(w.write(Buffer.from(`p${i};`)), true);
    assert.deepEqual(res.writes, [], 'nothing written before the turn ends');
    await nextTurn();
    assert.deepEqual(res.writes, [Array.from({ length: 20 }, (_, i) => `p${i};`).join('')]);
    assert.equal(res.uncorkedWrites, 0);
  });

  test('a piece alone leaves in its own turn; the next turn\'s piece in a write of its own', async () => {
    const { res, w } = writer();
    w.write(Buffer.from('first'));
    await Promise.resolve(); // the end of this turn's microtasks: the flush ran
    await nextTurn();
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

  test('a big piece is written at once, after what waited before it, in one write', () => {
    const { res, w } = writer();
    w.write(Buffer.from('small;'));
    const big = Buffer.alloc(COALESCE_MAX_BYTES, 'x');
    assert.equal(w.write(big), true);
    assert.equal(res.writes.length, 1);
    assert.equal(res.writes[0], `small;${big.toString()}`);
  });

  test('what is taken and not written stays under COALESCE_MAX_BYTES: past it the batch is written at once', () => {
    const { res, w } = writer();
    const piece = Buffer.alloc(1000, 'y');
    let taken = 0;
    for (let i = 0; i < 40; i++) {
      w.write(piece);
      taken += piece.byteLength;
      const written = res.writes.reduce((n, s) => n + s.length, 0);
      assert.ok(taken - written <= COALESCE_MAX_BYTES, `${taken - written} bytes waiting`);
    }
    assert.ok(res.writes.length >= 2 && res.writes.length <= 3, `${res.writes.length} writes for 40 pieces of 1000 B`);
  });

  test('end sends what waits first, then ends, once', async () => {
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

  test('a client that left is written nothing: what waited is dropped', async () => {
    const { res, w } = writer();
    w.write(Buffer.from('lost'));
    w.gone();
    await nextTurn();
    assert.deepEqual(res.events, []);
    assert.equal(w.write(Buffer.from('after')), false);
  });

  test('backpressure: a flush that backs up makes the next write answer false (written at once); onWritable drains', async () => {
    const { res, w } = writer();
    res.accept = false;
    assert.equal(w.write(Buffer.from('1')), true);
    await nextTurn();
    assert.deepEqual(res.writes, ['1']);
    // Backed up: the next piece is written now (uWS keeps it) and the caller told to wait.
    assert.equal(w.write(Buffer.from('2')), false);
    assert.deepEqual(res.writes, ['1', '2']);
    let drained = 0;
    w.onDrain(() => drained++);
    assert.equal(drained, 0, 'no drain while backed up');
    res.accept = true;
    assert.equal(w.writable(0), true);
    assert.equal(drained, 1);
    assert.equal(w.write(Buffer.from('3')), true);
    await nextTurn();
    assert.deepEqual(res.writes, ['1', '2', '3']);
  });

  test('pieces a drain delivers leave in the onWritable callback itself', () => {
    const { res, w } = writer();
    res.accept = false;
    assert.equal(w.write(Buffer.alloc(COALESCE_MAX_BYTES, 'z')), false);
    res.accept = true;
    w.onDrain(() => {
      w.write(Buffer.from('x'));
      w.write(Buffer.from('y'));
    });
    w.writable(0);
    assert.deepEqual(res.writes.slice(1), ['xy']);
  });
});
