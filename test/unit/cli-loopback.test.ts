/** `up` and `dev` answer this machine's host names only when they listen on loopback (ADR 0122): which binds are loopback. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopback } from '../../cli/loopback.js';

describe('isLoopback', () => {
  // `up --host ::ffff:127.0.0.1` listened on loopback only and answered a DNS-rebinding page's
  // Host (red team round 12): every spelling of a loopback bind turns the Host check on.
  it('is true for every spelling of a loopback address or localhost', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '127.1', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::0:1', '::ffff:127.0.0.1',
      '[::ffff:127.0.0.1]', '::ffff:7f00:1', '0:0:0:0:0:ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'localhost.', ' localhost ']) {
      assert.equal(isLoopback(host), true, host);
    }
  });

  it('is false for addresses and names of other interfaces', () => {
    for (const host of ['0.0.0.0', '::', '[::]', '10.0.0.1', '::ffff:10.0.0.1', '192.168.1.2', 'fe80::1', 'example.com',
      '127.example.com', 'localhost.example.com', 'mylocalhost', '127', '']) {
      assert.equal(isLoopback(host), false, host);
    }
  });
});
