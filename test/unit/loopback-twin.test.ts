/** The IPv6 twin of a loopback listener (protocol/loopback-twin.ts; red team round 34). */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { addressInUse, loopbackTwin } from '../../protocol/index.js';

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
});
