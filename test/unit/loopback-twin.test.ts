/** The IPv6 twin of a loopback listener (protocol/loopback-twin.ts; red team round 34). */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { addressInUse, addressState, holdTwin, loopbackTwin, TWIN_ATTEMPTS, type AddressState } from '../../protocol/index.js';

describe('loopback twin', () => {
  it('is ::1 beside 127.0.0.1 and 0.0.0.0 (browsers open *.localhost on ::1 first), nothing beside other hosts', () => {
    assert.equal(loopbackTwin('127.0.0.1'), '::1');
    assert.equal(loopbackTwin('0.0.0.0'), '::1');
    for (const host of ['::', '::1', 'localhost', '10.0.0.5', '127.0.0.2']) assert.equal(loopbackTwin(host), null, host);
  });

  it('tells a port another socket holds from a free one', async () => {
    const held = createServer();
    await new Promise<void>((resolve) => held.listen({ host: '127.0.0.1', port: 0, exclusive: true }, resolve));
    const port = (held.address() as { port: number }).port;
    try {
      assert.equal(await addressInUse('127.0.0.1', port), true);
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
    assert.equal(await addressInUse('127.0.0.1', port), false);
  });

  it('says whether an address is taken, free or absent here', async () => {
    const held = createServer();
    await new Promise<void>((resolve) => held.listen({ host: '127.0.0.1', port: 0, exclusive: true }, resolve));
    const port = (held.address() as { port: number }).port;
    try {
      assert.equal(await addressState('127.0.0.1', port), 'taken');
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
    assert.equal(await addressState('127.0.0.1', port), 'free');
    assert.equal(await addressState('192.0.2.1', port), 'absent', 'an address this host does not have');
  });

  it('a twin taken at the listen and let go by the probe is tried again, and counts as taken if never held (red team round 35)', async () => {
    // Another local user holding [::1]:<port> and letting it go in a loop: the first listen failed,
    // the probe found it free, and the platform started without its twin (the probe's answer alone).
    let holds = 0;
    const states: AddressState[] = [];
    const probe = (answer: AddressState) => async (): Promise<AddressState> => {
      states.push(answer);
      return answer;
    };
    assert.equal(await holdTwin(() => ++holds === 2, probe('free')), 'held', 'held at the second listen');
    assert.equal(holds, 2);
    holds = 0;
    assert.equal(await holdTwin(() => (holds++, false), probe('free')), 'taken', 'never held though the probe said free each time');
    assert.equal(holds, TWIN_ATTEMPTS);
    holds = 0;
    assert.equal(await holdTwin(() => (holds++, false), probe('absent')), 'absent', 'IPv6 off: nothing to hold');
    assert.equal(holds, 1);
    assert.equal(await holdTwin(() => false, probe('taken')), 'taken');
    assert.equal(await holdTwin(() => true, probe('taken')), 'held');
  });
});
