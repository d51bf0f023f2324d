/**
 * Clients that send most of a large WebSocket message and stop (red team round 32, left open;
 * docs/security.md; docs/adr/0198-websocket-upgrades-reserve-their-unseen-bytes.md): uWS joins a
 * message's frames in its own buffer, up to maxPayloadLength, and calls no JavaScript before the
 * message is whole, so those bytes are in no budget. Four connections each sending 15 MiB of a
 * 16 MiB frame took the gateway from 75 to 138 MB, held until the call's timeout (a byte every
 * 20 s keeps uWS's idle timer from closing them). Now every handshake reserves maxPayloadLength
 * before its 101 (a function's connections a quarter of the budget, a workspace's a half): past
 * that it is refused with 503 GATEWAY_OVERLOADED and a Retry-After, and others still upgrade.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { RawWebSocket, WS_ECHO_APP, type WsRefused } from '../helpers/ws-client.js';
import { fnName, sleep, useGateway } from './gateway-harness.js';

const MIB = 1024 * 1024;
const attacked = fnName('hoard');
const other = fnName('other');
const manifest = 'entrypoint: main:handler\nlimits:\n  timeout: 120s\n  concurrency: 8\n  maxInstances: 1';
// 16 MiB messages (uvicorn's size) and a budget of 128 MiB: one function's connections reserve at
// most 32 MiB (two connections), one workspace's 64 MiB.
const h = useGateway({
  [attacked]: { files: { 'main.py': WS_ECHO_APP }, manifest },
  [other]: { files: { 'main.py': WS_ECHO_APP }, manifest },
}, { FP_WS_MAX_MESSAGE_BYTES: String(16 * MIB), FP_WS_RESERVED_BYTES: String(128 * MIB) });

/** Writes the head of a binary frame announcing `16 MiB - 1` bytes, then `mib` MiB of it, and stops. */
async function unfinished(ws: RawWebSocket, mib: number): Promise<void> {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(16 * MIB - 1));
  ws.socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | 127]), length, Buffer.alloc(4)])); // zero mask
  const chunk = randomBytes(MIB);
  for (let i = 0; i < mib; i++) {
    if (!ws.socket.write(chunk)) await new Promise((resolve) => ws.socket.once('drain', resolve));
  }
}

describe('WebSocket clients that leave a large message unfinished (red team round 32)', () => {
  test('a function\'s handshakes past its part of the reservation budget are refused 503 with Retry-After; the gateway\'s memory stays bounded; another function upgrades and echoes', async () => {
    const ws = h.url.replace('http:', 'ws:');
    // Warm both instances first, so their starts are not measured.
    for (const name of [attacked, other]) {
      const warm = await RawWebSocket.connect(`${ws}/fn/${name}/ws`);
      warm.sendText('warm');
      assert.equal((await warm.next(30_000)).kind, 'text');
      warm.close();
      await warm.closed(10_000);
    }
    await sleep(300);
    const rss0 = process.memoryUsage().rss;
    const tries = await Promise.allSettled(Array.from({ length: 6 }, () => RawWebSocket.connect(`${ws}/fn/${attacked}/ws`)));
    const open = tries.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
    const refused = tries.flatMap((t) => (t.status === 'rejected' ? [t.reason as WsRefused] : []));
    try {
      await Promise.all(open.map((c) => unfinished(c, 15)));
      await sleep(1500);
      const grew = (process.memoryUsage().rss - rss0) / MIB;
      // Without the reservation all six upgraded and the gateway held 6 × 15 MiB of unfinished messages.
      assert.equal(open.length, 2, `${open.length} connections upgraded (${grew.toFixed(0)} MB more)`);
      assert.ok(grew < 60, `the gateway grew by ${grew.toFixed(0)} MB`);
      assert.equal(refused.length, 4);
      for (const r of refused) {
        assert.equal(r.status, 503, r.head);
        assert.match(r.head, /\r\nretry-after: 5\r\n/i);
        const body = JSON.parse(r.body) as { error: { code: string; scope: string } };
        assert.equal(body.error.code, 'GATEWAY_OVERLOADED');
        assert.equal(body.error.scope, 'function');
      }

      // Another function (its own quarter, the workspace's half not used up) upgrades and echoes meanwhile.
      const beside = await RawWebSocket.connect(`${ws}/fn/${other}/ws`);
      beside.sendText('still served');
      assert.deepEqual(await beside.next(10_000), { kind: 'text', text: 'still served' });
      beside.close();
      await beside.closed(10_000);
    } finally {
      for (const c of open) c.destroy();
    }

    // The reservations go with their connections: the function upgrades again.
    await sleep(500);
    const again = await RawWebSocket.connect(`${ws}/fn/${attacked}/ws`);
    again.sendText('again');
    assert.deepEqual(await again.next(10_000), { kind: 'text', text: 'again' });
    again.close();
    await again.closed(10_000);
  });
});
