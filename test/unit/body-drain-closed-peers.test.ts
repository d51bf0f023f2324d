/** ClosedPeers (gateway/body-drain.ts): the connections whose drained answer said `Connection: close`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClosedPeers, MAX_CLOSED_PEERS, UWS_KEEP_ALIVE_MS } from '../../gateway/body-drain.js';

describe('ClosedPeers', () => {
  it('takes a marked connection once, within uWS\'s keep-alive timeout', () => {
    const peers = new ClosedPeers();
    peers.mark('127.0.0.1', 40000, 0, 0);
    assert.equal(peers.take('127.0.0.1', 40001, () => 0, 1), false, 'another port is another connection');
    assert.equal(peers.take('::1', 40000, () => 0, 1), false, 'another address too');
    assert.equal(peers.take('127.0.0.1', 40000, () => 0, 1), true);
    assert.equal(peers.take('127.0.0.1', 40000, () => 0, 2), false, 'forgotten once taken');
    assert.equal(peers.size, 0);
  });

  it('a mark expires after the keep-alive timeout, and expired marks are dropped as new ones come', () => {
    const peers = new ClosedPeers();
    peers.mark('a', 1, 0, 0);
    peers.mark('b', 1, 0, 5);
    assert.equal(peers.take('a', 1, () => 0, UWS_KEEP_ALIVE_MS + 1), false);
    peers.mark('c', 1, 0, UWS_KEEP_ALIVE_MS + 10); // b has expired by then
    assert.equal(peers.size, 1);
    assert.equal(peers.take('c', 1, () => 0, UWS_KEEP_ALIVE_MS + 11), true);
  });

  it('keeps at most MAX_CLOSED_PEERS, forgetting the oldest', () => {
    const peers = new ClosedPeers();
    for (let i = 0; i <= MAX_CLOSED_PEERS; i++) peers.mark('a', i, 0, 0);
    assert.equal(peers.size, MAX_CLOSED_PEERS);
    assert.equal(peers.take('a', 0, () => 0, 1), false, 'the oldest went');
    assert.equal(peers.take('a', MAX_CLOSED_PEERS, () => 0, 1), true);
  });

  it('a known cookie names the connection: another connection from the same address and port is served (red team round 35)', () => {
    const peers = new ClosedPeers();
    peers.mark('127.0.0.1', 40000, 7, 0);
    assert.equal(peers.take('127.0.0.1', 40000, () => 8, 1), false, 'another connection reusing the port: served');
    assert.equal(peers.size, 0, 'and the mark forgotten');
    peers.mark('127.0.0.1', 40000, 7, 0);
    assert.equal(peers.take('127.0.0.1', 40000, () => 7, 1), true, 'the marked connection itself: closed');
    peers.mark('127.0.0.1', 40000, 7, 0);
    assert.equal(peers.take('127.0.0.1', 40000, () => 0, 1), true, 'a cookie unknown now: by address and port, as before');
    let asked = 0;
    peers.mark('127.0.0.1', 40000, 7, 0);
    assert.equal(peers.take('127.0.0.1', 40001, () => ++asked, 1), false);
    assert.equal(asked, 0, 'the cookie is asked only for a marked address and port');
  });
});
