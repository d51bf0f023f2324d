/**
 * Red team round 34: the platform listened on 127.0.0.1 only, and printed `*.localhost` URLs (its
 * console at `console.localhost:<port>`, each function at `<name>.localhost:<port>`), which
 * browsers resolve to ::1 first (Chromium, whatever /etc/hosts says). Another local user listening
 * on [::1]:<port> got the browser's requests: a page posing as the console, where the operator
 * signs in with the admin token. The gateway now holds [::1] on the same port as well, and a
 * [::1] taken by another process refuses the start (protocol/loopback-twin.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startPlatform } from '../../platform/start.js';
import { TEST_SECRETS_KEY, usePlatform } from './platform-harness.js';

/** A server listening on [::1] (any port), or null where the machine has no IPv6 loopback. */
function listenV6(port = 0): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nATTACKER'));
    server.once('error', () => resolve(null));
    server.listen({ host: '::1', port, exclusive: true }, () => resolve(server));
  });
}

const noV6 = await listenV6().then((s) => (s === null ? 'no IPv6 loopback here' : (s.close(), false)));
const h = usePlatform();

describe('attack: another local user on the IPv6 loopback', { skip: noV6 }, () => {
  it('the platform answers on [::1] at its port too, so no one else can listen there', async () => {
    const port = new URL(h.url).port;
    const res = await fetch(`http://[::1]:${port}/healthz`, { headers: { host: `console.localhost:${port}` } });
    assert.equal(res.status, 200, 'the platform does not hold [::1] at its port');
    const squatter = await listenV6(Number(port));
    assert.equal(squatter, null, 'another process could listen on [::1] at the platform\'s port');
  });

  it('refuses to start on a port whose [::1] another process holds (browsers would open the console there)', async () => {
    const squatter = (await listenV6())!;
    const port = (squatter.address() as { port: number }).port;
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-twin-'));
    try {
      const started = startPlatform({ stateDir, port, poolSize: 1, secretsKey: TEST_SECRETS_KEY, log: () => {} });
      await assert.rejects(started.then(async (p) => { await p.close(); }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'LISTEN_FAILED', err.message);
        assert.match(err.message, /\[::1\]/);
        return true;
      });
    } finally {
      squatter.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
