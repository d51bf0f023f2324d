/**
 * A state directory too long for the Unix sockets under it is refused at start, naming the room
 * (platform/socket-paths.ts; new-user round 14: at 87 bytes the embedded FerretDB could not listen
 * and data bindings were silently off).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkSocketPaths } from '../../platform/socket-paths.js';

const stateOf = (bytes: number): string => `/${'s'.repeat(bytes - 1)}`;

describe('the state directory\'s length and the sockets under it', () => {
  it('takes a state directory of 64 bytes (the builder\'s proxy socket then 107) and refuses 65, naming the room', () => {
    checkSocketPaths(stateOf(64), join(stateOf(64), 'deps'));
    assert.throws(() => checkSocketPaths(stateOf(65), join(stateOf(65), 'deps')), (err: { code?: string; message: string; details: Record<string, unknown> }) => {
      assert.equal(err.code, 'BAD_CONFIG');
      assert.match(err.message, /proxy\.sock \(108 bytes; the kernel takes 107\)\. Use a state directory \(--state-dir, FP_STATE_DIR\) of at most 64 bytes/);
      return true;
    });
  });

  it('a deps root of its own counts apart; a long state directory still has its data sockets checked', () => {
    checkSocketPaths(stateOf(69), '/d');
    assert.throws(() => checkSocketPaths(stateOf(70), '/d'), /data binding socket .* at most 69 bytes/);
    assert.throws(() => checkSocketPaths('/s', stateOf(70)), /proxy socket/);
  });

  it('a TMPDIR too long for the zygotes\' sockets is refused (every zygote failed and was bypassed)', () => {
    const before = process.env['TMPDIR'];
    process.env['TMPDIR'] = stateOf(80);
    try {
      assert.throws(() => checkSocketPaths('/s', '/s/deps'), /a zygote's socket would be \/s+\/fp-zygote-\w+-.* Use a TMPDIR of at most \d+ bytes/);
    } finally {
      if (before === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = before;
    }
  });
});
