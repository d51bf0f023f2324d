/** ClosedPeers (gateway/body-drain.ts): the connections whose drained answer said `Connection: close`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClosedPeers, MAX_CLOSED_PEERS, UWS_KEEP_ALIVE_MS } from '../../gateway/body-drain.js';

describe('ClosedPeers', () => {
  it('takes a marked connection once, within uWS\'s keep-alive timeout', () => {
    const peers = new ClosedPeers();
    peers.mark('127.0.0.1', 40000, 0);
    assert.equal(peers.take('127.0.0.1', 40001, 1), false, 'another port is another connection');
    assert.equal(peers.take('::1', 40000, 1), false, 'another address too');
    assert.equal(peers.take('127.0.0.1', 40000, 1), true);
    assert.equal(peers.take('127.0.0.1', 40000, 2), false, 'forgotten once taken');
    assert.equal(peers.size, 0);
  });

  it('a mark expires after the keep-alive timeout, and expired marks are dropped as new ones come', () => {
    const peers = new ClosedPeers();
    peers.mark('a', 1, 0);
    peers.mark('b', 1, 5);
    assert.equal(peers.take('a', 1, UWS_KEEP_ALIVE_MS + 1), false);
    peers.mark('c', 1, UWS_KEEP_ALIVE_MS + 10); // b has expired by then
    assert.equal(peers.size, 1);
    assert.equal(peers.take('c', 1, UWS_KEEP_ALIVE_MS + 11), true);
  });

  it('keeps at most MAX_CLOSED_PEERS, forgetting the oldest', () => {
    const peers = new ClosedPeers();
    for (let i = 0; i <= MAX_CLOSED_PEERS; i++) peers.mark('a', i, 0);
    assert.equal(peers.size, MAX_CLOSED_PEERS);
    assert.equal(peers.take('a', 0, 1), false, 'the oldest went');
    assert.equal(peers.take('a', MAX_CLOSED_PEERS, 1), true);
  });
});
