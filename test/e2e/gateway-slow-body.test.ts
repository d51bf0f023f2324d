/**
 * A request body that arrives slower than 16 KiB in 10 s: uWebSockets.js's own idle timer closes
 * the connection (8-12 s; no answer, which the platform cannot change). The run record said
 * CLIENT_CLOSED_REQUEST, blaming the client; it says REQUEST_BODY_TOO_SLOW (apps round of
 * 2026-12-05; docs/gateway.md, "Slow clients"). A client that closes its connection itself
 * mid-body is still CLIENT_CLOSED_REQUEST.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { eventually, fnName, py, sleep, useGateway } from './gateway-harness.js';

const FN = fnName('upload');
const h = useGateway({ [FN]: { files: { 'main.py': py('def handler(event, context):', '    return len(event["body"])') } } });

/** Sends a POST head announcing 10 000 bytes, then one byte every `everyMs` until the server closes (or `stopAfterMs`, then closes itself). */
function trickle(everyMs: number, stopAfterMs: number): Promise<{ closedByServer: boolean; ms: number }> {
  const url = new URL(h.url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`POST /fn/${FN}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n`);
      const timer = setInterval(() => {
        if (Date.now() - started >= stopAfterMs) {
          clearInterval(timer);
          socket.destroy();
          resolve({ closedByServer: false, ms: Date.now() - started });
          return;
        }
        socket.write('x');
      }, everyMs);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ closedByServer: true, ms: Date.now() - started });
      });
    });
    socket.on('error', () => {});
  });
}

describe('a request body that trickles in', () => {
  it('is closed by the gateway\'s HTTP server after ~10 s, and its run record says REQUEST_BODY_TOO_SLOW, not CLIENT_CLOSED_REQUEST', async () => {
    const ended = await trickle(200, 30_000);
    assert.equal(ended.closedByServer, true);
    assert.ok(ended.ms >= 7_000, `closed after ${ended.ms} ms`);
    const records = await eventually(() => h.runs.list().filter((r) => r.function === FN), (runs) => runs.length === 1);
    assert.equal(records[0]!.errorCode, 'REQUEST_BODY_TOO_SLOW', JSON.stringify(records));
  });

  it('a client that closes mid-body itself is CLIENT_CLOSED_REQUEST', async () => {
    await sleep(10);
    const ended = await trickle(100, 1_000);
    assert.equal(ended.closedByServer, false);
    const records = await eventually(() => h.runs.list().filter((r) => r.function === FN), (runs) => runs.length === 2);
    assert.equal(records[1]!.errorCode, 'CLIENT_CLOSED_REQUEST', JSON.stringify(records));
  });
});
