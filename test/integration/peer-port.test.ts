/**
 * The peer's address and port of each request (gateway/peer-port.ts, docs/adr/0093-peer-port.md):
 * the gateway's addon, once its self-check passed, gives both for IPv4 and IPv6 peers, on every
 * connection its own port; the check's outcome is the process's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncomingRequest, OutgoingResponse } from '../../gateway/http-server.js';
import { startHttpServer } from '../../gateway/uws-adapter.js';
import { getOverOwnConnection } from '../helpers/own-connection.js';

describe('the peer of a request', () => {
  for (const host of ['127.0.0.1', '::1']) {
    it(`is the connection's address and port (${host})`, async (t) => {
      const warnings: string[] = [];
      const onWarning = (w: Error): void => { warnings.push(w.message); };
      process.on('warning', onWarning);
      t.after(() => process.off('warning', onWarning));
      let server;
      try {
        server = await startHttpServer({
          host,
          port: 0,
          maxBodyBytes: 1024,
          handle: (req: IncomingRequest): Promise<OutgoingResponse> => Promise.resolve({ status: 200, headers: [], body: `${req.peer} ${req.peerPort}` }),
          onError: (): OutgoingResponse => ({ status: 500, headers: [], body: '' }),
        });
      } catch (err) {
        if (host === '::1') return t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
        throw err;
      }
      t.after(() => server.closeAll());
      const seen = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const [body, local] = await getOverOwnConnection(host, server.port, '/who');
        assert.equal(body, `${host} ${local}`);
        seen.add(local);
      }
      assert.equal(seen.size, 3, 'three connections, three ports');
      assert.deepEqual(warnings.filter((w) => w.includes('request.client')), [], 'the addon is in use');
    });
  }
});
