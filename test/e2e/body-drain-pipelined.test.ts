/**
 * Differential round 3 (diff3): a refused body's answer says `Connection: close` (rule 11, ADR
 * 0059), yet it ends with `tryEnd`, which leaves the connection open in uWS: a request pipelined
 * behind the body was parsed, run and answered (`413`, then `200` from the function, on a
 * connection the client had been told was closing). A client that honours the close sends that
 * request again on a new connection, so it ran twice. Now such a request is closed unanswered and
 * never runs (gateway/body-drain.ts, ClosedPeers). Over raw sockets, with a 64 KiB body limit.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { fnName, py, sleep, useGateway } from './gateway-harness.js';
import { rawExchange, type RawAnswer } from './raw-exchange.js';

const LIMIT = 64 * 1024;
const ECHO = fnName('echo');
const h = useGateway(
  { [ECHO]: { files: { 'main.py': py('def handler(event, context):', '    return {"query": event["query"], "size": len(event["body"])}') } } },
  { FP_MAX_BODY_BYTES: String(LIMIT) },
);

/** Writes each piece (after `gapMs`), then reads until the server closes or `waitMs` passes. */
const exchange = (pieces: Buffer[], gapMs = 0, waitMs = 4000): Promise<RawAnswer> => rawExchange(h.gateway.port, pieces, { gapMs, waitMs });

const head = (lines: string): Buffer => Buffer.from(`POST /fn/${ECHO}/ HTTP/1.1\r\nHost: x\r\n${lines}\r\n`, 'latin1');
const behind = (query: string): Buffer => Buffer.from(`POST /fn/${ECHO}/?${query} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`, 'latin1');

function assertOnlyTheRefusal(answer: { text: string; closed: boolean }): void {
  const statuses = [...answer.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['413'], answer.text.slice(0, 600));
  assert.match(answer.text, /\r\nconnection: close\r\n/i);
  assert.match(answer.text, /"PAYLOAD_TOO_LARGE".*\}$/s, 'the 413 whole, its last byte included');
  assert.ok(answer.closed, 'the server closed the connection');
}

async function assertNeverRan(query: string): Promise<void> {
  await sleep(300);
  const ran = h.runs.list().filter((r) => r.status === 'succeeded');
  assert.deepEqual(ran.map((r) => r.runId), [], `a call ran behind the refusal (${query})`);
}

describe('a request pipelined behind a refused body (413 with Connection: close)', () => {
  it('in the same write as a Content-Length body: closed unanswered, never run (was: 413, then 200)', async () => {
    const answer = await exchange([Buffer.concat([head(`Content-Length: ${LIMIT + 1}\r\n`), Buffer.alloc(LIMIT + 1, 120), behind('same')])]);
    assertOnlyTheRefusal(answer);
    await assertNeverRan('same');
  });

  it('behind a chunked body: the same', async () => {
    const piece = Buffer.concat([Buffer.from('8000\r\n'), Buffer.alloc(0x8000, 120), Buffer.from('\r\n')]);
    const answer = await exchange([Buffer.concat([head('Transfer-Encoding: chunked\r\n'), piece, piece, piece, Buffer.from('0\r\n\r\n'), behind('chunked')])]);
    assertOnlyTheRefusal(answer);
    await assertNeverRan('chunked');
  });

  it('sent 300 ms after the body: the same', async () => {
    const answer = await exchange([Buffer.concat([head(`Content-Length: ${LIMIT + 1}\r\n`), Buffer.alloc(LIMIT + 1, 120)]), behind('late')], 300);
    assertOnlyTheRefusal(answer);
    await assertNeverRan('late');
  });

  it('a body within the limit keeps its connection: a request behind it on the next write is served', async () => {
    const first = Buffer.concat([head(`Content-Length: ${LIMIT}\r\n`), Buffer.alloc(LIMIT, 120)]);
    const answer = await exchange([first, behind('kept')], 500, 3000);
    const statuses = [...answer.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200'], answer.text.slice(0, 600));
    assert.match(answer.text, /\{"query":\{"kept":""\},"size":5\}$/);
  });

  it('another connection from the same address and port, once the refused one closed, is served (red team round 35)', async () => {
    // Behind a proxy every client's request comes from the proxy's address, and a port is used
    // again as soon as its connection is gone: the mark by address and port closed the next
    // client's request unanswered. Here the refused connection resets (no TIME_WAIT) and a new one
    // binds the same port at once.
    const local = await new Promise<number>((resolve, reject) => {
      const socket = net.connect({ port: h.gateway.port, host: '127.0.0.1', localAddress: '127.0.0.1' });
      const chunks: Buffer[] = [];
      socket.on('error', reject);
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        if (/"PAYLOAD_TOO_LARGE".*\}$/s.test(Buffer.concat(chunks).toString('latin1'))) {
          const port = socket.localPort ?? 0;
          socket.resetAndDestroy();
          resolve(port);
        }
      });
      socket.write(Buffer.concat([head(`Content-Length: ${LIMIT + 1}\r\n`), Buffer.alloc(LIMIT + 1, 120)]));
    });
    assert.ok(local > 0);
    await sleep(100);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ port: h.gateway.port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort: local });
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => socket.destroy(), 4000);
      socket.on('error', reject);
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        if (/"size":5\}$/.test(Buffer.concat(chunks).toString('latin1'))) socket.end();
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('latin1'));
      });
      socket.write(behind('reused'));
    });
    assert.match(answer, /^HTTP\/1\.1 200 /, `the new connection's request was closed unanswered: ${JSON.stringify(answer.slice(0, 200))}`);
    assert.match(answer, /\{"query":\{"reused":""\},"size":5\}$/);
  });
});
