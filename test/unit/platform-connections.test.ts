/**
 * Which instance holds the platform's connections (poolmgr/platform-connections.ts, ADR 0216): the
 * peers among its sockets, and those its function's uid made that no process holds (kept in flight
 * over a unix socket, red team round 51); an IPv4-mapped end of tcp6 read as tcp writes it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionsHeld, v4Mapped } from '../../poolmgr/platform-connections.js';

describe('connectionsHeld', () => {
  const peers = new Map([['1', 600000], ['2', 600000], ['3', 600000], ['4', 600001], ['5', 600002]]);

  it('counts the peers among each holder\'s sockets, not its other sockets', () => {
    assert.deepEqual(connectionsHeld(peers, [{ inodes: ['1', '9'], uid: null }, { inodes: ['4'], uid: null }]), [1, 1]);
  });

  it('counts the peers no holder holds for the first holder of the uid that made them, once', () => {
    assert.deepEqual(connectionsHeld(peers, [
      { inodes: [], uid: 600001 },
      { inodes: ['1'], uid: 600000 },
      { inodes: [], uid: 600000 },
    ]), [1, 3, 0]);
  });

  it('counts nothing for a holder without a uid of its own, nor peers of a uid no holder has', () => {
    assert.deepEqual(connectionsHeld(peers, [{ inodes: [], uid: null }]), [0]);
  });
});

describe('v4Mapped', () => {
  it('writes an IPv4-mapped end of /proc/net/tcp6 as /proc/net/tcp does, and leaves the others', () => {
    assert.equal(v4Mapped('0000000000000000FFFF00000100007F:1F90'), '0100007F:1F90');
    assert.equal(v4Mapped('00000000000000000000000001000000:1F90'), '00000000000000000000000001000000:1F90');
    assert.equal(v4Mapped('0100007F:1F90'), '0100007F:1F90');
    assert.equal(v4Mapped(undefined), undefined);
  });
});
