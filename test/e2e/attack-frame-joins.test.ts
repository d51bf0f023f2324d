/**
 * Red team round 13 (docs/security.md, "The runtime's channel"): a frame the host has begun to read
 * is held whole until its last byte, in a buffer allocated at the length its prefix names (up to
 * 64 MiB). User code writes on its runtime's socket, so each instance of a function could write the
 * prefix of a large frame and most of its bytes once its call was answered, then stop: the platform
 * kept the buffer for as long as the instance lived, in no budget (four instances: 81 -> 337 MiB of
 * the platform's memory; a workspace's 64 instances 4 GiB). The frames being read now take their
 * bytes from `maxFrameBytesInFlight`, a workspace's runtimes at most half of it: a runtime whose
 * frame does not fit is killed.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { attack, useAttackPlatform, victimStillAnswers } from './attack-harness.js';

const MIB = 1024 * 1024;
/** A workspace's share: half of it (24 MiB), room for one jammed frame of 20 MiB. */
const h = useAttackPlatform({ maxFrameBytesInFlight: 48 * MIB });

const JAMS = 4;
const FRAME = 20 * MIB;

/** Answers after 1.5 s (so that JAMS calls at once take JAMS instances); then, from a thread, a frame's prefix and all of it but its last byte on fd 3. */
const JAM = [
  'import os, socket, threading, time',
  'def jam():',
  '    time.sleep(2.5)',
  '    s = socket.socket(fileno=os.dup(3))',
  '    s.setblocking(True)',
  `    s.sendall((${FRAME}).to_bytes(4, "big") + b"\\x90" * (${FRAME} - 1))`,
  '    time.sleep(600)',
  'threading.Thread(target=jam).start()',
  'time.sleep(1.5)',
  'out(os.getpid())',
].join('\n');

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

describe('attack: frames begun on the runtime\'s channel and never finished', () => {
  after(async () => {
    await victimStillAnswers(h);
  });

  it('instances that each leave a 20 MiB frame unfinished hold at most their workspace\'s share of the platform\'s memory', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const answers = await Promise.all(Array.from({ length: JAMS }, () => attack(h, JAM)));
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    // Without the bound every jam is held (JAMS x 20 MiB); with it, one. Waited for at most 10 s.
    await until(() => process.memoryUsage().arrayBuffers - before >= JAMS * FRAME - 8 * MIB, 10_000);
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew < 2 * FRAME, `the platform holds ${Math.round(grew / MIB)} MiB more for ${JAMS} unfinished frames of 20 MiB (bound: 24 MiB for the workspace)`);
  });
});
