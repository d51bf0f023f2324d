/**
 * A state directory too long for the Unix sockets under it is refused at start, naming the room
 * (platform/socket-paths.ts; new-user round 14: at 87 bytes the embedded FerretDB could not listen
 * and data bindings were silently off).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSocketPaths } from '../../platform/socket-paths.js';

const stateOf = (bytes: number): string => `/${'s'.repeat(bytes - 1)}`;

describe('the state directory\'s length and the sockets under it', () => {
  it('takes a state directory of 69 bytes (a data binding\'s socket then 107) and refuses 70, naming the room', () => {
    checkSocketPaths(stateOf(69));
    assert.throws(() => checkSocketPaths(stateOf(70)), (err: { code?: string; message: string; details: Record<string, unknown> }) => {
      assert.equal(err.code, 'BAD_CONFIG');
      assert.match(err.message, /data binding socket .*mongo\.sock \(108 bytes; the kernel takes 107\)\. Use a state directory \(--state-dir, FP_STATE_DIR\) of at most 69 bytes/);
      return true;
    });
  });

  it('a TMPDIR too long for the zygotes\' sockets is refused (every zygote failed and was bypassed)', () => {
    const before = process.env['TMPDIR'];
    process.env['TMPDIR'] = stateOf(80);
    try {
      assert.throws(() => checkSocketPaths('/s'), /a zygote's socket would be \/s+\/fp-zygote-\w+-.* Use a TMPDIR of at most \d+ bytes/);
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    }
  });
});
