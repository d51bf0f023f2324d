/**
 * The drain of a refused request body (gateway/uws-adapter.ts rule 11, ADR 0059) on the adapter
 * alone: its time bound, its bound on connections draining at once, and the idle rule.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { errorBody, PlatformError } from '../../protocol/index.js';
import { DRAIN_MAX_MS, MAX_DRAINING, drainBytesFor } from '../../gateway/body-drain.js';
import type { IncomingRequest, OutgoingResponse } from '../../gateway/http-server.js';
import { startHttpServer } from '../../gateway/uws-adapter.js';

async function server(): Promise<Awaited<ReturnType<typeof startHttpServer>>> {
  return startHttpServer({
    host: '127.0.0.1',
    port: Number(process.env.FP_TEST_PORT ?? 0),
    maxBodyBytes: 1024,
    async handle(req: IncomingRequest): Promise<OutgoingResponse> {
      await req.body();
      return { status: 200, headers: [], body: 'ok' };
    },
    onError(err: unknown): OutgoingResponse {
      const e = err as PlatformError;
      return { status: e.status, headers: [['content-type', 'application/json']], body: errorBody(e), closeConnection: true };
    },
  });
}

function whole(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  const length = /content-length: (\d+)/i.exec(text)?.[1];
  return end >= 0 && length !== undefined && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(length);
}

/**
 * Announces 100 MiB and sends 1 KiB every 50 ms (never idle, never done) until it has the whole
 * answer (then it leaves, as a client told `Connection: close` does) or is closed: when, and what came.
 */
function trickler(port: number, started: number): Promise<{ closedMs: number; text: string }> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (whole(text)) socket.destroy();
    });
    const every = setInterval(() => socket.write(Buffer.alloc(1024, 120)), 50);
    socket.on('close', () => {
      clearInterval(every);
      done({ closedMs: Date.now() - started, text });
    });
    socket.once('connect', () => socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`));
  });
}

describe('uws adapter: draining a refused body', () => {
  it('answers at once; drains at most MAX_DRAINING connections, each for at most DRAIN_MAX_MS; the rest close at once', async (t) => {
    const s = await server();
    t.after(() => s.closeAll());
    const started = Date.now();
    const n = MAX_DRAINING + 6;
    const results = await Promise.all(Array.from({ length: n }, () => trickler(s.port, started)));
    for (const r of results) assert.match(r.text, /^HTTP\/1\.1 413 /);
    const atOnce = results.filter((r) => r.closedMs < 1_000).length;
    const drained = results.filter((r) => r.closedMs >= DRAIN_MAX_MS - 500);
    assert.ok(atOnce >= n - MAX_DRAINING, `${atOnce} of ${n} closed at once`);
    assert.ok(drained.length <= MAX_DRAINING && drained.length >= MAX_DRAINING - 6, `${drained.length} drained`);
    // Past its time the answer ends whole (the client then leaves); past the slots a refusal closes at once, as before.
    for (const r of drained) {
      assert.ok(r.closedMs < DRAIN_MAX_MS + 2_000, `a drain held its connection ${r.closedMs} ms`);
      assert.ok(whole(r.text), 'the whole answer at the drain\'s end');
    }
  });

  it('a client that stops sending gets the whole answer after the idle pause', async (t) => {
    const s = await server();
    t.after(() => s.closeAll());
    const socket = connect({ host: '127.0.0.1', port: s.port });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(4096)}`);
    const deadline = Date.now() + 2_000;
    while (!whole(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.match(text, /connection: close/i);
    assert.equal((JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('reads at most 16 × the limit, at least 16 MiB, at most 256 MiB', () => {
    assert.equal(drainBytesFor(6 * 1024 * 1024), 96 * 1024 * 1024);
    assert.equal(drainBytesFor(1024), 16 * 1024 * 1024);
    assert.equal(drainBytesFor(1024 * 1024 * 1024), 256 * 1024 * 1024);
  });
});
