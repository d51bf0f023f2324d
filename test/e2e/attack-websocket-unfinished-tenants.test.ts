/**
 * One tenant's WebSocket connections against every other workspace's (ADR 0198; red team round 32's
 * unfinished messages): every handshake reserves the message uWS may join unseen, one workspace's
 * connections at most half of the budget. A tenant's clients opening connections to all its
 * functions, each leaving a 16 MiB message unfinished, are refused past that half, and another
 * workspace's WebSocket app still upgrades and echoes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { RawWebSocket, WS_ECHO_APP, type WsRefused } from '../helpers/ws-client.js';
import { deployed, newTenant, sleep, usePlatform } from './platform-harness.js';

const MIB = 1024 * 1024;
const settings = { limits: { concurrency: 8, maxInstances: 1, timeout: '60s' } };
let hoards: string[] = [];
// 16 MiB messages and a 128 MiB budget: a function's connections reserve 32 MiB (two), a workspace's 64 MiB (four).
const h = usePlatform({ wsMaxMessageBytes: 16 * MIB, maxWsReservedBytes: 128 * MIB }, async (p) => {
  const tenant = await newTenant(p);
  for (const name of ['hoard-a', 'hoard-b', 'hoard-c']) await deployed(tenant.api, name, { 'main.py': WS_ECHO_APP }, settings);
  hoards = ['hoard-a', 'hoard-b', 'hoard-c'].map((name) => `${name}.${tenant.name}`);
  await deployed(p.api, 'chat', { 'main.py': WS_ECHO_APP }, settings);
});

/** Writes the head of a binary frame announcing `16 MiB - 1` bytes and 15 MiB of it, then stops. */
async function unfinished(ws: RawWebSocket): Promise<void> {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(16 * MIB - 1));
  ws.socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | 127]), length, Buffer.alloc(4)]));
  const chunk = randomBytes(MIB);
  for (let i = 0; i < 15; i++) {
    if (!ws.socket.write(chunk)) await new Promise((resolve) => ws.socket.once('drain', resolve));
  }
}

describe('one tenant\'s unfinished WebSocket messages against another workspace (ADR 0198)', () => {
  test('a workspace\'s connections reserve at most half the budget: past it 503 (scope workspace); another workspace\'s app upgrades and echoes', async () => {
    const ws = h.url.replace('http:', 'ws:');
    const open: RawWebSocket[] = [];
    const refused: WsRefused[] = [];
    try {
      // Two to each of the tenant's three functions, one after another (so which are refused is known).
      for (const key of hoards) {
        for (let i = 0; i < 2; i++) {
          try {
            const c = await RawWebSocket.connect(`${ws}/fn/${key}/ws`);
            open.push(c);
            await unfinished(c);
          } catch (err) {
            refused.push(err as WsRefused);
          }
        }
      }
      // Without the reservation all six upgraded, 90 MiB held unseen in the gateway.
      assert.equal(open.length, 4, `${open.length} of the tenant's connections upgraded`);
      assert.equal(refused.length, 2);
      for (const r of refused) {
        assert.equal(r.status, 503, r.head);
        assert.match(r.head, /\r\nretry-after: 5\r\n/i);
        assert.match(r.body, /"code":"GATEWAY_OVERLOADED"/);
        assert.match(r.body, /"scope":"workspace"/);
      }
      await sleep(500);
      const other = await RawWebSocket.connect(`${ws}/fn/chat/ws`);
      other.sendText('hello from another workspace');
      assert.deepEqual(await other.next(30_000), { kind: 'text', text: 'hello from another workspace' });
      other.close();
      await other.closed(10_000);
    } finally {
      for (const c of open) c.destroy();
    }
  });
});
