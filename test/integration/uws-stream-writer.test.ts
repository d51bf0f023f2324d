/**
 * A streamed response's writer (gateway/uws-stream-writer.ts) through the real uWS server, to a raw
 * client that stops reading and then reads again (ADR 0203): the chunked body stays well-formed
 * and whole when a turn's small chunks are held for one write and the socket backs up mid-turn
 * (uWS drops bytes that overflow its cork buffer on a backed-up socket), and what uWS buffered
 * leaves once the client reads, also when the drain has nothing more to write (uWS sends its
 * buffer on writable only with a write).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { ResponseStream, StreamSink } from '../../protocol/index.js';
import { startHttpServer } from '../../gateway/uws-adapter.js';

/** A wait budget for what the test expects to happen (a failure, never a pass condition). */
const EXPECT_MS = 10_000;

async function server(stream: () => ResponseStream): Promise<Awaited<ReturnType<typeof startHttpServer>>> {
  return startHttpServer({
    host: '127.0.0.1',
    port: Number(process.env.FP_TEST_PORT ?? 0),
    maxBodyBytes: 1024,
    async handle() {
      return { status: 200, headers: [['content-type', 'application/octet-stream']], stream: stream() };
    },
    onError() {
      return { status: 500, headers: [], body: 'error' };
    },
  });
}

/** A raw client that sends one request and does not read until `read()`. */
function client(port: number): { socket: Socket; read: () => void; received: () => Buffer; closed: Promise<void> } {
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('error', () => {});
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  socket.pause();
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, read: () => socket.resume(), received: () => Buffer.concat(chunks), closed };
}

/**
 * The body of a chunked response, or why its framing is broken; `ended`: the last chunk came. uWS
 * writes the CRLF that ends a chunk's data with the next chunk (or the end): a last chunk whose
 * data came whole counts.
 */
function unchunk(raw: Buffer): { body: string; ended: boolean; broken: string | null } {
  const text = raw.toString('latin1');
  let i = text.indexOf('\r\n\r\n') + 4;
  let body = '';
  while (i < text.length) {
    const eol = text.indexOf('\r\n', i);
    if (eol < 0) break; // a size line not whole yet
    const line = text.slice(i, eol);
    if (!/^[0-9a-f]+$/i.test(line)) return { body, ended: false, broken: `a chunk size line ${JSON.stringify(line.slice(0, 20))} at byte ${i}` };
    const size = parseInt(line, 16);
    if (size === 0) return { body, ended: true, broken: null };
    if (eol + 2 + size > text.length) break; // a chunk not whole yet
    body += text.slice(eol + 2, eol + 2 + size);
    if (eol + 2 + size === text.length) break; // its CRLF comes with the next chunk
    if (text.slice(eol + 2 + size, eol + 4 + size) !== '\r\n') return { body, ended: false, broken: `no CRLF after a chunk of ${size} at byte ${eol + 2 + size}` };
    i = eol + 4 + size;
  }
  return { body, ended: false, broken: null };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + EXPECT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('uws stream writer: a backed-up client', () => {
  it('a turn of small pieces that backs the socket up mid-turn: the body stays well-formed and whole', async (t) => {
    let expected = '';
    let backedUp = 0;
    const s = await server(() => ({
      start(sink: StreamSink): void {
        let n = 0;
        // Each turn, pieces of 15,000 B and 1,500 B: what one turn holds for one write overflows
        // the cork buffer unless it is written in pieces of the buffer's size.
        const turn = (): void => {
          let ok = true;
          for (let k = 0; k < 4 && ok; k++) {
            const piece = String(n++ % 10).repeat(k % 2 === 0 ? 15_000 : 1_500);
            expected += piece;
            ok = sink.write(piece);
          }
          if (n >= 1200) sink.end();
          else if (ok) setImmediate(turn);
          else {
            backedUp++;
            sink.onDrain(turn);
          }
        };
        turn();
      },
    }));
    t.after(() => s.closeAll());
    const c = client(s.port);
    await until('the stream to back up', () => backedUp > 0);
    await sleep(200);
    c.read();
    await until('the whole body', () => {
      const got = unchunk(c.received());
      return got.ended || got.broken !== null;
    });
    const got = unchunk(c.received());
    assert.equal(got.broken, null);
    assert.equal(got.body.length, expected.length);
    assert.ok(got.body === expected, 'the body as written, in order');
    c.socket.destroy();
  });

  it('what uWS buffered reaches the client once it reads, though the drain has nothing more to write', async (t) => {
    let written = 0;
    let drained = false;
    const s = await server(() => ({
      start(sink: StreamSink): void {
        // Big pieces until the socket backs up, then nothing more for now (an app waiting for its next event).
        while (sink.write(Buffer.alloc(65_536, 'z'))) written += 65_536;
        written += 65_536;
        sink.onDrain(() => {
          drained = true;
        });
      },
    }));
    t.after(() => s.closeAll());
    const c = client(s.port);
    await until('the stream to back up', () => written > 0);
    await sleep(200);
    c.read();
    let arrived = 0;
    await until(`all ${written} bytes written before the drain`, () => {
      arrived = unchunk(c.received()).body.length;
      return arrived === written;
    }).catch((err: Error) => assert.fail(`${err.message}: ${arrived} arrived`));
    assert.equal(drained, true);
    assert.equal(unchunk(c.received()).broken, null);
    c.socket.destroy();
  });
});
